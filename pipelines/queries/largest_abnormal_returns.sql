-- largest_abnormal_returns: the n (default 20) largest absolute daily abnormal returns and that session's headlines about the ticker.
-- columns: ticker, date, ret, ar, sar, n_headlines, headlines
-- param n: 20  how many stock-sessions
WITH top AS (
    SELECT ticker, date, ret, ar, sar
    FROM mart.daily_abnormal_returns
    ORDER BY abs(ar) DESC, ticker, date
    LIMIT CAST($n AS INTEGER)
)
SELECT t.ticker, t.date, t.ret, t.ar, t.sar,
       count(h.headline_id) AS n_headlines,
       coalesce(list(h.title ORDER BY h.published_at) FILTER (WHERE h.headline_id IS NOT NULL), []) AS headlines
FROM top AS t
LEFT JOIN core.headline_tickers AS h ON h.ticker = t.ticker AND h.session_date = t.date
GROUP BY t.ticker, t.date, t.ret, t.ar, t.sar
ORDER BY abs(t.ar) DESC, t.ticker, t.date;
