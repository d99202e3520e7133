"""Dollar impact domain: the event-study marts in dollars (``mart.event_dollars``, ``mart.event_dollar_windows``).

Part of the analyze job: recomputed whole after the study marts, from them and the market value per session
(core.prices x core.shares); the SQL lives in ``pipelines.warehouse.dollars``.
"""

import dagster as dg

from pipelines.resources import WarehouseResource
from pipelines.warehouse.dollars import rebuild_event_dollars

DOLLAR_TABLES = ("mart.event_dollars", "mart.event_dollar_windows")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            table.split("."),
            deps=[
                dg.AssetKey(["mart", "abnormal_returns"]),
                dg.AssetKey(["mart", "event_windows"]),
                dg.AssetKey(["core", "prices"]),  # and core.shares, which the prices asset writes with them
            ],
            group_name="event_study",
            automation_condition=dg.AutomationCondition.eager(),
            kinds={"duckdb", "sql"},
        )
        for table in DOLLAR_TABLES
    ],
    description="Market value at the prior close, dollar change, dollar abnormal change (AR x market value) per "
    "firm-event and session, and CAR in dollars per window; NULL with a reason where shares are missing.",
)
def event_dollars(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.writer() as con:
        rows, valued = rebuild_event_dollars(con)
        windows = con.execute("SELECT count(*) FROM mart.event_dollar_windows").fetchall()[0][0]
    if valued < rows:
        context.log.info(f"{rows - valued} of {rows} firm-event sessions without a market value (reason in the mart)")
    yield dg.MaterializeResult(
        asset_key=["mart", "event_dollars"], metadata={"rows": rows, "with_market_value": valued}
    )
    yield dg.MaterializeResult(asset_key=["mart", "event_dollar_windows"], metadata={"rows": int(windows)})


DOLLAR_ASSETS = [event_dollars]
