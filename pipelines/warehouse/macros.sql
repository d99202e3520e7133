-- Ad-hoc SQL over the event study. Windows are trading days relative to day0.
-- The abnormal returns of one ticker around one event.
CREATE OR REPLACE MACRO mart.event_window(event, symbol, lo := -10, hi := 10) AS TABLE
    SELECT tau, date, ret, expected, ar, car, sar
    FROM mart.abnormal_returns
    WHERE event_id = event AND ticker = symbol AND tau BETWEEN lo AND hi
    ORDER BY tau;

-- CAR[lo, hi] of every ticker for every event; t and p where [lo, hi] is one of the studied windows.
CREATE OR REPLACE MACRO mart.car(lo := -1, hi := 1) AS TABLE
    SELECT a.event_id, e.name AS event, e.kind, e.day0, a.ticker,
           sum(a.ar) AS car, count(*) AS days, w.car_t, w.car_p
    FROM mart.abnormal_returns AS a
    JOIN core.events AS e USING (event_id)
    LEFT JOIN mart.event_windows AS w
      ON w.event_id = a.event_id AND w.ticker = a.ticker AND w.tau_start = lo AND w.tau_end = hi
    WHERE a.tau BETWEEN lo AND hi
    GROUP BY ALL
    HAVING count(*) = hi - lo + 1;

-- The significance table of one event for one window and sample ('event': its own tickers; 'spillover').
CREATE OR REPLACE MACRO mart.event_significance(event, lo := -1, hi := 1, firms := 'event') AS TABLE
    SELECT t.test, t.statistic, t.p_value, t.n, t.method, t.clustered, t.adjusts_cross_correlation,
           g.caar
    FROM mart.event_tests AS t
    JOIN mart.event_aggregates AS g USING (event_id, sample, "window")
    WHERE t.event_id = event AND t.tau_start = lo AND t.tau_end = hi AND t.sample = firms;

-- ---------------------------------------------------------------------------------------------
-- Scalar macros are expanded inline, so their subqueries use aliases (_m_*) that no caller's column
-- can collide with: an argument like s.date must not be captured by an inner alias s.
-- Trading-day arithmetic. A session is a date with at least one bar in core.prices (NYSE,
-- America/New_York). A date that is not a session (weekend, holiday) is first moved to the next
-- session, the same policy that aligns headlines and events (news on a holiday moves the next session).

-- Every session, numbered from 0 in date order.
CREATE OR REPLACE VIEW core.sessions AS
SELECT date, CAST(row_number() OVER (ORDER BY date) - 1 AS INTEGER) AS session_no
FROM (SELECT DISTINCT date FROM core.prices);

-- Simple daily return of every ticker from adjusted closes; NULL where the previous session's bar is missing.
CREATE OR REPLACE VIEW core.returns AS
WITH bars AS (
    SELECT p.ticker, p.date, s.session_no, p.adj_close,
           lag(p.adj_close) OVER w AS prev_adj_close, lag(s.session_no) OVER w AS prev_session_no
    FROM core.prices AS p
    JOIN core.sessions AS s USING (date)
    WINDOW w AS (PARTITION BY p.ticker ORDER BY p.date)
)
SELECT ticker, date,
       CASE WHEN prev_session_no = session_no - 1 THEN adj_close / prev_adj_close - 1 END AS ret
FROM bars
WHERE prev_adj_close IS NOT NULL;

-- The session n sessions after d (n < 0: before; n = 0: d itself, or the next session if d is not one).
-- NULL beyond the sessions in core.prices.
CREATE OR REPLACE MACRO core.session_add(d, n) AS (
    SELECT _m_s.date FROM core.sessions AS _m_s
    WHERE _m_s.session_no = (SELECT min(_m_f.session_no) FROM core.sessions AS _m_f WHERE _m_f.date >= CAST(d AS DATE)) + n
);

-- Sessions from a to b (negative when b is before a): the tau of b relative to day0 = a.
-- core.session_add(a, core.session_diff(a, b)) is b, or the next session when b is not one.
CREATE OR REPLACE MACRO core.session_diff(a, b) AS (
    (SELECT min(_m_b.session_no) FROM core.sessions AS _m_b WHERE _m_b.date >= CAST(b AS DATE))
    - (SELECT min(_m_a.session_no) FROM core.sessions AS _m_a WHERE _m_a.date >= CAST(a AS DATE))
);

-- ---------------------------------------------------------------------------------------------
-- Abnormal returns outside the event study: mart.daily_abnormal_returns (market model vs SPY,
-- re-estimated for every session on [-250,-11]).

-- Sum of the daily abnormal returns of one ticker on the sessions from first_date to last_date (inclusive).
CREATE OR REPLACE MACRO mart.car_between(symbol, first_date, last_date) AS (
    SELECT sum(_m_d.ar) FROM mart.daily_abnormal_returns AS _m_d
    WHERE _m_d.ticker = symbol AND _m_d.date BETWEEN CAST(first_date AS DATE) AND CAST(last_date AS DATE)
);

-- Sum of the daily abnormal returns of one ticker on sessions [lo, hi] around the session of day.
CREATE OR REPLACE MACRO mart.car_around(symbol, day, lo := -1, hi := 1) AS
    mart.car_between(symbol, core.session_add(day, lo), core.session_add(day, hi));

-- Volume against its trailing average over the `lookback` previous sessions (the day itself excluded).
-- Volumes are split-adjusted to today's share count, so a split is not a volume spike.
-- abnormal_volume = volume_adj / trailing_avg - 1; volume_z = z-score of log volume against the same window.
CREATE OR REPLACE MACRO mart.abnormal_volume(lookback := 20) AS TABLE
    WITH adjusted AS (
        SELECT ticker, date, volume,
               volume * coalesce(product(split_ratio) OVER (
                   PARTITION BY ticker ORDER BY date ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 1) AS volume_adj
        FROM core.prices
    ), windowed AS (
        SELECT *, avg(volume_adj) OVER w AS trailing_avg, count(volume_adj) OVER w AS n_trailing,
               avg(ln(greatest(volume_adj, 1))) OVER w AS mean_log, stddev_samp(ln(greatest(volume_adj, 1))) OVER w AS sd_log
        FROM adjusted
        WINDOW w AS (PARTITION BY ticker ORDER BY date ROWS BETWEEN lookback PRECEDING AND 1 PRECEDING)
    )
    SELECT ticker, date, volume, volume_adj, trailing_avg,
           volume_adj / trailing_avg - 1 AS abnormal_volume,
           (ln(greatest(volume_adj, 1)) - mean_log) / nullif(sd_log, 0) AS volume_z
    FROM windowed
    WHERE n_trailing = lookback;

-- ---------------------------------------------------------------------------------------------
-- Headlines. session_date is the session a story can first move (after the close: the next one).

-- Headlines about one ticker (NULL: every ticker) whose session falls from first_date to last_date.
CREATE OR REPLACE MACRO core.ticker_headlines(symbol, first_date, last_date) AS TABLE
    SELECT t.ticker, t.session_date, t.published_at, t.headline_id, t.title, h.publisher, h.url, h.source
    FROM core.headline_tickers AS t
    JOIN core.headlines AS h USING (headline_id)
    WHERE (symbol IS NULL OR t.ticker = symbol)
      AND t.session_date BETWEEN CAST(first_date AS DATE) AND CAST(last_date AS DATE)
    ORDER BY t.published_at, t.ticker;

-- Headlines about an event's tickers on sessions [lo, hi] around its day0, with their tau.
CREATE OR REPLACE MACRO mart.event_headlines(event, lo := -1, hi := 1) AS TABLE
    SELECT e.event_id, t.ticker, core.session_diff(e.day0, t.session_date) AS tau, t.session_date,
           t.published_at, t.headline_id, t.title
    FROM core.events AS e
    JOIN core.headline_tickers AS t
      ON list_contains(e.tickers, t.ticker)
     AND t.session_date BETWEEN core.session_add(e.day0, lo) AND core.session_add(e.day0, hi)
    WHERE e.event_id = event
    ORDER BY t.published_at, t.ticker;

-- ---------------------------------------------------------------------------------------------
-- Intraday: bars with pre- and post-market, and each event's reaction in event time.

-- The reaction of an event's tickers in event time (mart.intraday_reaction), one row per ticker and measure.
CREATE OR REPLACE MACRO mart.intraday_reaction(event) AS TABLE
    SELECT ticker, measure, timing, ref_at, ref_price, "at", price, ret, benchmark, bench_ret, beta, beta_source,
           abnormal, "interval", note
    FROM mart.intraday_reaction
    WHERE event_id = event
    ORDER BY ticker, position;

-- ---------------------------------------------------------------------------------------------
-- Dollar impact: market value moved by an event (mart.event_dollars).

-- An event's dollar moves over sessions [lo, hi] per own ticker, and a '(total)' row across them.
CREATE OR REPLACE MACRO mart.dollar_impact(event, lo := 0, hi := 0) AS TABLE
    SELECT coalesce(ticker, '(total)') AS ticker,
           sum(market_value) FILTER (WHERE tau = lo) AS market_value,
           sum(dollar_change) AS dollar_change,
           sum(dollar_abnormal) AS dollar_abnormal,
           string_agg(DISTINCT reason, '; ') AS reason
    FROM mart.event_dollars
    WHERE event_id = event AND own AND tau BETWEEN lo AND hi
    GROUP BY GROUPING SETS ((ticker), ())
    HAVING count(*) > 0
    ORDER BY grouping(ticker), dollar_change NULLS LAST, ticker;
