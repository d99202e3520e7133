-- beta_shift: how a stock's beta to the market (default NVDA vs SPY) changed around a date (default 2025-01-27):
-- OLS of daily simple returns on the n sessions before the date and the n sessions after it (the date itself left out).
-- columns: period, first_date, last_date, n_obs, alpha, beta, beta_se, r2
-- param ticker: NVDA  the stock
-- param benchmark: SPY  the market index
-- param day: 2025-01-27  the date splitting the sample (a non-session means the next session)
-- param n: 120  sessions on each side (fewer after when the data ends sooner)
WITH pivot_day AS (
    SELECT core.session_add(CAST($day AS DATE), 0) AS day0
), paired AS (
    SELECT s.date, s.ret AS y, m.ret AS x, core.session_diff(p.day0, s.date) AS tau
    FROM core.returns AS s
    JOIN core.returns AS m ON m.date = s.date AND m.ticker = CAST($benchmark AS VARCHAR)
    CROSS JOIN pivot_day AS p
    WHERE s.ticker = CAST($ticker AS VARCHAR) AND s.ret IS NOT NULL AND m.ret IS NOT NULL
), sample AS (
    SELECT *, CASE WHEN tau < 0 THEN 'before' ELSE 'after' END AS period
    FROM paired
    WHERE tau <> 0 AND abs(tau) <= CAST($n AS INTEGER)
)
SELECT period, min(date) AS first_date, max(date) AS last_date, count(*) AS n_obs,
       regr_intercept(y, x) AS alpha, regr_slope(y, x) AS beta,
       sqrt((regr_syy(y, x) - regr_slope(y, x) ^ 2 * regr_sxx(y, x)) / (count(*) - 2) / regr_sxx(y, x)) AS beta_se,
       regr_r2(y, x) AS r2
FROM sample
GROUP BY period
ORDER BY first_date;
