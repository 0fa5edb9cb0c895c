"""How every command reports to the terminal: errors, warnings, exit codes, colour.

One error style for every command (build, dev, task, and the bundle's own task CLI): one
sentence on stderr starting with `error: `, exit code 1.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

import click

from .errors import CompilerError, Warnings


def use_color(stream: TextIO) -> bool:
    """Colour on a terminal; FORCE_COLOR (not 0) forces it, NO_COLOR or FORCE_COLOR=0 turns it off.

    The conventions of https://no-color.org and https://force-color.org, in Node's order
    (https://nodejs.org/api/cli.html#force_color1-2-3): FORCE_COLOR wins over NO_COLOR.
    """
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return force.strip().lower() not in ("0", "false")
    if os.environ.get("NO_COLOR"):
        return False
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def styled(text: str, stream: TextIO, **style: Any) -> str:
    """`text` in the given click style when `stream` gets colour, else unchanged."""
    return click.style(text, **style) if use_color(stream) else text


def echo(text: str, err: bool = False) -> None:
    """click.echo, keeping colour codes exactly when use_color says so."""
    stream = sys.stderr if err else sys.stdout
    click.echo(text, err=err, color=use_color(stream))


def error(message: str) -> None:
    """`error: <message>` on stderr."""
    echo(styled("error:", sys.stderr, fg="red", bold=True) + f" {message}", err=True)


def warning(message: str) -> None:
    """`warning: <message>` on stderr."""
    echo(styled("warning:", sys.stderr, fg="yellow", bold=True) + f" {message}", err=True)


def error_object(exc: CompilerError, warnings: Warnings | None = None) -> dict[str, Any]:
    """What `--json` prints on stdout when a command fails (README: "Machine-readable output")."""
    return {
        "error": {"type": type(exc).__name__, "message": str(exc)},
        "warnings": list(warnings.items) if warnings else [],
    }


def run_guarded(
    debug: bool, action: Callable[[], Any], as_json: bool = False, warnings: Warnings | None = None
) -> Any:
    """Turn a CompilerError into `error: ...` on stderr and exit 1; traceback only with --debug.

    With `as_json`, stdout also gets the error as a JSON object, so a CI step that parses stdout
    gets an answer instead of nothing.
    """
    try:
        return action()
    except CompilerError as exc:
        if debug:
            import traceback  # --debug only

            traceback.print_exc()
        error(str(exc))
        if as_json:
            click.echo(json.dumps(error_object(exc, warnings), indent=2))
        sys.exit(1)


def print_warnings(warnings: Warnings) -> None:
    """All collected warnings, together, on stderr."""
    for item in warnings.items:
        warning(item)


def run_command(command: click.Command, **kwargs: Any) -> None:
    """Run a click command with click's own errors in our style too: a bad option or argument is
    `error: <click's message>; see `nitro build --help`` on stderr and exit 1, like every other
    failure (click alone prints its usage and exits 2)."""
    try:
        result = command.main(standalone_mode=False, **kwargs)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "the command"
        error(f"{exc.format_message().rstrip('.')}; see `{where} --help`")
        sys.exit(1)
    except click.ClickException as exc:
        error(exc.format_message())
        sys.exit(1)
    except click.Abort:
        echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
