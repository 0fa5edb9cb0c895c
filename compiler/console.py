"""How every command reports to the terminal: errors, warnings, exit codes."""
from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from .errors import CompilerError, Warnings


def run_guarded(debug: bool, action: Callable[[], Any]) -> Any:
    """Turn a CompilerError into `error: ...` on stderr and exit 1; traceback only with --debug."""
    try:
        return action()
    except CompilerError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def print_warnings(warnings: Warnings) -> None:
    """All collected warnings, together, on stderr."""
    for item in warnings.items:
        click.echo(f"warning: {item}", err=True)
