-- sentiment_vs_next_day_ar: per ticker, the correlation of the daily sentiment index (mean headline score) with the
-- abnormal return of the next session, next to the same-session correlation, over sessions with headlines
-- (scored by the classifier with the most rows, so several models never count a day twice).
-- columns: ticker, n_days, corr_next_day, corr_same_day, mean_score, mean_next_ar
-- requires: mart.daily_sentiment
-- param min_days: 5  tickers with fewer sessions with headlines are left out
WITH paired AS (
    SELECT s.ticker, s.date, s.mean_score, s.ar AS same_ar, d.ar AS next_ar
    FROM mart.daily_sentiment AS s
    JOIN mart.daily_abnormal_returns AS d
      ON d.ticker = s.ticker AND d.date = core.session_add(s.date, 1)
    WHERE s.mean_score IS NOT NULL
      AND s.model = (SELECT model FROM mart.daily_sentiment GROUP BY model ORDER BY count(*) DESC, model LIMIT 1)
)
SELECT ticker, count(*) AS n_days,
       corr(mean_score, next_ar) AS corr_next_day,
       corr(mean_score, same_ar) AS corr_same_day,
       avg(mean_score) AS mean_score, avg(next_ar) AS mean_next_ar
FROM paired
GROUP BY ticker
HAVING count(*) >= CAST($min_days AS INTEGER)
ORDER BY corr_next_day DESC NULLS LAST, ticker;
