-- abnormal_volume_spikes: the n (default 20) sessions with the highest split-adjusted volume against the trailing
-- lookback-session average (default 20), with that session's abnormal return.
-- columns: ticker, date, volume_adj, trailing_avg, abnormal_volume, volume_z, ar, sar
-- param n: 20  how many stock-sessions
-- param lookback: 20  sessions in the trailing average
SELECT v.ticker, v.date, v.volume_adj, v.trailing_avg, v.abnormal_volume, v.volume_z, d.ar, d.sar
FROM mart.abnormal_volume(lookback := CAST($lookback AS INTEGER)) AS v
LEFT JOIN mart.daily_abnormal_returns AS d USING (ticker, date)
ORDER BY v.abnormal_volume DESC, v.ticker, v.date
LIMIT CAST($n AS INTEGER);
