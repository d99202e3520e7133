"""Helpers shared by the asset checks: read the warehouse, turn offending rows into a check result."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from pipelines.resources import WarehouseResource


def check_result(
    failures: pd.DataFrame, what: str, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckResult:
    """Pass when ``failures`` is empty; otherwise show the count and the first offending rows."""
    metadata: dict[str, object] = {"failures": len(failures)}
    if len(failures):
        metadata["examples"] = dg.MetadataValue.json(failures.head(10).astype(str).to_dict(orient="records"))
    return dg.AssetCheckResult(
        passed=failures.empty, severity=severity, metadata=metadata,
        description=f"{len(failures)} {what}" if len(failures) else f"no {what}",
    )


def read_frame(resource: WarehouseResource, sql: str) -> pd.DataFrame:
    """Run a check's query on the warehouse (checks run inside the writer's run, so no reader lock)."""
    with resource.writer() as con:
        return con.execute(sql).df()
