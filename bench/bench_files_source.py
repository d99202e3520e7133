"""Files price source benchmark: ``FilePriceSource.fetch_prices`` on one long file of 10 years x 500 tickers (~1.26M rows).

Steps, each timed, each with its baseline in the same process:
  1. the long Parquet file (ISO date strings, as the 10-year Dagster run of ``bench/bench_load.py`` writes it):
     baseline ``pd.read_parquet`` of the same file; target: fetch_prices < 2 s (issue 14);
  2. the same rows as one long CSV file: baseline ``pd.read_csv`` of the same file.
Each fetch is checked against the simulated frame, so a fast wrong answer does not pass.

Run: ``.venv/bin/python bench/bench_files_source.py [--tickers 500] [--years 10] [--skip-csv]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
from bench_load import simulate_prices, timed  # noqa: E402

from pipelines.sources.files import FilePriceSource  # noqa: E402

START = date(2015, 1, 2)


def check(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The fetched frame must be the simulated one (volumes are integers, prices round-trip exactly)."""
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickers", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--skip-csv", action="store_true")
    args = parser.parse_args()
    end = date(START.year + args.years, 1, 1)
    prices = simulate_prices(args.tickers, START, end)
    names = sorted(prices["ticker"].unique())
    print(f"{len(prices):,} rows, {len(names)} tickers, {START}..{end}")
    written = prices.assign(date=prices["date"].dt.strftime("%Y-%m-%d")).drop(columns=["source"])
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp) / "prices.parquet"
        written.to_parquet(parquet)
        with timed("parquet: pd.read_parquet") as base:
            pd.read_parquet(parquet)
        with timed("parquet: FilePriceSource.fetch_prices", base["s"], 2.0):
            got = FilePriceSource(parquet).fetch_prices(names, START, end)
        check(got, prices)
        if not args.skip_csv:
            csv = Path(tmp) / "prices.csv"
            written.to_csv(csv, index=False)
            with timed("csv: pd.read_csv") as base:
                pd.read_csv(csv)
            with timed("csv: FilePriceSource.fetch_prices", base["s"]):
                got = FilePriceSource(csv).fetch_prices(names, START, end)
            check(got, prices)


if __name__ == "__main__":
    main()
