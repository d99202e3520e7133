"""Load benchmark: 10 years x 500 tickers of simulated prices (~1.26M rows) and 1M headlines.

Steps, each timed with the process's peak memory, and each with its baseline in the same process:
  1. full price ingest through ``warehouse.replace_prices`` into a fresh warehouse
     (baseline: a plain DuckDB ``INSERT`` of the same frame into a bare table in a fresh file);
  2. 1M headlines through ``warehouse.replace_headlines`` (baseline: plain ``INSERT``);
  3. one Dagster run of ``ingest_prices`` over the 10 years (files source, one Parquet file)
     (baseline: step 1, the same write without Dagster, the file read and validation);
  4. an incremental daily partition, 500 tickers: ``replace_prices`` and a Dagster run of one partition
     (baseline: plain ``INSERT`` of the same 500 rows);
  5. the event study over 500 firms x 100 events from the warehouse (models.event_study.EventStudy)
     (baseline: reading its returns from the warehouse);
  6. an ad-hoc SQL event-window query: CAR[-1,+1] of all 500 tickers around 100 event days
     (baseline: ``SELECT count(*)`` on core.prices over the same short connection).
Targets: full ingest < 30 s, daily partition < 2 s, SQL query < 100 ms, the 10-year Dagster run < 20 s (issue 14).
Every line also shows the process's CPU time (DuckDB's threads included): on a busy machine it moves less than
the wall time. The Dagster run prints where its time went, read from its own event log.

Run: ``.venv/bin/python bench/bench_load.py [--skip-dagster] [--tickers 500] [--years 10] [--headlines 1000000]``;
``--daily-only`` runs just the daily Dagster partition (twice: the first run pays one-time set-up) on the 10-year table;
``--backfill-only`` just ``replace_prices`` and the 10-year Dagster run; ``--dagster-storage postgres`` records that
run in a private PostgreSQL cluster (``impact serve``'s storage) instead of SQLite (the CLI's).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

# The partitions start at IMPACT_HISTORY_START (read when the definitions are built): the 10-year range must be inside them.
os.environ.setdefault("IMPACT_HISTORY_START", "2015-01-02")
os.environ.setdefault("IMPACT_RETRY_DELAY_S", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402

from models.calendar import sessions  # noqa: E402
from models.event_study import EventStudy  # noqa: E402
from pipelines import warehouse  # noqa: E402
from pipelines.sources.base import PRICE_COLUMNS  # noqa: E402

ROWS: list[tuple[str, float, float | None, str]] = []


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(name: str, baseline: float | None = None, target: float | None = None):
    rss = psutil.Process().memory_info().rss
    began, cpu = time.perf_counter(), time.process_time()
    box: dict[str, float] = {}
    yield box
    took = time.perf_counter() - began
    box["s"] = took
    box["cpu"] = time.process_time() - cpu
    grew = (psutil.Process().memory_info().rss - rss) / 2**20
    ratio = f"{took / baseline:6.1f}x baseline" if baseline else "   (baseline)"
    goal = "" if target is None else ("  target < {:g}s: {}".format(target, "met" if took < target else "MISSED"))
    print(
        f"{name:<58} {took:9.3f}s (cpu {box['cpu']:7.2f}s)  {ratio}  peak {peak_mib():7.0f} MiB  rss {grew:+7.0f} MiB{goal}",
        flush=True,
    )
    ROWS.append((name, took, baseline, goal))


def simulate_prices(tickers: int, start: date, end: date, seed: int = 7) -> pd.DataFrame:
    days = sessions(start, end)
    rng = np.random.default_rng(seed)
    names = [f"T{i:03d}" for i in range(tickers - 1)] + ["SPY"]
    market = rng.normal(0.0003, 0.011, len(days))
    beta = rng.uniform(0.5, 1.6, tickers)
    rets = market[:, None] * beta[None, :] + rng.normal(0, 0.018, (len(days), tickers))
    close = 50 * np.exp(np.cumsum(rets, axis=0))
    spread = np.abs(rng.normal(0, 0.01, close.shape))
    n = close.size
    frame = pd.DataFrame(
        {
            "ticker": np.tile(names, len(days)),
            "date": np.repeat(days.to_numpy(), tickers),
            "open": (close * (1 + rng.normal(0, 0.003, close.shape))).ravel(),
            "close": close.ravel(),
        }
    )
    frame["high"] = np.maximum(frame["open"], frame["close"]) * (1 + spread.ravel())
    frame["low"] = np.minimum(frame["open"], frame["close"]) * (1 - spread.ravel())
    frame["adj_close"] = frame["close"]
    frame["volume"] = rng.integers(1_000, 10_000_000, n)
    frame["split_ratio"] = 1.0
    frame["dividend"] = 0.0
    frame["source"] = "files"
    return frame[list(PRICE_COLUMNS)].sort_values(["ticker", "date"]).reset_index(drop=True)


def simulate_headlines(count: int, start: date, end: date, tickers: list[str], seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    span = int((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds())
    stamps = pd.Timestamp(start, tz="America/New_York").tz_convert("UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, span, count)), unit="s"
    )
    picks = rng.integers(0, len(tickers), (count, 2))
    names = np.asarray(tickers)
    return pd.DataFrame(
        {
            "headline_id": [f"{i:020x}" for i in range(count)],
            "published_at": pd.DatetimeIndex(stamps).as_unit("us"),
            "title": [f"Story {i} about {names[a]}" for i, a in enumerate(picks[:, 0])],
            "summary": None,
            "url": [f"https://news.example/{i}" for i in range(count)],
            "publisher": "Example",
            "tickers": [sorted({names[a], names[b]}) for a, b in picks],
            "source": "files",
        }
    )


def phases(instance, run_id: str) -> str:
    """Where a run's time went, from its own event log: creating it (the planned events), then each step, with the
    time from its first materialization event to its end (writing those events)."""
    logs = instance.all_logs(run_id)
    began: dict[str, float] = {}
    ended: dict[str, float] = {}
    materialized: dict[str, float] = {}
    for entry in logs:
        event = entry.dagster_event if entry.is_dagster_event else None
        if event is None or entry.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            began[entry.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            ended[entry.step_key] = entry.timestamp
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materialized.setdefault(entry.step_key, entry.timestamp)
    parts = [f"run created (planned events) {min(began.values(), default=logs[-1].timestamp) - logs[0].timestamp:.1f}s"]
    for step, start in began.items():
        end = ended.get(step, logs[-1].timestamp)
        events = f" (materialization events {end - materialized[step]:.1f}s)" if step in materialized else ""
        parts.append(f"{step} {end - start:.1f}s{events}")
    return "; ".join(parts)


@contextmanager
def dagster_instance(storage: str):
    """A throw-away Dagster instance: the CLI's (SQLite, range runs batched), Dagster's own SQLite storage, or
    PostgreSQL in a private cluster (``impact serve``'s storage)."""
    import dagster as dg

    from pipelines.runner import cli_dagster_yaml

    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as home:
        if storage in ("sqlite", "dagster-sqlite"):
            Path(home, "dagster.yaml").write_text(
                cli_dagster_yaml(Path(home)) if storage == "sqlite" else "telemetry:\n  enabled: false\n"
            )
            with dg.DagsterInstance.from_config(home) as instance:
                yield instance
            return
        from pipelines.postgres import PrivateCluster, sqlalchemy_url
        from pipelines.serve import STORAGE_YAML, URL_ENV

        cluster = PrivateCluster(Path(tempfile.mkdtemp(prefix="impact-bench-pg-")))
        url = cluster.start()
        try:
            Path(home, "dagster.yaml").write_text(f"{STORAGE_YAML}telemetry:\n  enabled: false\n")
            os.environ[URL_ENV] = sqlalchemy_url(url)
            with dg.DagsterInstance.from_config(home) as instance:
                yield instance
        finally:
            cluster.stop()


def backfill_run(folder: Path, prices: pd.DataFrame, start: date, end: date, tickers: list[str], storage: str) -> None:
    """Step 3: one Dagster run of ``ingest_prices`` over the whole range (files source, one Parquet file)."""
    import dagster as dg

    from pipelines.resources import PriceSourceResource
    from pipelines.runner import run_job

    parquet = folder / "prices.parquet"
    prices.assign(date=prices["date"].dt.strftime("%Y-%m-%d")).drop(columns=["source"]).to_parquet(parquet)
    full_ingest = next(s for n, s, _, _ in ROWS if n.startswith("full ingest"))
    source = PriceSourceResource(source="files", path=str(parquet), tickers=tickers)
    with dagster_instance(storage) as instance:
        with timed(f"Dagster run: ingest_prices {start.year}-{end.year} x {len(tickers)} ({storage})", full_ingest, 20):
            outcome = run_job(
                "ingest_prices",
                start,
                end,
                warehouse_file=folder / "dagster.duckdb",
                price_source=source,
                instance=instance,
            )
        done = instance.get_materialized_partitions(dg.AssetKey(["core", "prices"]))
        print(
            f"    -> success={outcome.success} rows={outcome.metadata.get('rows')} checks={outcome.checks} "
            f"partitions materialized={len(done)} {outcome.error or ''}\n    -> {phases(instance, outcome.run_id)}"
        )


def daily_dagster_runs(folder: Path, day: pd.DataFrame, next_day: date, tickers: list[str], runs: int) -> None:
    """Step 4's Dagster half: ``runs`` runs of ``ingest_prices`` for one session into ``folder/dagster.duckdb``."""

    from pipelines.resources import PriceSourceResource
    from pipelines.runner import run_job

    day_parquet = folder / "day.parquet"
    day.assign(date=day["date"].dt.strftime("%Y-%m-%d")).drop(columns=["source"]).to_parquet(day_parquet)
    daily = PriceSourceResource(source="files", path=str(day_parquet), tickers=tickers)
    with dagster_instance("sqlite") as instance:
        for run in range(1, runs + 1):
            with timed(f"Dagster run {run}: one daily partition x 500 (+ 6 checks)", None, 2):
                outcome = run_job(
                    "ingest_prices",
                    next_day,
                    next_day,
                    warehouse_file=folder / "dagster.duckdb",
                    price_source=daily,
                    instance=instance,
                )
            print(
                f"    -> success={outcome.success} rows={outcome.metadata.get('rows')} checks={outcome.checks} "
                f"{outcome.error or ''}\n    -> {phases(instance, outcome.run_id)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--headlines", type=int, default=1_000_000)
    parser.add_argument(
        "--skip-dagster", action="store_true", help="skip the Dagster runs (slow: per-partition events)"
    )
    parser.add_argument("--daily-only", action="store_true", help="only the daily partition as a Dagster run")
    parser.add_argument(
        "--backfill-only", action="store_true", help="only replace_prices and the whole-range Dagster run (step 3)"
    )
    parser.add_argument(
        "--dagster-storage",
        choices=["sqlite", "dagster-sqlite", "postgres"],
        default="sqlite",
        help="the Dagster instance's storage for step 3: the CLI's SQLite (range runs batched), Dagster's own SQLite "
        "storage, or a private PostgreSQL (impact serve's)",
    )
    args = parser.parse_args()
    start, end = date(2015, 1, 2), date(2015 + args.years - 1, 12, 31)
    next_day = sessions(date(2015 + args.years, 1, 2), date(2015 + args.years, 1, 10))[0].date()
    print(
        f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; duckdb {duckdb.__version__}"
    )

    with tempfile.TemporaryDirectory(prefix="impact-bench-") as folder:
        folder = Path(folder)
        t0 = time.perf_counter()
        prices = simulate_prices(args.tickers, start, end)
        tickers = sorted(prices["ticker"].unique())
        print(
            f"simulated {len(prices):,} price rows ({len(tickers)} tickers x {prices['date'].nunique()} sessions) "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        day = simulate_prices(args.tickers, next_day, next_day, seed=99)
        day["ticker"] = tickers
        if args.daily_only:
            with timed("full ingest: replace_prices 10y x 500 (fresh warehouse)", None, 30):
                with warehouse.writer(folder / "dagster.duckdb") as con:
                    warehouse.replace_prices(con, prices, start, end, tickers)
            del prices
            daily_dagster_runs(folder, day, next_day, tickers, runs=2)
            return
        if args.backfill_only:
            with timed("full ingest: replace_prices 10y x 500 (fresh warehouse)", None, 30):
                with warehouse.writer(folder / "w.duckdb") as con:
                    warehouse.replace_prices(con, prices, start, end, tickers)
            backfill_run(folder, prices, start, end, tickers, args.dagster_storage)
            return

        # 1. full price ingest
        base = duckdb.connect(str(folder / "baseline.duckdb"))
        base.execute("CREATE TABLE base_prices AS SELECT * FROM prices LIMIT 0")  # `prices`: the DataFrame
        with timed("baseline: plain INSERT of the price frame") as b:
            base.execute("INSERT INTO base_prices SELECT * FROM prices")
        path = folder / "w.duckdb"
        with timed("full ingest: replace_prices 10y x 500 (fresh warehouse)", b["s"], 30):
            with warehouse.writer(path) as con:
                warehouse.replace_prices(con, prices, start, end, tickers)
        size_prices = path.stat().st_size

        # 2. headlines
        headlines = simulate_headlines(args.headlines, start, end, tickers)
        base.execute("CREATE TABLE base_headlines AS SELECT * FROM headlines LIMIT 0")
        with timed(f"baseline: plain INSERT of {len(headlines):,} headlines") as b:
            base.execute("INSERT INTO base_headlines SELECT * FROM headlines")
        base.close()
        with timed(f"headlines: replace_headlines {len(headlines):,}", b["s"], 30):
            with warehouse.writer(path) as con:
                warehouse.replace_headlines(con, headlines, start, end, ["files"])
        del headlines

        # 4. incremental daily partition (before the Dagster runs, on the warehouse of steps 1-2)
        base = duckdb.connect(str(folder / "baseline.duckdb"))
        with timed("baseline: plain INSERT of one day x 500") as b:
            base.execute("INSERT INTO base_prices SELECT * FROM day")
        base.close()
        with timed("daily partition: replace_prices one day x 500 (incl. open)", b["s"], 2):
            with warehouse.writer(path) as con:
                warehouse.replace_prices(con, day, next_day, next_day, tickers)

        # 6. ad-hoc SQL: CAR[-1,+1] of every ticker around 100 event days
        days = sessions(start, end)
        events = pd.DataFrame({"day0": days[np.linspace(260, len(days) - 10, 100).astype(int)].date})
        sql = """
            WITH ev AS (  -- the calendar days around each day0, as an equi-join key (no range join)
                SELECT day0, day0 + CAST(k AS INTEGER) AS date
                FROM (SELECT unnest(?::DATE[]) AS day0), range(-7, 5) AS t(k)
            ),
            r AS (
                SELECT p.ticker, p.date, ev.day0,
                       p.adj_close / lag(p.adj_close) OVER (PARTITION BY p.ticker, ev.day0 ORDER BY p.date) - 1 AS ret
                FROM core.prices AS p JOIN ev USING (date)
            )
            SELECT day0, ticker, sum(ret) AS car FROM r
            WHERE date BETWEEN day0 - 1 AND day0 + 1
            GROUP BY ALL
        """
        params = [list(events["day0"])]
        with warehouse.reader(path) as con:
            con.execute(sql, params).df()  # warm the file cache once
            with timed("baseline: SELECT count(*) FROM core.prices") as b:
                con.execute("SELECT count(*) FROM core.prices").fetchall()
            with timed("SQL: CAR[-1,+1] x 500 tickers x 100 events (open conn)", b["s"], 0.1):
                car = con.execute(sql, params).df()
        with timed("SQL: same query via warehouse.query (short connection)", b["s"], 0.1):
            warehouse.query(sql, params, path=path)
        print(f"    -> {len(car):,} firm-event CARs")

        # 5. event study over 500 firms x 100 events, returns read from the warehouse
        with timed("baseline: read adj_close from the warehouse, pivot to returns") as b:
            with warehouse.reader(path) as con:
                wide = con.execute(
                    "PIVOT (SELECT ticker, date, adj_close FROM core.prices) ON ticker USING first(adj_close)"
                ).df()
            returns = wide.set_index("date").sort_index().pct_change().iloc[1:]
        firms = [t for t in tickers if t != "SPY"][:500]
        ev = pd.DataFrame(
            {
                "event_id": np.repeat([f"E{j:03d}" for j in range(len(events))], len(firms)),
                "ticker": np.tile(firms, len(events)),
                "day0": np.repeat(pd.to_datetime(events["day0"]).to_numpy(), len(firms)),
            }
        )
        with timed(f"event study: EventStudy.fit {len(firms)} firms x {len(events)} events", b["s"]):
            EventStudy(returns, ev, benchmark="SPY").fit()

        warehouse_mib = path.stat().st_size / 2**20
        print(f"warehouse size: {size_prices / 2**20:.0f} MiB after prices, {warehouse_mib:.0f} MiB with headlines")

        if not args.skip_dagster:
            backfill_run(folder, prices, start, end, tickers, args.dagster_storage)
            daily_dagster_runs(folder, day, next_day, tickers, runs=1)
        print(f"peak memory of the whole benchmark: {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
