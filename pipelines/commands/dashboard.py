"""``impact dashboard`` (serve the Dash app) and ``impact report`` (static event report).

pipelines.cli mounts the two functions as commands; ``app`` here holds the same two commands so
the module also runs alone: ``python -m pipelines.commands.dashboard dashboard --port 8050``.
Dash is imported only when a command runs, so ``impact --help`` stays fast.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipelines import warehouse as wh

console = Console(stderr=True)

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB file (default: $IMPACT_WAREHOUSE or data/warehouse.duckdb)."),
]


def _require_warehouse(path: Path | None) -> Path:
    target = wh.warehouse_path(path)
    if not target.exists():
        console.print(f"[red]no warehouse at {target}[/]: run `impact demo` (simulated data) or `impact ingest` first")
        raise typer.Exit(2)
    return target


def dashboard(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8050,
    host: Annotated[str, typer.Option(help="Interface to bind (default loopback only).")] = "127.0.0.1",
    warehouse: WarehouseOption = None,
) -> None:
    """Serve the dashboards (overview, event explorer, ticker view, sentiment vs returns), read-only; Ctrl-C stops."""
    target = _require_warehouse(warehouse)
    from dashboards.app import create_app

    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        console.print(f"[yellow]serving on {host}: the dashboards are reachable from other machines[/]")
    app = create_app(target)
    console.print(f"Dashboards on http://{host}:{port}/ (warehouse {target}, read-only). Ctrl-C stops.")
    app.run(host=host, port=port, debug=False)


def report(
    event: Annotated[str, typer.Option("--event", help="event_id, e.g. deepseek-r1-release.")],
    out: Annotated[Path, typer.Option("--out", help="HTML file, or for png the file stem / folder of the images.")] = Path("report.html"),
    format: Annotated[str, typer.Option("--format", help="html (one self-contained file) or png (one image per figure).")] = "html",
    warehouse: WarehouseOption = None,
) -> None:
    """Write an event's figures and tables as one offline HTML file (or PNG images)."""
    target = _require_warehouse(warehouse)
    from dashboards.report import ReportError, build_report

    try:
        written = build_report(event, out, format=format, warehouse_path=target)
    except ReportError as error:
        console.print(f"[red]report failed:[/] {error}")
        raise typer.Exit(1) from error
    for path in written:
        print(path)


app = typer.Typer(help="Dashboards and reports.", no_args_is_help=True, pretty_exceptions_enable=False)
app.command()(dashboard)
app.command()(report)

if __name__ == "__main__":
    sys.exit(app())
