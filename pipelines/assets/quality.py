"""Helpers shared by the asset checks: the partition a run wrote, reads of the warehouse, results.

A check looks at the rows of the partition its run just wrote (the whole table when run without a
partition), so an old bad row elsewhere cannot block every later ingest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from pipelines.partitions import partition_dates
from pipelines.warehouse import checks

ALL_DATES = (date(1900, 1, 1), date(9999, 12, 1))
"""The scope of a check run without a partition: every row (a full scan)."""


def partition_scope(context: dg.AssetCheckExecutionContext) -> tuple[date, date] | None:
    """First and last New York date of the partition(s) this run wrote; None outside a partitioned run."""
    op = context.op_execution_context
    if not (op.has_partition_key or op.has_partition_key_range):
        return None
    return partition_dates(op)


def check_result(
    failures: pd.DataFrame,
    what: str,
    scope: tuple[date, date] | None,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """Pass when ``failures`` is empty; otherwise show the count and the first offending rows."""
    metadata: dict[str, Any] = {
        "failures": len(failures),
        "scope": f"{scope[0]}..{scope[1]}" if scope else "whole table",
    }
    if len(failures):
        metadata["examples"] = dg.MetadataValue.json(failures.head(10).astype(str).to_dict(orient="records"))
    return dg.AssetCheckResult(
        passed=failures.empty,
        severity=severity,
        metadata=metadata,
        description=f"{len(failures)} {what}" if len(failures) else f"no {what}",
    )


def read_frame(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Run a check's query on the warehouse (checks run inside the writer's run: the writer's connection, no reader)."""
    return con.execute(sql, params or {}).df()


def row_check(
    con: duckdb.DuckDBPyConnection, check: checks.RowCheck, table: str, scope: tuple[date, date] | None
) -> dg.AssetCheckResult:
    """Run one of the warehouse's row rules (``pipelines.warehouse.checks``) on the rows of ``scope`` (all when None)."""
    bad = checks.violations(con, check, table, *(scope or (None, None)))
    return check_result(bad, check.failures, scope)
