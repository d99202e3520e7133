"""Event-study domain: the event table (curated + detected), daily abnormal returns and the study marts.

Recomputed whenever prices, headlines or the catalogue change (eager automation; the catalogue is
an observable source whose data version is the file's hash).
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from pipelines import study
from pipelines.catalog import catalog_version, load_catalog
from pipelines.errors import ImpactError
from pipelines.partitions import permanent_failure
from pipelines.resources import WarehouseResource
from pipelines.warehouse import replace_table, replace_tables

PRICES = dg.AssetKey(["core", "prices"])
HEADLINES = dg.AssetKey(["core", "headlines"])
CATALOG_KEY = dg.AssetKey(["data", "event_catalog"])
EAGER = dg.AutomationCondition.eager()


@dg.observable_source_asset(
    key=CATALOG_KEY,
    group_name="event_study",
    description="The event catalogues (data/events.yaml and the user's, IMPACT_USER_EVENTS); data version: their SHA-256.",
)
def event_catalog() -> dg.DataVersion:
    return dg.DataVersion(catalog_version())


def _now() -> datetime:
    return datetime.now(UTC)


@dg.asset(
    key=["mart", "daily_abnormal_returns"],
    deps=[PRICES],
    group_name="event_study",
    automation_condition=EAGER,
    kinds={"duckdb", "python"},
    description="Market-model (SPY) abnormal return of every stock on every session, estimation window [-250,-11].",
)
def daily_abnormal_returns(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.writer() as con:
        returns = study.load_returns(con)
        daily = study.daily_abnormal_returns(returns).assign(computed_at=_now())
        replace_table(con, "mart.daily_abnormal_returns", daily)
    context.log.info(f"{len(daily)} stock-sessions with a full estimation window")
    return dg.MaterializeResult(
        metadata={
            "rows": len(daily),
            "tickers": int(daily["ticker"].nunique()),
            "abs_sar_above_4": int((daily["sar"].abs() >= study.DETECTION_THRESHOLD).sum()),
        }
    )


@dg.asset(
    key=["core", "events"],
    deps=[CATALOG_KEY, HEADLINES, dg.AssetKey(["mart", "daily_abnormal_returns"])],
    group_name="event_study",
    automation_condition=EAGER,
    kinds={"duckdb", "python"},
    description="Curated events aligned to their day0 session, plus sessions with |SAR| >= 4 linked to their headlines.",
)
def events(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    try:
        curated = load_catalog()
    except ImpactError as error:
        raise permanent_failure(error) from error
    curated = curated.assign(origin="curated").drop(columns=["claimed_moves"])
    with warehouse.writer() as con:
        daily = con.execute("SELECT ticker, date, ar, sar FROM mart.daily_abnormal_returns").df()
        linked = con.execute("SELECT headline_id, ticker, session_date FROM core.headline_tickers").df()
        linked["session_date"] = pd.to_datetime(linked["session_date"])
        detected = study.detect_events(daily.assign(date=pd.to_datetime(daily["date"])), linked)
        # The detected events bring trigger_sar and headline_ids (NULL for the curated ones).
        table = pd.concat([curated, detected], ignore_index=True) if len(detected) else curated.copy()
        table = table.reindex(columns=[*curated.columns, "trigger_sar", "headline_ids"])
        table["computed_at"] = _now()
        table["day0"] = pd.to_datetime(table["day0"]).dt.date
        replace_table(con, "core.events", table)
    context.log.info(f"{len(curated)} curated and {len(detected)} detected events")
    return dg.MaterializeResult(
        metadata={
            "curated": len(curated),
            "detected": len(detected),
            "detected_with_headlines": int(detected["headline_ids"].map(len).gt(0).sum()) if len(detected) else 0,
        }
    )


STUDY_TABLES = {
    "estimates": "mart.event_estimates",
    "abnormal": "mart.abnormal_returns",
    "windows": "mart.event_windows",
    "aggregates": "mart.event_aggregates",
    "tests": "mart.event_tests",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            table.split("."),
            deps=[PRICES, dg.AssetKey(["core", "events"])],
            group_name="event_study",
            automation_condition=EAGER,
            kinds={"duckdb", "python"},
        )
        for table in STUDY_TABLES.values()
    ],
    description=(
        "Market-model event study (SPY, estimation [-250,-11]) of every event, one study per event and sample "
        "(its own tickers; the other stocks as spillovers)."
    ),
)
def event_study(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.writer() as con:
        returns = study.load_returns(con)
        events_frame = con.execute("SELECT event_id, origin, tickers, day0 FROM core.events").df()
        pairs = study.study_pairs(events_frame, study.stocks_of(returns))
        tables = study.run_event_studies(returns, pairs)
        frames = _mart_frames(tables)
        replace_tables(con, {table: frames[name] for name, table in STUDY_TABLES.items()})
    estimates = frames["estimates"]
    excluded = estimates[estimates["status"] != "ok"]
    if len(excluded):
        context.log.warning(
            f"{len(excluded)} firm-events excluded, e.g. {excluded.iloc[0][['event_id', 'ticker', 'reason']].to_dict()}"
        )
    for name, table in STUDY_TABLES.items():
        yield dg.MaterializeResult(asset_key=table.split("."), metadata={"rows": len(frames[name])})


def _mart_frames(tables: study.StudyTables) -> dict[str, pd.DataFrame]:
    """Rename the model's tidy frames to the mart tables' columns."""
    now = _now()
    estimates = tables.estimates.assign(computed_at=now)
    estimates["day0"] = pd.to_datetime(estimates["day0"]).dt.date
    estimates = estimates[
        [
            "event_id",
            "ticker",
            "sample",
            "day0",
            "model",
            "benchmark",
            "status",
            "reason",
            "n_est",
            "df",
            "alpha",
            "beta",
            "sigma_e",
            "r2",
            "computed_at",
        ]
    ]
    renamed = {"start": "tau_start", "end": "tau_end"}
    return {
        "estimates": estimates,
        "abnormal": tables.abnormal.assign(date=pd.to_datetime(tables.abnormal["date"]).dt.date),
        "windows": tables.windows.rename(columns=renamed),
        "aggregates": tables.aggregates.rename(columns=renamed).drop(columns=["ascar"], errors="ignore"),
        "tests": tables.tests.rename(columns=renamed),
    }


EVENT_ASSETS = [event_catalog, daily_abnormal_returns, events, event_study]
