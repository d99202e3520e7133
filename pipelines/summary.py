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
