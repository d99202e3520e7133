"""The dollar figure the press quoted, from real prices and real share counts: Nvidia lost about $589bn of market value
on 2025-01-27. Real Dagster runs (ingest with the files source, then analyze) on the reference prices in
../shared/data (skipped without them), with the public-filing counts of data/demo/shares.yaml as the side file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines import warehouse
from pipelines.resources import PriceSourceResource
from pipelines.runner import run_job
from pipelines.sources.shares import DemoShares
from pipelines.warehouse import read

PRESS_NVDA = -589e9
"""Nvidia's market value lost on 2025-01-27 as widely reported (Reuters, Bloomberg: "about $589 billion")."""
TICKERS = ["NVDA", "MSFT", "META", "AMZN", "AAPL", "AVGO", "TSM", "AMD", "SPY"]
"""The reference folder's stocks of the DeepSeek-R1 event (it has GOOG, not GOOGL) and the market model's benchmark."""


@pytest.mark.shared_data
@pytest.mark.slow
def test_nvda_lost_589bn_on_deepseek_monday(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "prices"
    folder.mkdir()
    for ticker in TICKERS:  # links, not copies: the reference data stays outside the project
        (folder / f"{ticker}.csv").symlink_to(shared_data / "prices" / "ibkr_daily" / f"{ticker}.csv")
    counts = DemoShares().fetch_shares(TICKERS, date(2024, 6, 3), date(2025, 3, 31))
    # ibkr_daily is on the post-split scale throughout and carries no split rows: keep the counts filed after
    # NVDA's 2024-06-10 split (its earlier ones are pre-split, and nothing here would scale them).
    counts = counts[counts["date"] >= "2024-06-10"]
    counts.assign(date=counts["date"].dt.strftime("%Y-%m-%d"))[["ticker", "date", "shares"]].to_csv(
        folder / "shares.csv", index=False
    )
    path = tmp_path / "w.duckdb"
    start, end = date(2023, 11, 1), date(2025, 2, 28)  # the market model's estimation window [-250, -11] fits
    source = PriceSourceResource(source="files", path=str(folder), tickers=TICKERS)
    with dg.instance_for_test() as instance:
        ingest = run_job("ingest_prices", start, end, warehouse_file=path, instance=instance, price_source=source)
        assert ingest.success, ingest.error
        assert ingest.checks["share_jumps_explained"], "the real counts move by a few percent at most"
        analyze = run_job("analyze", start, end, warehouse_file=path, instance=instance)
        assert analyze.success, analyze.error
    with warehouse.reader(path) as con:
        day0 = read.event_dollars(con, "deepseek-r1-release")
    assert day0 is not None
    nvda = day0.set_index("ticker").loc["NVDA"]
    assert nvda["market_value"] == pytest.approx(142.62 * 24.49e9, rel=1e-6)  # close 2025-01-24 x the 10-Q count
    assert nvda["dollar_change"] == pytest.approx(PRESS_NVDA, rel=0.02), read.money(nvda["dollar_change"])
    print(f"NVDA 2025-01-27: {read.money(nvda['dollar_change'])} ({read.money(nvda['dollar_abnormal'])} abnormal)")
