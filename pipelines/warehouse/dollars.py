"""The dollar marts: market value and dollar moves of every studied firm-event, recomputed whole in SQL.

A session's dollar change is its return times the market value at the previous close (close x shares outstanding
that session); its dollar abnormal change is the abnormal return times the same value; a window's CAR in dollars is
the CAR times the market value at the close before the window. Where a count is missing the dollar columns are NULL
and ``reason`` says why; the percentages stay in the study marts, untouched.
"""

from __future__ import annotations

import duckdb

from pipelines.warehouse.connection import transaction, write_errors

EVENT_DOLLARS_SQL = """
DELETE FROM mart.event_dollars;
INSERT INTO mart.event_dollars BY NAME
WITH bars AS (
    SELECT ticker, date, lag(date) OVER w AS prior_date, lag(close) OVER w AS prior_close
    FROM core.prices WINDOW w AS (PARTITION BY ticker ORDER BY date)
),
firsts AS (SELECT ticker, min(date) AS first_count FROM core.shares GROUP BY ticker),
valued AS (
    SELECT a.event_id, a.ticker, list_contains(e.tickers, a.ticker) AS own, a.tau, a.date, b.prior_date,
           b.prior_close, s.shares, b.prior_close * s.shares AS market_value, a.ret, a.ar, f.first_count
    FROM mart.abnormal_returns AS a
    JOIN core.events AS e USING (event_id)
    LEFT JOIN bars AS b ON b.ticker = a.ticker AND b.date = a.date
    LEFT JOIN core.shares AS s ON s.ticker = a.ticker AND s.date = b.prior_date
    LEFT JOIN firsts AS f ON f.ticker = a.ticker
)
SELECT event_id, ticker, own, tau, date, prior_date, prior_close, shares, market_value, ret, ar,
       ret * market_value AS dollar_change, ar * market_value AS dollar_abnormal,
       CASE
           WHEN prior_date IS NULL THEN 'no ' || ticker || ' bar before ' || date
           WHEN first_count IS NULL THEN 'no shares outstanding for ' || ticker || ': its price source gave none'
           WHEN shares IS NULL THEN 'no shares outstanding for ' || ticker || ' on ' || prior_date
                                    || ' (its first count is for ' || first_count || ')'
           WHEN ret IS NULL THEN 'no ' || ticker || ' return on ' || date
       END AS reason
FROM valued;

DELETE FROM mart.event_dollar_windows;
INSERT INTO mart.event_dollar_windows BY NAME
WITH growth AS (
    SELECT w.event_id, w.ticker, w."window",
           CASE WHEN count(a.ret) = w.tau_end - w.tau_start + 1 THEN product(1 + a.ret) END AS growth
    FROM mart.event_windows AS w
    JOIN mart.abnormal_returns AS a
      ON a.event_id = w.event_id AND a.ticker = w.ticker AND a.tau BETWEEN w.tau_start AND w.tau_end
    GROUP BY w.event_id, w.ticker, w."window", w.tau_start, w.tau_end
)
SELECT w.event_id, w.ticker, w."window", w.tau_start, w.tau_end, d.prior_date, d.market_value, w.car,
       w.car * d.market_value AS dollar_car, (g.growth - 1) * d.market_value AS dollar_change,
       CASE WHEN d.market_value IS NULL THEN coalesce(d.reason, 'no session at tau ' || w.tau_start) END AS reason
FROM mart.event_windows AS w
LEFT JOIN mart.event_dollars AS d ON d.event_id = w.event_id AND d.ticker = w.ticker AND d.tau = w.tau_start
LEFT JOIN growth AS g ON g.event_id = w.event_id AND g.ticker = w.ticker AND g."window" = w."window";
"""
"""Both dollar marts from mart.abnormal_returns, mart.event_windows, core.events, core.prices and core.shares."""


def rebuild_event_dollars(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Recompute mart.event_dollars and mart.event_dollar_windows in one transaction; returns (firm-event sessions,
    those with a market value)."""
    with write_errors(con), transaction(con):
        con.execute(EVENT_DOLLARS_SQL)
    rows, valued = con.execute("SELECT count(*), count(market_value) FROM mart.event_dollars").fetchall()[0]
    return int(rows), int(valued)
