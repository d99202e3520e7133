"""``impact dashboard`` (serve the Dash app) and ``impact report`` (static event report).

pipelines.cli mounts the two functions as commands; ``app`` here holds the same two commands so
the module also runs alone: ``python -m pipelines.commands.dashboard dashboard --port 8050``.
Dash is imported only when a command runs, so ``impact --help`` stays fast.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipelines import warehouse as wh
from pipelines.commands.handler import ImpactGroup
from pipelines.errors import WarehouseError
from pipelines.outputs import check_output, output_file

console = Console(stderr=True)

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB file (default: $IMPACT_WAREHOUSE or data/warehouse.duckdb)."),
]


def _require_warehouse(path: Path | None) -> Path:
    target = wh.warehouse_path(path)
    if not target.exists():
        raise WarehouseError(f"no warehouse at {target}: run `impact demo` (simulated data) or `impact ingest` first")
    return target


def _is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine (127.0.0.0/8, ::1, localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def dashboard(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8050,
    host: Annotated[str, typer.Option(help="Interface to bind (default loopback only; others need --allow-remote).")] = "127.0.0.1",
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Allow binding beyond loopback: other machines can "
                                               "then read the dashboards (no login).")] = False,
    allowed_host: Annotated[list[str] | None, typer.Option("--allowed-host", help="A Host name the browser may use besides "
                                                           "127.0.0.1, localhost and --host (repeatable; also "
                                                           "$IMPACT_DASHBOARD_ALLOWED_HOSTS).")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Serve the dashboards (overview, event explorer, ticker view, sentiment vs returns), read-only; Ctrl-C stops."""
    from pipelines.settings import value

    if not _is_loopback(host) and not allow_remote:
        raise typer.BadParameter(f"{host} is not a loopback interface: the dashboards would be readable from other "
                                 "machines, without a login. Pass --allow-remote to do it anyway.", param_hint="'--host'")
    target = _require_warehouse(warehouse)
    from dashboards.app import create_app
    from dashboards.security import allowed_hosts

    hosts = allowed_hosts(host, [*value("IMPACT_DASHBOARD_ALLOWED_HOSTS"), *(allowed_host or [])])
    if not _is_loopback(host):
        console.print(f"[yellow]serving on {host}: the dashboards are reachable from other machines[/] (they answer "
                      "only the Host names below: add the name browsers use with --allowed-host)")
    app = create_app(target, hosts=hosts)
    console.print(f"Dashboards on http://{host}:{port}/ (warehouse {target}, read-only; Host names "
                  f"{', '.join(hosts)}). Ctrl-C stops.")
    app.run(host=host, port=port, debug=False)


def report(
    event: Annotated[str, typer.Option("--event", help="event_id, e.g. deepseek-r1-release.")],
    out: Annotated[Path, typer.Option("--out", help="HTML file, or for png the file stem / folder of the images.")] = Path("report.html"),
    format: Annotated[str, typer.Option("--format", help="html (one self-contained file) or png (one image per figure).")] = "html",
    force: Annotated[bool, typer.Option("--force", help="Replace existing output files.")] = False,
    warehouse: WarehouseOption = None,
) -> None:
    """Write an event's figures and tables as one offline HTML file (or PNG images)."""
    target = _require_warehouse(warehouse)
    from dashboards.report import ReportError, build_report

    try:
        if format == "png":
            written = _write_images(event, out, force, target)
        else:
            with output_file(out, force=force, warehouse_file=target) as temporary:
                build_report(event, temporary, format=format, warehouse_path=target)
            written = [out]
    except ReportError as error:
        console.print(f"[red]report failed:[/] {error}")
        raise typer.Exit(1) from error
    for path in written:
        print(path)


def _write_images(event: str, out: Path, force: bool, warehouse: Path) -> list[Path]:
    """The png report, built in a staging folder beside ``out`` and moved into place only once every image exists
    and may be written (pipelines.outputs.check_output)."""
    from dashboards.report import build_report

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=out.parent))
    try:
        if out.is_dir():
            (staging / out.name).mkdir()
        images = build_report(event, staging / out.name, format="png", warehouse_path=warehouse)
        targets = [out.parent / image.relative_to(staging) for image in images]
        for destination in targets:
            check_output(destination, force=force, warehouse_file=warehouse)
        for image, destination in zip(images, targets, strict=True):
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(image, destination)
        return targets
    finally:
        shutil.rmtree(staging, ignore_errors=True)


app = typer.Typer(help="Dashboards and reports.", no_args_is_help=True, pretty_exceptions_enable=False, cls=ImpactGroup)
app.command()(dashboard)
app.command()(report)

if __name__ == "__main__":
    sys.exit(app())
