"""The console scripts: `check` is dispatched before the rest of the CLI is imported.

`nitro-build check` runs in pre-commit hooks on every commit; importing the build CLI (dev server,
task client, bundler) first would double its start-up time. For the same reason a short command
run as the program itself leaves without the interpreter's teardown (`exit_now`).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path

# Long-running commands exit the ordinary way: their threads and children are joined and
# finalized as Python does at exit.
LONG_RUNNING = ("dev", "task")
# The programs whose exit is ours to shorten: the console scripts and `python -m nitro_build`.
SCRIPTS = ("nitro", "nitro-build")
MAIN_MODULE = "nitro_build.__main__"


def nitro() -> None:
    """`nitro ...` (and `python -m nitro_build ...`)."""
    if sys.argv[1:2] == ["check"]:
        return exit_now(_check)
    from .cli import main
    from .console import run_command

    if sys.argv[1:2] and sys.argv[1] in LONG_RUNNING:
        return run_command(main)
    exit_now(lambda: run_command(main))


def nitro_build() -> None:
    """`nitro-build [build options]` or `nitro-build check ...`."""
    if sys.argv[1:2] == ["check"]:
        return exit_now(_check)
    from .cli import build_main
    from .console import run_command

    exit_now(lambda: run_command(build_main))


def _check() -> None:
    from .check import check_command
    from .console import run_command

    run_command(check_command, args=sys.argv[2:], prog_name=f"{_prog()} check")


def _prog() -> str:
    name = sys.argv[0].rsplit("/", 1)[-1]
    return "nitro" if name in ("__main__.py", "-m") else name


def exit_now(run: Callable[[], None]) -> None:
    """Run a short command; when this process is one of our programs, exit without the
    interpreter's teardown: freeing every module and object one by one was about a tenth of
    `nitro-build check`, `--help` and a small build (issue 14).

    What an ordinary exit does that matters is done here: the exit handlers run (atexit) and
    stdout and stderr are flushed. Otherwise the exit is the ordinary one: when the entry point
    was called from other code (a script, a test), another thread still runs, the exit status is
    not a number, or a flush fails (a closed pipe, which Python then reports as always).

    Such a process also runs without the cyclic garbage collector (it would only free memory the
    exit frees anyway): its passes over a huge project's objects were a fifth of an
    86,400-schedule build, and one deferred to the end of the build (pipeline.collector_paused)
    still took a second.
    """
    if _ours_alone():
        gc.disable()
    try:
        run()
        status = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
        if not isinstance(code, int) or not _ours_alone():
            raise
        status = code
    else:
        if not _ours_alone():
            return
    atexit._run_exitfuncs()  # runs and clears them: an ordinary exit after this does not repeat them
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with that descriptor closed
                stream.flush()
    except (OSError, ValueError):
        sys.exit(status)
    os._exit(status)


def _ours_alone() -> bool:
    """Whether this process is one of our programs (not other code calling an entry point) and
    runs no other thread."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    ours = (
        getattr(spec, "name", None) == MAIN_MODULE
        or Path(getattr(main, "__file__", None) or "").name in SCRIPTS
    )
    threading = sys.modules.get("threading")
    return ours and (threading is None or threading.active_count() == 1)
