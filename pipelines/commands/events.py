"""``impact events add``: put your own event in your catalogue (``IMPACT_USER_EVENTS``), with the curated one's checks.

pipelines.cli mounts ``events`` as a group (:func:`events_group`): ``impact events`` alone still lists the
events, ``impact events add ...`` writes one. The analyze job reads the merged catalogue, so `impact analyze`
then studies the new event.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

import typer

from pipelines.commands.handler import ImpactGroup
from pipelines.errors import InputError


def add(
    event_id: Annotated[str, typer.Option("--id", help="A new event id: lower-case letters, digits, '.', '_', '-'.")],
    name: Annotated[str, typer.Option("--name", help="What happened, in a few words.")],
    at: Annotated[
        str,
        typer.Option(
            "--at",
            help="When it became public: '2025-01-27 09:00 America/New_York', "
            "'2025-01-27 14:00 UTC' or ISO-8601 with an offset.",
        ),
    ],
    tickers: Annotated[str, typer.Option("--tickers", help="The stocks it is about, comma-separated, e.g. NVDA,MSFT.")],
    kind: Annotated[str, typer.Option("--kind", help="earnings, model_release, product, policy, corporate or macro.")],
    description: Annotated[str, typer.Option("--description", help="One or two sentences.")] = "",
) -> None:
    """Add an event to your catalogue (IMPACT_USER_EVENTS); `impact analyze` then studies it."""
    from pipelines.catalog import add_user_event, parse_announced
    from pipelines.universe import split_names

    try:
        announced = parse_announced(at)
    except ValueError as error:
        raise InputError(f"--at {at!r}: {error}") from None
    entry: dict[str, object] = {
        "event_id": event_id.strip(),
        "name": name.strip(),
        "kind": kind.strip(),
        "announced_at": announced.isoformat(),
        "tickers": [t.upper() for t in split_names(tickers)],
        "description": description.strip(),
    }
    path, event = add_user_event(entry)
    typer.echo(
        f"added {event['event_id']} (day0 {event['day0']:%Y-%m-%d}, rule {event['day0_rule']}; tickers "
        f"{' '.join(event['tickers'])}) to {path}. Run `impact analyze` to study it."
    )


def events_group(list_command: Callable[..., None]) -> typer.Typer:
    """``impact events``: ``list_command`` (with its own options) when no subcommand is given, plus ``add``.

    Typer has no command that also has subcommands: a group's callback runs ``list_command`` only when no
    subcommand was invoked. The callback takes ``list_command``'s parameters (its signature, annotations
    resolved), so its options stay exactly as declared where it is defined.
    """
    signature = inspect.signature(list_command, eval_str=True)

    @wraps(list_command)
    def callback(ctx: typer.Context, **options: Any) -> None:
        if ctx.invoked_subcommand is None:
            list_command(**options)

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    callback.__signature__ = signature.replace(parameters=[context, *signature.parameters.values()])  # type: ignore[attr-defined]
    callback.__annotations__ = {"ctx": typer.Context, **{p.name: p.annotation for p in signature.parameters.values()}}
    group = typer.Typer(cls=ImpactGroup, pretty_exceptions_enable=False)
    group.callback(invoke_without_command=True)(callback)
    group.command("add")(add)
    return group
