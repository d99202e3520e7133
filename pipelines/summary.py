"""One-screen summaries of what the warehouse holds, read through a short read-only connection."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines import warehouse

DEEPSEEK_DAY = "2025-01-27"


def warehouse_overview(path: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Row counts and coverage per dataset and source, plus each ticker's move on the DeepSeek-R1 day."""
    with warehouse.reader(path) as con:
        prices = con.execute(
            """
            SELECT source, count(DISTINCT ticker) AS tickers, count(*) AS rows,
                   min(date) AS first_date, max(date) AS last_date
            FROM core.prices GROUP BY source ORDER BY source
            """
        ).df()
        headlines = con.execute(
            """
            SELECT source, count(*) AS stories, min(ny_date) AS first_date, max(ny_date) AS last_date
            FROM core.headlines GROUP BY source ORDER BY source
            """
        ).df()
        moves = con.execute(
            """
            SELECT ticker, prev_close, close, round(100 * (close * split_ratio / prev_close - 1), 2) AS return_pct
            FROM (
                SELECT ticker, date, close, split_ratio,
                       lag(close) OVER (PARTITION BY ticker ORDER BY date) AS prev_close
                FROM core.prices
            )
            WHERE date = CAST(? AS DATE)
            ORDER BY return_pct
            """,
            [DEEPSEEK_DAY],
        ).df()
    return {"prices": prices, "headlines": headlines, "deepseek": moves}


def event_report(event_id: str, path: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """An event's per-ticker table and group tests, read from the event-study marts."""
    from pipelines.study import tests_table, ticker_table

    with warehouse.reader(path) as con:
        event = con.execute("SELECT name, day0 FROM core.events WHERE event_id = ?", [event_id]).df()
        abnormal = con.execute("SELECT ticker, tau, ar FROM mart.abnormal_returns WHERE event_id = ?", [event_id]).df()
        windows = con.execute(
            'SELECT ticker, "window", car, car_t, car_p FROM mart.event_windows WHERE event_id = ? '
            'AND "window" IN (\'[0,0]\', \'[-1,+1]\') ORDER BY tau_start DESC', [event_id]
        ).df()
        tests = con.execute(
            'SELECT "window", test, statistic, p_value, n, adjusts_cross_correlation FROM mart.event_tests '
            'WHERE event_id = ? AND "window" = \'[-1,+1]\'', [event_id]
        ).df()
        sentiment = con.execute(SENTIMENT_BEFORE_SQL, [event_id]).df()
    return {"event": event, "tickers": ticker_table(abnormal, windows), "tests": tests_table(tests), "sentiment": sentiment}


SENTIMENT_BEFORE_SQL = """
SELECT w.ticker, count(*) AS headlines, count(*) FILTER (WHERE w.relevance = 'direct') AS named,
       round(sum(core.relevance_weight(w.relevance) * w.score) / sum(core.relevance_weight(w.relevance)), 3) AS mean_score,
       count(*) FILTER (WHERE w.label = 'negative') AS negative, count(*) FILTER (WHERE w.label = 'positive') AS positive
FROM core.events AS e,
     mart.headline_sentiment_window(NULL, core.session_add(e.day0, -5), e.day0) AS w
WHERE e.event_id = ? AND list_contains(e.tickers, w.ticker) AND w.score IS NOT NULL
GROUP BY w.ticker
ORDER BY mean_score, w.ticker
"""
"""An event's tickers: headline sentiment FOR each ticker over sessions -5..0 (relevance-weighted mean score)."""
