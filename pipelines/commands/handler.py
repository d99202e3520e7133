"""The `impact` CLI's one error handler: a failure ends in one or two lines on stderr, not a traceback.

``typer.Typer(cls=ImpactGroup)`` wraps every command of the app (sub-apps included): a project error
(:class:`pipelines.errors.ImpactError`) prints ``Error: <its message>`` and exits with its ``exit_code``
(1); anything else prints ``internal error: <type>: <message> (run with --debug for the trace)`` and
exits 1. ``impact --debug`` or ``IMPACT_DEBUG=1`` prints the full trace first. Click's own exits (usage
errors: 2, ``typer.Exit``, Ctrl-C) pass through unchanged.
"""

from __future__ import annotations

import errno
import sys
import traceback
from typing import Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from pipelines.errors import ImpactError

DEBUG_OPTION = "debug"
"""The name of the root callback's ``--debug`` parameter."""


def _debug(ctx: typer.Context) -> bool:
    if ctx.find_root().params.get(DEBUG_OPTION):
        return True
    from pipelines.settings import value

    try:
        return value("IMPACT_DEBUG") == "1"
    except ImpactError:  # a malformed IMPACT_DEBUG must not hide the error being reported
        return False


def describe(error: BaseException) -> str:
    """What the user reads: a project error's message, else the type and message of an unexpected one."""
    if isinstance(error, ImpactError):
        return f"Error: {error}"
    return f"internal error: {type(error).__name__}: {error} (run with --debug for the trace)"


class ImpactGroup(TyperGroup):
    """A Typer group whose commands' failures end as :func:`describe` says, with exit status 1."""

    def invoke(self, ctx: Any) -> Any:  # click's Context (typer vendors click: its class is private)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt, EOFError):  # Click's own endings
            raise
        except OSError as error:
            if error.errno == errno.EPIPE:  # `impact sql ... | head`: Click quiets the broken pipe itself
                raise
            self._report(ctx, error)
        except Exception as error:
            self._report(ctx, error)

    @staticmethod
    def _report(ctx: typer.Context, error: Exception) -> None:
        if _debug(ctx):
            traceback.print_exception(error, file=sys.stderr)
        typer.echo(describe(error), err=True)
        raise typer.Exit(getattr(error, "exit_code", 1) if isinstance(error, ImpactError) else 1) from error
