"""The console scripts: `check` is dispatched before the rest of the CLI is imported.

`nitro-build check` runs in pre-commit hooks on every commit; importing the build CLI (dev server,
task client, bundler) first would double its start-up time.
"""

from __future__ import annotations

import sys


def nitro() -> None:
    """`nitro ...` (and `python -m nitro_build ...`)."""
    if sys.argv[1:2] == ["check"]:
        return _check()
    from .cli import main
    from .console import run_command

    run_command(main)


def nitro_build() -> None:
    """`nitro-build [build options]` or `nitro-build check ...`."""
    if sys.argv[1:2] == ["check"]:
        return _check()
    from .cli import build_main
    from .console import run_command

    run_command(build_main)


def _check() -> None:
    from .check import check_command
    from .console import run_command

    run_command(check_command, args=sys.argv[2:], prog_name=f"{_prog()} check")


def _prog() -> str:
    name = sys.argv[0].rsplit("/", 1)[-1]
    return "nitro" if name in ("__main__.py", "-m") else name
