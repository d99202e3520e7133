"""The warehouse layout: schemas, tables and views, the stored macros and comments, and the migrations.

``prepare`` brings any writer's connection to the current layout: it marks a new file (or adopts an
impact warehouse from before the marker), runs the migrations the file's schema version lacks, in
order, then creates or replaces the schema, the macros and the comments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import duckdb

from pipelines.errors import WarehouseError
from pipelines.warehouse.connection import database_file, transaction, write_errors
from pipelines.warehouse.identity import (
    APP,
    has_meta_table,
    package_version,
    read_marker,
    set_version,
    stored_objects,
    write_marker,
)

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

-- Shares outstanding as each source stated them: one observation per (source, ticker, as-of date).
CREATE TABLE IF NOT EXISTS raw.shares (
    source       VARCHAR   NOT NULL,
    ticker       VARCHAR   NOT NULL,
    date         DATE      NOT NULL,
    shares       DOUBLE    NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR,
    PRIMARY KEY (source, ticker, date)
);

-- Shares outstanding per ticker and session: the latest observation on or before it, scaled by later splits.
CREATE TABLE IF NOT EXISTS core.shares (
    ticker       VARCHAR   NOT NULL,
    date         DATE      NOT NULL,
    shares       DOUBLE    NOT NULL,
    source       VARCHAR   NOT NULL,
    as_of        DATE      NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ticker, date)
);

-- Market value and dollar moves per firm-event and session (tau): return x prior-close market value.
CREATE TABLE IF NOT EXISTS mart.event_dollars (
    event_id VARCHAR NOT NULL, ticker VARCHAR NOT NULL, own BOOLEAN NOT NULL, tau INTEGER NOT NULL, date DATE NOT NULL,
    prior_date DATE, prior_close DOUBLE, shares DOUBLE, market_value DOUBLE,
    ret DOUBLE, ar DOUBLE, dollar_change DOUBLE, dollar_abnormal DOUBLE, reason VARCHAR,
    PRIMARY KEY (event_id, ticker, tau)
);

-- CAR in dollars per firm-event and window: CAR x the market value at the close before the window.
CREATE TABLE IF NOT EXISTS mart.event_dollar_windows (
    event_id VARCHAR NOT NULL, ticker VARCHAR NOT NULL, "window" VARCHAR NOT NULL,
    tau_start INTEGER NOT NULL, tau_end INTEGER NOT NULL, prior_date DATE, market_value DOUBLE,
    car DOUBLE, dollar_car DOUBLE, dollar_change DOUBLE, reason VARCHAR,
    PRIMARY KEY (event_id, ticker, "window")
);

-- Per event and session, the totals across its own tickers (those with a market value; spillovers apart).
CREATE OR REPLACE VIEW mart.event_dollar_totals AS
SELECT event_id, tau, any_value(date) AS date, count(*) AS tickers, count(market_value) AS valued,
       sum(market_value) AS market_value, sum(dollar_change) AS dollar_change, sum(dollar_abnormal) AS dollar_abnormal
FROM mart.event_dollars WHERE own GROUP BY event_id, tau;

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

-- Intraday bars as each source delivered them (duplicated minutes dropped); one row per (source, ticker, interval, ts),
-- kept by the write (pipelines/warehouse/intraday.py), not by a key: an index would cost more than the load.
CREATE TABLE IF NOT EXISTS raw.bars_intraday (
    source VARCHAR NOT NULL, ticker VARCHAR NOT NULL, "interval" VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL,
    date DATE NOT NULL, session VARCHAR NOT NULL,
    open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL, volume BIGINT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL, run_id VARCHAR
);

-- Intraday bars per ticker and interval, stamped with their start in UTC; session 'pre' | 'regular' | 'post'.
CREATE TABLE IF NOT EXISTS core.bars_intraday (
    ticker VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, "interval" VARCHAR NOT NULL,
    open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL, volume BIGINT NOT NULL,
    session VARCHAR NOT NULL, date DATE NOT NULL, source VARCHAR NOT NULL, ingested_at TIMESTAMPTZ NOT NULL
);

-- The reaction in event time per firm-event and measure (models/intraday.py), from the intraday bars.
CREATE TABLE IF NOT EXISTS mart.intraday_reaction (
    event_id VARCHAR NOT NULL, ticker VARCHAR NOT NULL, measure VARCHAR NOT NULL, position INTEGER NOT NULL,
    day0 DATE NOT NULL, announced_at TIMESTAMPTZ, timing VARCHAR NOT NULL, note VARCHAR,
    ref_at TIMESTAMPTZ, ref_price DOUBLE, "at" TIMESTAMPTZ, price DOUBLE, ret DOUBLE,
    benchmark VARCHAR, bench_ret DOUBLE, beta DOUBLE, beta_source VARCHAR, abnormal DOUBLE,
    "interval" VARCHAR, computed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, ticker, measure)
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

-- Event-study results per firm-event (one study per event and sample: its firms share day0).
CREATE TABLE IF NOT EXISTS mart.event_estimates (
    event_id VARCHAR NOT NULL, ticker VARCHAR NOT NULL, sample VARCHAR NOT NULL, day0 DATE NOT NULL,
    model VARCHAR NOT NULL,
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
    event_id VARCHAR NOT NULL, sample VARCHAR NOT NULL, "window" VARCHAR NOT NULL,
    tau_start INTEGER NOT NULL, tau_end INTEGER NOT NULL,
    n INTEGER, caar DOUBLE, median_car DOUBLE, sd_car DOUBLE, abhar DOUBLE, share_positive DOUBLE,
    rbar DOUBLE, clustered BOOLEAN,
    PRIMARY KEY (event_id, sample, "window")
);

-- The test battery per event and window (Patell, BMP, Kolari-Pynnönen, Corrado, Cowan, ...).
CREATE TABLE IF NOT EXISTS mart.event_tests (
    event_id VARCHAR NOT NULL, sample VARCHAR NOT NULL, "window" VARCHAR NOT NULL,
    tau_start INTEGER NOT NULL, tau_end INTEGER NOT NULL,
    test VARCHAR NOT NULL, statistic DOUBLE, p_value DOUBLE, df DOUBLE, n INTEGER, method VARCHAR,
    clustered BOOLEAN, adjusts_cross_correlation BOOLEAN,
    PRIMARY KEY (event_id, sample, "window", test)
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
        con.execute("ALTER TABLE mart.daily_sentiment ADD COLUMN direct_headlines BIGINT")
        con.execute("ALTER TABLE mart.daily_sentiment ADD COLUMN indirect_headlines BIGINT")


STUDY_MARTS = (
    "mart.event_estimates",
    "mart.abnormal_returns",
    "mart.event_windows",
    "mart.event_aggregates",
    "mart.event_tests",
)
"""The event-study marts, written together by the analyze job."""


def _migrate_study_samples(con: duckdb.DuckDBPyConnection) -> None:
    """Event-study marts per sample (the event's own tickers, 'event', and the others, 'spillover'): the stored
    studies mixed both, so they are dropped (every event-study mart emptied together) and the next analyze
    re-fills them; until then ``impact study`` re-fits from prices and says so."""
    if _columns(con, "mart", "event_estimates") and "sample" not in _columns(con, "mart", "event_estimates"):
        for table in ("mart.event_estimates", "mart.event_aggregates", "mart.event_tests"):
            con.execute(f"DROP TABLE {table} CASCADE")
        con.execute(SCHEMA_SQL)
        for table in STUDY_MARTS:
            con.execute(f"DELETE FROM {table}")


class Migration(NamedTuple):
    """One step of the layout: ``apply`` brings a file at the previous version to ``version``."""

    version: int
    apply: Callable[[duckdb.DuckDBPyConnection], None]


BASELINE_VERSION = 1
"""The version an impact warehouse from before the marker is adopted at: it may have any layout up to the
current one, so every migration checks the layout before changing it (and changes nothing when it is there)."""

MIGRATIONS: list[Migration] = [
    Migration(2, _migrate_pair_sentiment),
    Migration(3, _migrate_study_samples),
]
"""The layout's versions after the baseline, in order; each runs once, in one transaction with the marker's bump.
Add a new one at the end with the next version."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The schema version this code writes (the last migration's)."""


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Mark or adopt the file, migrate it to the current version, then create or replace the schema, the macros and
    (last: CREATE OR REPLACE drops them) the comments, unless the file already has exactly this layout
    (``meta.layout``'s digest).

    A file whose marker is newer than this code's layout is refused, unchanged.
    """
    path = database_file(con)
    latest = MIGRATIONS[-1].version if MIGRATIONS else BASELINE_VERSION
    marker = read_marker(con, path)
    with write_errors(con):
        if marker is None:
            version = BASELINE_VERSION if stored_objects(con) else latest
            with transaction(con):
                write_marker(con, version)
        else:
            version = marker.schema_version
        if version > latest:
            raise WarehouseError(
                f"{path} has warehouse schema version {version}, newer than version {latest} that {APP} "
                f"{package_version()} knows: upgrade {APP} to use this file (or pass another path)"
            )
        for migration in MIGRATIONS:
            if migration.version > version:
                with transaction(con):
                    migration.apply(con)
                    set_version(con, migration.version)
        scripts = [SCHEMA_SQL, *(path.read_text(encoding="utf-8") for path in LAYOUT_FILES)]
        digest = hashlib.sha256("\n".join(scripts).encode()).hexdigest()
        if _applied_layout(con) == digest:
            return  # nothing to replace: the file keeps its bytes, and opening a writer stays cheap
        with transaction(con):
            for script in scripts:
                con.execute(script)
            con.execute(LAYOUT_SQL)
            con.execute("DELETE FROM meta.layout")
            con.execute("INSERT INTO meta.layout VALUES (?, now())", [digest])


LAYOUT_FILES = (MACROS_SQL, SENTIMENT_MACROS_SQL, COMMENTS_SQL)
"""Run after SCHEMA_SQL in this order (the comments last: CREATE OR REPLACE drops them)."""

LAYOUT_SQL = """
CREATE TABLE IF NOT EXISTS meta.layout (digest VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL);
COMMENT ON TABLE meta.layout IS 'SHA-256 of the schema, macros and comments last applied to this file: a writer re-applies them only when its own differ.';
"""


def _applied_layout(con: duckdb.DuckDBPyConnection) -> str | None:
    """The digest of the layout last applied to the connected file (None before any was recorded)."""
    if not has_meta_table(con, "layout"):
        return None
    rows = con.execute("SELECT digest FROM meta.layout").fetchall()
    return rows[0][0] if len(rows) == 1 else None
