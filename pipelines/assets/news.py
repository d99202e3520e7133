"""News domain: the daily ``headlines`` asset and its data-quality checks."""

import dagster as dg
import pandas as pd

from pipelines import warehouse as wh
from pipelines.assets.market import writer_or_failure
from pipelines.assets.quality import ALL_DATES, check_result, partition_scope, read_frame, row_check
from pipelines.errors import DataValidationError, ImpactError, SourceError, TransientSourceError
from pipelines.partitions import NETWORK_RETRY, news_partitions, partition_dates, permanent_failure
from pipelines.resources import NewsSourceResource, WarehouseResource
from pipelines.warehouse import checks


@dg.asset(
    key=["core", "headlines"],
    group_name="news",
    partitions_def=news_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=NETWORK_RETRY,
    kinds={"duckdb", "python"},
    metadata={"partition_expr": "ny_date", "key": "headline_id"},
    description="Headlines per New York calendar day from every configured source, deduplicated into one row per story.",
)
def headlines(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, news_source: NewsSourceResource
) -> dg.MaterializeResult:
    start, end = partition_dates(context)
    tickers = list(news_source.tickers)
    frames = []
    per_source: dict[str, int] = {}
    for source in news_source.build():
        try:
            frame = source.fetch_headlines(tickers, start, end)
        except TransientSourceError as error:
            context.log.warning(f"transient source failure, the retry policy decides what follows: {error}")
            raise
        except ImpactError as error:
            raise permanent_failure(error) from error
        context.log.info(f"'{source.name}': {len(frame)} headlines for {start}..{end}")
        per_source[source.name] = len(frame)
        frames.append(frame)
    incoming = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    with writer_or_failure(warehouse) as con:
        # A quiet day is legitimate, but a source that answers nothing for a range where it delivered
        # stories before is failing (an empty answer is an error, not zero rows): replacing would erase them.
        for name in [n for n, count in per_source.items() if count == 0]:
            held = con.execute(
                "SELECT count(*) FROM raw.headlines WHERE source = ? AND ny_date BETWEEN ? AND ?", [name, start, end]
            ).fetchall()[0][0]
            if held:
                raise permanent_failure(
                    SourceError(
                        name,
                        f"no headlines for {start}..{end}, where the warehouse holds {held} from this source; "
                        "refusing to erase them (check the source, then re-run)",
                    )
                )
        try:
            rows = wh.replace_headlines(con, incoming, start, end, list(per_source), run_id=context.run.run_id)
        except DataValidationError as error:  # a headline the warehouse's blocking checks refused: nothing was written
            raise permanent_failure(error) from error
        stories = con.execute(
            "SELECT count(*) FROM core.headlines WHERE ny_date BETWEEN ? AND ?", [start, end]
        ).fetchall()[0][0]
    return dg.MaterializeResult(
        metadata={
            "rows": rows,
            "stories": int(stories),
            "first_date": str(start),
            "last_date": str(end),
            **{f"rows_{name}": n for name, n in per_source.items()},
        }
    )


DUPLICATES_SQL = """
        WITH keyed AS (  -- the partition's stories, and those that could duplicate one: same URL, or within a day
            SELECT headline_id, ny_date, published_at, title, url,
                   lower(regexp_replace(trim(title), '\\s+', ' ', 'g')) AS norm_title
            FROM core.headlines
            WHERE ny_date BETWEEN CAST($start AS DATE) - 2 AND CAST($end AS DATE) + 2
               OR url IN (SELECT url FROM core.headlines WHERE ny_date BETWEEN $start AND $end)
        )
        SELECT a.headline_id AS first_id, b.headline_id AS second_id, a.title, a.url
        FROM keyed AS a JOIN keyed AS b
          ON a.headline_id <> b.headline_id
         AND (a.headline_id < b.headline_id OR b.ny_date NOT BETWEEN $start AND $end)  -- each pair once
         AND ((a.url IS NOT NULL AND a.url = b.url)
              OR (a.norm_title = b.norm_title AND abs(epoch(a.published_at) - epoch(b.published_at)) < 86400))
        WHERE a.ny_date BETWEEN $start AND $end
        ORDER BY a.published_at
        """
"""Pairs of stories that are one: the partition's stories against those that could repeat them."""


@dg.asset_check(
    asset=headlines, description="No story appears twice under different ids (same URL or same title within a day)."
)
def no_duplicate_headlines(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    scope = partition_scope(context)
    start, end = scope or ALL_DATES
    with warehouse.writer() as con:
        dupes = read_frame(con, DUPLICATES_SQL, {"start": start, "end": end})
    return check_result(dupes, "duplicate stories", scope)


@dg.asset_check(asset=headlines, blocking=True, description=checks.HEADLINES_WELL_FORMED.description)
def headlines_well_formed(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.writer() as con:
        return row_check(con, checks.HEADLINES_WELL_FORMED, "core.headlines", partition_scope(context))
