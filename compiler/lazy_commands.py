"""Subcommands imported only when run: `nitro --help` must not import the whole compiler.

Issue 14: of a 10-task build, most of the time was Python importing modules the command never
used (the dev server, the task client's urllib, pydantic, jinja2, every preset). A LazyGroup
names each subcommand's module and its one-line help (for the command list in --help), and imports
the module on first use. tests/test_cli_imports.py checks each line matches the real command's.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    """A click group whose `lazy` subcommands are `name -> ("module:attribute", short help)`."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(load(self.lazy[cmd_name][0]), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, with a lazy command's help line taken from the table (no import)."""
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, short_help(self.lazy[name][1], limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def short_help(line: str, limit: int) -> str:
    """`line` shortened as click shortens a command's help for the command list."""
    return click.Command(None, help=line).get_short_help_str(limit)


def load(target: str) -> click.Command:
    """The click command at `module:attribute` (module relative to this package)."""
    module, _, attribute = target.partition(":")
    command: click.Command = getattr(importlib.import_module(module, __package__), attribute)
    return command
