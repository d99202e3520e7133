"""Intraday benchmark: one trading day of 1-minute bars with pre- and post-market for 500 tickers (960 bars each,
480,000 rows), and the event-time reaction of a 15-ticker event.

Steps, each timed, each with its baseline in the same process:
  1. a plain DuckDB ``INSERT`` of the day's bars into a bare table of a fresh file (baseline of 2 and 3);
  2. the write alone: ``validate_bars`` + ``warehouse.intraday.replace_bars_intraday`` of the in-memory frame;
  3. the ingest: a Dagster run of ``ingest_intraday`` for the day from one vendor CSV (files source: read, zone
     conversion, validation, staging, dedup, swap, then the three checks), run twice (the first pays the set-up);
     target < 5 s;
  4. the reaction of a 15-ticker event (``pipelines.assets.intraday.event_reaction``: its reads and
     ``models.intraday.reaction``), target < 200 ms; baseline: reading those tickers' bars alone.

Run: ``.venv/bin/python bench/bench_intraday.py [--tickers 500]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

os.environ.setdefault("IMPACT_RETRY_DELAY_S", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg  # noqa: E402
import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from models.calendar import sessions  # noqa: E402
from pipelines import warehouse  # noqa: E402
from pipelines.sources.intraday import validate_bars  # noqa: E402

DAY = date(2025, 1, 27)
PREVIOUS = date(2025, 1, 24)


@contextmanager
def timed(name: str, baseline: float | None = None, target: float | None = None):
    box: dict[str, float] = {}
    began, cpu = time.perf_counter(), time.process_time()
    yield box
    box["s"] = took = time.perf_counter() - began
    used = time.process_time() - cpu  # every thread of this process: less sensitive to a busy machine than wall time
    ratio = f"{took / baseline:6.1f}x baseline" if baseline else "   (baseline)"
    goal = "" if target is None else f"  target < {target:g}s: {'met' if took < target else 'MISSED'}"
    print(f"{name:<64} {took:8.3f}s wall {used:8.3f}s cpu  {ratio}{goal}", flush=True)


def simulate_day(tickers: int, seed: int = 7) -> pd.DataFrame:
    """Raw 1-minute bars 04:00-20:00 New York on DAY for ``tickers`` names (the last is SPY), ts in UTC."""
    rng = np.random.default_rng(seed)
    names = [f"T{i:03d}" for i in range(tickers - 1)] + ["SPY"]
    start = pd.Timestamp(f"{DAY} 04:00", tz="America/New_York").tz_convert("UTC")
    stamps = pd.date_range(start, periods=960, freq="1min")
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.0008, (tickers, 960)), axis=1))
    opens = np.concatenate([np.full((tickers, 1), 50.0), close[:, :-1]], axis=1)
    wick = np.abs(rng.normal(0, 0.0004, (2, tickers, 960)))
    return pd.DataFrame(
        {
            "ticker": np.repeat(names, 960),
            "ts": np.tile(stamps, tickers),
            "open": opens.ravel(),
            "close": close.ravel(),
            "high": (np.maximum(opens, close) * (1 + wick[0])).ravel(),
            "low": (np.minimum(opens, close) * (1 - wick[1])).ravel(),
            "volume": rng.integers(100, 100_000, tickers * 960),
            "source": "files",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=500)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-intraday-"))
    raw = simulate_day(args.tickers)
    names = list(dict.fromkeys(raw["ticker"]))
    print(f"{len(raw):,} bars: {args.tickers} tickers x 960 minutes (pre, regular, post) on {DAY}; files in {folder}")

    with timed("1. plain INSERT into a bare table (baseline)") as base:
        con = duckdb.connect(str(folder / "bare.duckdb"))
        con.execute(
            "CREATE TABLE bars (ticker VARCHAR, ts TIMESTAMPTZ, open DOUBLE, high DOUBLE, low DOUBLE, "
            "close DOUBLE, volume BIGINT, source VARCHAR)"
        )
        con.execute("INSERT INTO bars SELECT ticker, ts, open, high, low, close, volume, source FROM raw")
        con.close()

    from pipelines.warehouse import intraday as store

    with warehouse.writer(folder / "write.duckdb"):
        pass  # the layout, once: not the write's cost
    sessions(DAY, DAY)  # the NYSE calendar, built once per process (seconds): not the write's cost either
    with (
        timed("2. validate_bars + replace_bars_intraday (the write alone)", base["s"]),
        warehouse.writer(folder / "write.duckdb") as con,
    ):
        written = store.replace_bars_intraday(con, validate_bars(raw, "files", "1m"), DAY, DAY, names, "1m")
    assert written.rows == len(raw), written

    csv = folder / "bars.csv"
    local = raw["ts"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    raw.assign(timestamp=local)[["ticker", "timestamp", "open", "high", "low", "close", "volume"]].to_csv(
        csv, index=False
    )
    os.environ.update(
        {
            "IMPACT_INTRADAY_SOURCE": "files",
            "IMPACT_INTRADAY_PATH": str(csv),
            "IMPACT_TICKERS": ",".join(names),
            "DAGSTER_HOME": str(folder / "dagster"),
        }
    )
    from pipelines.runner import run_job

    target = folder / "warehouse.duckdb"
    with dg.instance_for_test() as instance:
        for attempt in ("first run", "second run"):
            with timed(f"3. Dagster run of ingest_intraday, files source ({attempt})", base["s"], 5.0):
                outcome = run_job("ingest_intraday", DAY, DAY, warehouse_file=target, instance=instance)
            assert outcome.success and outcome.metadata["rows"] == len(raw), outcome.error
            assert all(outcome.checks.values()), outcome.checks

    from pipelines.assets.intraday import event_reaction
    from pipelines.sources.base import PRICE_COLUMNS

    members = names[:15]
    closes = raw[raw["ts"] == raw["ts"].min()][["ticker", "open"]].rename(columns={"open": "close"})
    prices = closes.assign(
        date=pd.Timestamp(PREVIOUS),
        open=closes["close"],
        high=closes["close"] * 1.01,
        low=closes["close"] * 0.99,
        adj_close=closes["close"],
        volume=1_000_000,
        split_ratio=1.0,
        dividend=0.0,
        source="files",
    )[list(PRICE_COLUMNS)]
    event = pd.Series(
        {
            "event_id": "bench-event",
            "announced_at": pd.Timestamp(f"{DAY} 07:00", tz="America/New_York"),
            "day0": DAY,
            "tickers": members,
        }
    )
    with warehouse.writer(target) as con:
        warehouse.replace_prices(con, prices, PREVIOUS, PREVIOUS, names)
        event_reaction(con, event)  # warm: DuckDB's first query plans
        with timed("4. baseline: read the event's bars") as read_base:
            con.execute(
                "SELECT * FROM core.bars_intraday WHERE date = ? AND ticker IN (SELECT unnest(?))",
                [DAY, [*members, "SPY"]],
            ).df()
        with timed("4. reaction of a 15-ticker event (reads + models.intraday)", read_base["s"], 0.2):
            frame = event_reaction(con, event)
    assert len(frame) == 15 * 5 and frame["ret"].notna().all(), frame


if __name__ == "__main__":
    main()
