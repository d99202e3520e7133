"""The DuckDB warehouse: schema, atomic partition upserts, and short read-only connections.

Imports no Dagster and no other pipelines module so dashboards and ``impact sql`` can use it
cheaply. DuckDB allows one writer process or many read-only readers, never both: readers keep
their connections short and retry while a writer holds the file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.errors import WarehouseError
from pipelines.locations import default_warehouse

if TYPE_CHECKING:  # pandas and the calendar load inside the writes that use them: readers stay cheap
    import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this module runs from (checkout-only readers: dev sets, README); see ``pipelines.locations``."""
WAREHOUSE_ENV = "IMPACT_WAREHOUSE"
STORAGE_VERSION = "v1.4.0"
"""DuckDB storage format of the warehouse file (storage version 67), so that DuckDB >= 1.4 opens it: the
1.4 LTS line, the CLI on PyPI (``duckdb-cli`` 1.5) and BI tools on those drivers, besides the locked duckdb 2.x.
A new file is created in it, DuckDB keeps a file in the format it was created in, and a writer converts a
file in a newer format once (see ``open_connection``)."""

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;

-- Prices exactly as each source delivered them; one row per (source, ticker, session).
CREATE TABLE IF NOT EXISTS raw.prices (
    source       VARCHAR   NOT NULL,
    ticker       VARCHAR   NOT NULL,
    date         DATE      NOT NULL,
    open         DOUBLE    NOT NULL,
    high         DOUBLE    NOT NULL,
    low          DOUBLE    NOT NULL,
    close        DOUBLE    NOT NULL,
    adj_close    DOUBLE    NOT NULL,
    volume       BIGINT    NOT NULL,
    split_ratio  DOUBLE    NOT NULL,
    dividend     DOUBLE    NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR,
    PRIMARY KEY (source, ticker, date)
);

-- One bar per ticker and NYSE session (America/New_York), from the latest ingestion.
CREATE TABLE IF NOT EXISTS core.prices (
    ticker       VARCHAR   NOT NULL,
    date         DATE      NOT NULL,
    open         DOUBLE    NOT NULL,
    high         DOUBLE    NOT NULL,
    low          DOUBLE    NOT NULL,
    close        DOUBLE    NOT NULL,
    adj_close    DOUBLE    NOT NULL,
    volume       BIGINT    NOT NULL,
    split_ratio  DOUBLE    NOT NULL,
    dividend     DOUBLE    NOT NULL,
    source       VARCHAR   NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ticker, date)
);

-- Headlines as each source delivered them; ny_date is the New York calendar date (the partition).
CREATE TABLE IF NOT EXISTS raw.headlines (
    source       VARCHAR   NOT NULL,
    headline_id  VARCHAR   NOT NULL,
    ny_date      DATE      NOT NULL,
    session_date DATE      NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    title        VARCHAR   NOT NULL,
    summary      VARCHAR,
    url          VARCHAR,
    publisher    VARCHAR,
    tickers      VARCHAR[] NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR,
    PRIMARY KEY (source, headline_id)
);

-- One row per story, deduplicated across sources and re-runs; tickers are the union.
-- session_date: the NYSE session the story can first move (after the close, weekends, holidays: the next one).
CREATE TABLE IF NOT EXISTS core.headlines (
    headline_id  VARCHAR   PRIMARY KEY,
    ny_date      DATE      NOT NULL,
    session_date DATE      NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    title        VARCHAR   NOT NULL,
    summary      VARCHAR,
    url          VARCHAR,
    publisher    VARCHAR,
    tickers      VARCHAR[] NOT NULL,
    source       VARCHAR   NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL
);

-- What each ingestion wrote: feeds the freshness view of the dashboards.
CREATE TABLE IF NOT EXISTS raw.ingestions (
    dataset      VARCHAR   NOT NULL,
    source       VARCHAR   NOT NULL,
    range_start  DATE      NOT NULL,
    range_end    DATE      NOT NULL,
    rows         BIGINT    NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR
);

-- Events: the curated catalogue (data/events.yaml) and days detected from abnormal returns.
CREATE TABLE IF NOT EXISTS core.events (
    event_id     VARCHAR   PRIMARY KEY,
    name         VARCHAR   NOT NULL,
    kind         VARCHAR   NOT NULL,
    origin       VARCHAR   NOT NULL,   -- 'curated' or 'detected'
    announced_at TIMESTAMPTZ,
    day0         DATE      NOT NULL,   -- the session the event moves (see day0_rule)
    day0_rule    VARCHAR   NOT NULL,   -- 'next' / 'previous' / 'exact' session policy, 'override', 'detected'
    tickers      VARCHAR[] NOT NULL,   -- the stocks the event is about
    description  VARCHAR,
    trigger_sar  DOUBLE,               -- detected: the standardized abnormal return that triggered it
    headline_ids VARCHAR[],            -- detected: that session's headlines about the ticker
    computed_at  TIMESTAMPTZ NOT NULL
);

-- Market-model abnormal return of every stock on every session (rolling estimation [-250,-11]).
CREATE TABLE IF NOT EXISTS mart.daily_abnormal_returns (
    ticker VARCHAR NOT NULL, date DATE NOT NULL, benchmark VARCHAR NOT NULL,
    ret DOUBLE, expected DOUBLE, ar DOUBLE, sar DOUBLE, alpha DOUBLE, beta DOUBLE, sigma_e DOUBLE, n_est INTEGER,
    computed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ticker, date)
);

-- Event-study results per firm-event (one study per event: its firms share day0).
CREATE TABLE IF NOT EXISTS mart.event_estimates (
    event_id VARCHAR NOT NULL, ticker VARCHAR NOT NULL, day0 DATE NOT NULL, model VARCHAR NOT NULL,
    benchmark VARCHAR, status VARCHAR NOT NULL, reason VARCHAR, n_est INTEGER, df DOUBLE,
    alpha DOUBLE, beta DOUBLE, sigma_e DOUBLE, r2 DOUBLE, computed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, ticker)
);

-- Daily returns, expected returns and abnormal returns (simple, as fractions) for tau in the event span.
CREATE TABLE IF NOT EXISTS mart.abnormal_returns (
    event_id VARCHAR NOT NULL, ticker VARCHAR NOT NULL, tau INTEGER NOT NULL, date DATE NOT NULL,
    ret DOUBLE, expected DOUBLE, ar DOUBLE, car DOUBLE, sar DOUBLE,
    PRIMARY KEY (event_id, ticker, tau)
);

-- CAR and BHAR per firm-event and window, with the forecast-error-corrected t-test.
CREATE TABLE IF NOT EXISTS mart.event_windows (
    event_id VARCHAR NOT NULL, ticker VARCHAR NOT NULL, "window" VARCHAR NOT NULL,
    tau_start INTEGER NOT NULL, tau_end INTEGER NOT NULL,
    car DOUBLE, bhar DOUBLE, scar DOUBLE, car_sd DOUBLE, car_t DOUBLE, car_p DOUBLE, df DOUBLE,
    PRIMARY KEY (event_id, ticker, "window")
);

-- Cross-sectional results per event and window: CAAR and the share of positive CARs.
CREATE TABLE IF NOT EXISTS mart.event_aggregates (
    event_id VARCHAR NOT NULL, "window" VARCHAR NOT NULL, tau_start INTEGER NOT NULL, tau_end INTEGER NOT NULL,
    n INTEGER, caar DOUBLE, median_car DOUBLE, sd_car DOUBLE, abhar DOUBLE, share_positive DOUBLE,
    rbar DOUBLE, clustered BOOLEAN,
    PRIMARY KEY (event_id, "window")
);

-- The test battery per event and window (Patell, BMP, Kolari-Pynnönen, Corrado, Cowan, ...).
CREATE TABLE IF NOT EXISTS mart.event_tests (
    event_id VARCHAR NOT NULL, "window" VARCHAR NOT NULL, tau_start INTEGER NOT NULL, tau_end INTEGER NOT NULL,
    test VARCHAR NOT NULL, statistic DOUBLE, p_value DOUBLE, df DOUBLE, n INTEGER, method VARCHAR,
    clustered BOOLEAN, adjusts_cross_correlation BOOLEAN,
    PRIMARY KEY (event_id, "window", test)
);

-- Sentiment of every (headline, company) pair per classifier (pipelines/assets/sentiment.py).
CREATE TABLE IF NOT EXISTS core.headline_sentiment (
    headline_id   VARCHAR NOT NULL,
    ticker        VARCHAR NOT NULL,
    model         VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    relevance     VARCHAR NOT NULL,
    relation      VARCHAR,
    via           VARCHAR[],
    label         VARCHAR NOT NULL,
    p_negative    DOUBLE  NOT NULL,
    p_neutral     DOUBLE  NOT NULL,
    p_positive    DOUBLE  NOT NULL,
    score         DOUBLE  NOT NULL,
    scored_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (headline_id, ticker, model)
);

-- Sentiment index per ticker, session and model (relevance-weighted), beside that session's abnormal return.
CREATE TABLE IF NOT EXISTS mart.daily_sentiment (
    ticker VARCHAR NOT NULL, date DATE NOT NULL, model VARCHAR NOT NULL, model_version VARCHAR,
    headlines BIGINT NOT NULL, direct_headlines BIGINT, indirect_headlines BIGINT,
    mean_score DOUBLE, share_negative DOUBLE, share_positive DOUBLE,
    ar DOUBLE, sar DOUBLE,
    PRIMARY KEY (ticker, date, model)
);

-- Headlines one row per (headline, ticker): the long form most queries want.
CREATE OR REPLACE VIEW core.headline_tickers AS
SELECT h.headline_id, unnest(h.tickers) AS ticker, h.ny_date, h.session_date, h.published_at, h.title, h.source
FROM core.headlines AS h;
"""

MACROS_SQL = Path(__file__).with_name("macros.sql")
"""Table and scalar macros stored in the warehouse, so every DuckDB client (CLI, notebooks, BI) has them."""

SENTIMENT_MACROS_SQL = Path(__file__).with_name("macros_sentiment.sql")
"""Macros and comments over the sentiment tables."""
COMMENTS_SQL = Path(__file__).with_name("comments.sql")
"""COMMENT ON statements: the meaning and units of every table and column, read by `impact schema`."""

_LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "lock on file")


def warehouse_path(override: str | Path | None = None) -> Path:
    """The warehouse file: an explicit path, else ``$IMPACT_WAREHOUSE``, else :func:`default_warehouse`
    (``data/warehouse.duckdb`` in a checkout, the user data folder for an installed copy)."""
    from pipelines.settings import value

    chosen = override or value(WAREHOUSE_ENV) or default_warehouse()
    return Path(chosen).expanduser().resolve()


def __getattr__(name: str) -> Path:
    """``DEFAULT_WAREHOUSE``: :func:`default_warehouse`, resolved when asked (it reads ``$XDG_DATA_HOME``)."""
    if name == "DEFAULT_WAREHOUSE":
        return default_warehouse()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_lock_error(error: Exception) -> bool:
    """True when ``error`` says another process holds the file (worth waiting for, unlike a full disk)."""
    return any(marker in str(error) for marker in _LOCK_MARKERS)


def open_connection(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Open the file, retrying with backoff while another process holds a conflicting lock.

    A read-write open creates a missing file in ``STORAGE_VERSION`` and converts a file in a newer
    format (one written before that setting existed, or by a newer DuckDB) to it. DuckDB cannot
    downgrade a file in place, so the conversion copies every schema, table, view, macro and comment
    into a new file beside it and renames that over the original while holding the write lock; if
    it fails, the original is left as it was and the error says so. Read-only opens never convert.
    """
    deadline = time.monotonic() + wait_s
    delay = 0.05
    converted = False
    while True:
        try:
            if not read_only and not path.exists():
                # Created by a throw-away connection so that every later open uses the default
                # configuration: DuckDB refuses two in-process connections to one file with different ones.
                duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION}).close()
            con = duckdb.connect(str(path), read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if not is_lock_error(error) or time.monotonic() >= deadline:
                mode = "read-only" if read_only else "read-write"
                raise WarehouseError(f"cannot open warehouse {path} {mode}: {error}") from error
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
            continue
        if read_only or converted or not _convert_storage(con, path):
            return con
        converted = True  # open the new file, through the lock retries: another process may get it first


def _storage_key(version: str) -> tuple[int, ...]:
    """'v1.4.0+' -> (1, 4, 0); () when DuckDB reports no storage version."""
    try:
        return tuple(int(part) for part in version.strip().lstrip("v").rstrip("+").split("."))
    except ValueError:
        return ()


def _convert_storage(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Rewrite a file in a storage format newer than ``STORAGE_VERSION``; True (and ``con`` closed) when it did."""
    name, tags = con.execute(
        "SELECT database_name, tags FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()[0]
    version = (tags or {}).get("storage_version", "")
    if not _storage_key(version) or _storage_key(version) <= _storage_key(STORAGE_VERSION):
        return False
    temporary = path.with_name(path.name + ".converting")
    attached = False
    try:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)
        con.execute("CHECKPOINT")
        quoted = str(temporary).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS impact_storage_conversion (STORAGE_VERSION '{STORAGE_VERSION}')")
        attached = True
        con.execute(f'COPY FROM DATABASE "{name.replace(chr(34), chr(34) * 2)}" TO impact_storage_conversion')
        con.execute("DETACH impact_storage_conversion")
        attached = False
        os.replace(temporary, path)  # atomic, under the write lock on the original
    except (duckdb.Error, OSError) as error:
        if attached:
            try:
                con.execute("DETACH impact_storage_conversion")
            except duckdb.Error:
                pass
        con.close()
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                pass
        raise WarehouseError(
            f"warehouse {path} is in DuckDB storage format {version}, newer than {STORAGE_VERSION} that DuckDB 1.4/1.5 "
            f"clients (the duckdb CLI, BI drivers) read; DuckDB cannot downgrade a file in place and copying it into "
            f"{STORAGE_VERSION} failed, the file is unchanged: {error}"
        ) from error
    con.close()
    return True


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def _migrate_pair_sentiment(con: duckdb.DuckDBPyConnection) -> None:
    """Sentiment keyed (headline_id, model) -> (headline_id, ticker, model), keeping every scored row.

    A row of the headline-level layout becomes one row per ticker the headline was tagged with,
    relevance ``direct`` (the tag stood for a mention); a headline tagged with no ticker keeps its
    row under ticker '' with relevance ``none``. ``mart.daily_sentiment`` gains its relevance
    counts as NULL until the next run recomputes it.
    """
    old = _columns(con, "core", "headline_sentiment")
    if old and "ticker" not in old:
        with _write_errors(con), transaction(con):
            con.execute("CREATE TABLE core.headline_sentiment_v1 AS FROM core.headline_sentiment")
            con.execute("DROP TABLE core.headline_sentiment CASCADE")
            con.execute(SCHEMA_SQL)
            con.execute(
                """
                INSERT INTO core.headline_sentiment BY NAME
                SELECT s.headline_id, coalesce(t.ticker, '') AS ticker, s.model, s.model_version,
                       CASE WHEN t.ticker IS NULL THEN 'none' ELSE 'direct' END AS relevance,
                       s.label, s.p_negative, s.p_neutral, s.p_positive, s.score, s.scored_at
                FROM core.headline_sentiment_v1 AS s
                LEFT JOIN (SELECT headline_id, unnest(tickers) AS ticker FROM core.headlines) AS t USING (headline_id)
                """
            )
            con.execute("DROP TABLE core.headline_sentiment_v1")
    mart = _columns(con, "mart", "daily_sentiment")
    if mart and "direct_headlines" not in mart:
        with _write_errors(con), transaction(con):
            con.execute("ALTER TABLE mart.daily_sentiment ADD COLUMN direct_headlines BIGINT")
            con.execute("ALTER TABLE mart.daily_sentiment ADD COLUMN indirect_headlines BIGINT")


MIGRATIONS = (_migrate_pair_sentiment,)
"""Upgrades of an existing warehouse's layout, run in order by every writer before the schema; each is idempotent."""


@contextmanager
def writer(path: str | Path | None = None, wait_s: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection with the schema in place; only Dagster runs and the CLI use it."""
    target = warehouse_path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WarehouseError(f"cannot create the warehouse folder {target.parent}: {error}") from error
    con = open_connection(target, read_only=False, wait_s=wait_s)
    try:
        for migrate in MIGRATIONS:
            migrate(con)
        con.execute(SCHEMA_SQL)
        con.execute(MACROS_SQL.read_text(encoding="utf-8"))
        con.execute(SENTIMENT_MACROS_SQL.read_text(encoding="utf-8"))
        con.execute(COMMENTS_SQL.read_text(encoding="utf-8"))  # last: CREATE OR REPLACE drops comments
        yield con
    finally:
        con.close()


@contextmanager
def reader(path: str | Path | None = None, wait_s: float = 30.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-only connection; retries while a writer holds the file."""
    target = warehouse_path(path)
    if not target.exists():
        raise WarehouseError(f"no warehouse at {target}: run `impact demo` or `impact ingest` first")
    con = open_connection(target, read_only=True, wait_s=wait_s)
    try:
        yield con
    finally:
        con.close()


def query(sql: str, params: Sequence[object] | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """Run one read-only query and return a DataFrame, holding the file only for that query."""
    with reader(path) as con:
        return con.execute(sql, params or []).df()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: commit when the block succeeds, roll back and re-raise when it does not."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def _write_errors(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Name the warehouse when a write fails (disk full, read-only file), keeping DuckDB's own reason."""
    try:
        yield
    except duckdb.Error as error:
        raise WarehouseError(f"cannot write warehouse {_database_file(con)}: {error}") from error


def _database_file(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return rows[0][0] if rows and rows[0][0] else "(in memory)"


def _now() -> datetime:
    return datetime.now(UTC)


def replace_prices(
    con: duckdb.DuckDBPyConnection,
    prices: pd.DataFrame,
    start: date,
    end: date,
    tickers: Sequence[str],
    run_id: str | None = None,
) -> int:
    """Replace ``tickers``' bars from ``start`` to ``end`` with ``prices`` in one transaction.

    ``prices`` is a validated canonical frame (pipelines.sources.base). Re-running the same range
    leaves identical rows: nothing outside the range or the tickers is touched.
    """
    if prices.empty:
        raise ValueError("replace_prices needs rows; an empty answer is a source error")
    outside = prices[(prices["date"].dt.date < start) | (prices["date"].dt.date > end)]
    if not outside.empty:
        first = outside.iloc[0]
        raise ValueError(f"ticker {first['ticker']} date {first['date'].date()} lies outside the partition {start}..{end}")
    frame = prices.assign(ingested_at=_now(), run_id=run_id)
    frame["date"] = frame["date"].dt.date
    sources = sorted(frame["source"].unique())
    con.register("incoming_prices", frame)
    try:
        with _write_errors(con), transaction(con):
            con.execute(
                "DELETE FROM raw.prices WHERE source IN (SELECT unnest(?)) AND ticker IN (SELECT unnest(?)) "
                "AND date BETWEEN ? AND ?",
                [sources, list(tickers), start, end],
            )
            con.execute(
                "INSERT INTO raw.prices BY NAME SELECT source, ticker, date, open, high, low, close, adj_close, "
                "volume, split_ratio, dividend, ingested_at, run_id FROM incoming_prices"
            )
            con.execute(
                "DELETE FROM core.prices WHERE ticker IN (SELECT unnest(?)) AND date BETWEEN ? AND ?",
                [list(tickers), start, end],
            )
            con.execute(
                "INSERT INTO core.prices BY NAME SELECT ticker, date, open, high, low, close, adj_close, volume, "
                "split_ratio, dividend, source, ingested_at FROM incoming_prices"
            )
            _log_ingestion(con, "prices", ",".join(sources), start, end, len(frame), run_id)
    finally:
        con.unregister("incoming_prices")
    return len(frame)


def replace_headlines(
    con: duckdb.DuckDBPyConnection,
    headlines: pd.DataFrame,
    start: date,
    end: date,
    sources: Sequence[str],
    run_id: str | None = None,
) -> int:
    """Replace what ``sources`` delivered for New York dates ``start``..``end``, then rebuild core rows.

    ``headlines`` is a validated canonical frame; its ``source`` column may hold several names
    joined by commas when one source's duplicates were merged. core.headlines is rebuilt for the
    range from every source in raw, so a story seen by two sources is one row with both named.
    """
    from models.calendar import align_many

    frame = headlines.copy()
    frame["ny_date"] = frame["published_at"].dt.tz_convert("America/New_York").dt.date
    frame["session_date"] = align_many(frame["published_at"]).date
    outside = frame[(frame["ny_date"] < start) | (frame["ny_date"] > end)]
    if not outside.empty:
        raise ValueError(f"headline {outside.iloc[0]['headline_id']} lies outside the partition {start}..{end}")
    frame["ingested_at"] = _now()
    frame["run_id"] = run_id
    con.register("incoming_headlines", frame)
    try:
        with _write_errors(con), transaction(con):
            con.execute(
                "DELETE FROM raw.headlines WHERE source IN (SELECT unnest(?)) AND ny_date BETWEEN ? AND ?",
                [list(sources), start, end],
            )
            con.execute(
                "INSERT INTO raw.headlines BY NAME SELECT source, headline_id, ny_date, session_date, published_at, title, "
                "summary, url, publisher, tickers, ingested_at, run_id FROM incoming_headlines"
            )
            # A story's id is fixed by its UTC day, so its copies can straddle two New York dates:
            # rebuild every story touched by the range from all of its raw copies.
            con.execute(
                "CREATE OR REPLACE TEMP TABLE touched_headlines AS "
                "SELECT headline_id FROM raw.headlines WHERE ny_date BETWEEN $1 AND $2 "
                "UNION SELECT headline_id FROM core.headlines WHERE ny_date BETWEEN $1 AND $2",
                [start, end],
            )
            con.execute("DELETE FROM core.headlines WHERE headline_id IN (SELECT headline_id FROM touched_headlines)")
            con.execute(
                """
                INSERT INTO core.headlines BY NAME
                SELECT headline_id,
                       min(ny_date) AS ny_date,
                       min(session_date) AS session_date,
                       min(published_at) AS published_at,
                       arg_min(title, published_at) AS title,
                       arg_min(summary, published_at) FILTER (WHERE summary IS NOT NULL) AS summary,
                       arg_min(url, published_at) FILTER (WHERE url IS NOT NULL) AS url,
                       arg_min(publisher, published_at) FILTER (WHERE publisher IS NOT NULL) AS publisher,
                       list_sort(list_distinct(flatten(list(tickers)))) AS tickers,
                       string_agg(DISTINCT source, ',' ORDER BY source) AS source,
                       max(ingested_at) AS ingested_at
                FROM raw.headlines
                WHERE headline_id IN (SELECT headline_id FROM touched_headlines)
                GROUP BY headline_id
                """
            )
            con.execute("DROP TABLE touched_headlines")
            _log_ingestion(con, "headlines", ",".join(sorted(sources)), start, end, len(frame), run_id)
    finally:
        con.unregister("incoming_headlines")
    return len(frame)


def _log_ingestion(
    con: duckdb.DuckDBPyConnection, dataset: str, source: str, start: date, end: date, rows: int, run_id: str | None
) -> None:
    con.execute(
        "INSERT INTO raw.ingestions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [dataset, source, start, end, rows, _now(), run_id],
    )


def replace_pair_sentiment(
    con: duckdb.DuckDBPyConnection, scored: pd.DataFrame, current_pairs: pd.DataFrame, model: str
) -> tuple[int, int]:
    """Upsert ``model``'s scored pairs and drop the rows that no longer apply, in one transaction.

    ``current_pairs`` (headline_id, ticker) is every pair the headlines concern today: a row of
    ``model`` outside it (the story was re-ingested away, or a company profile changed the link)
    is removed, as is any model's row whose headline left core.headlines. Returns (written, removed).
    """
    con.register("incoming_sentiment", scored)
    con.register("current_pairs", current_pairs)
    try:
        with _write_errors(con), transaction(con):
            if len(scored):  # an empty frame's object columns carry no list type to insert
                con.execute(
                    "DELETE FROM core.headline_sentiment WHERE model = ? AND (headline_id, ticker) IN "
                    "(SELECT (headline_id, ticker) FROM incoming_sentiment)",
                    [model],
                )
                con.execute(
                    "INSERT INTO core.headline_sentiment BY NAME SELECT headline_id, ticker, model, model_version, "
                    "relevance, relation, via, label, p_negative, p_neutral, p_positive, score, scored_at "
                    "FROM incoming_sentiment"
                )
            removed = con.execute(
                "DELETE FROM core.headline_sentiment WHERE headline_id NOT IN (SELECT headline_id FROM core.headlines) "
                "OR (model = ? AND (headline_id, ticker) NOT IN (SELECT (headline_id, ticker) FROM current_pairs))",
                [model],
            ).fetchall()[0][0]
    finally:
        con.unregister("incoming_sentiment")
        con.unregister("current_pairs")
    return len(scored), int(removed)
