"""nitro-build: compile a Nitro-style project into deployable bundles, one preset at a time.

The public API is exactly `__all__`: `build()`, what it returns, and the errors it raises (the same
ones the CLI prints). Every other module and name in the package is internal and may change in any
release. Importing the package is cheap: the compiler loads on the first `build()`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    BundleError,
    CompilerError,
    ConfigError,
    CronError,
    PresetError,
    ScanError,
    UnsupportedFeatureError,
)

if TYPE_CHECKING:
    from .result import Artifact, Artifacts, BuildResult, ScheduleInfo, TaskInfo

# Imported on first use (PEP 562): the console scripts import this package first, and
# `nitro-build --help` needs none of them (issue 14).
_RESULT_NAMES = ("Artifact", "Artifacts", "BuildResult", "ScheduleInfo", "TaskInfo")

__all__ = [
    "Artifact",
    "Artifacts",
    "BuildResult",
    "BundleError",
    "CompilerError",
    "ConfigError",
    "CronError",
    "PresetError",
    "ScanError",
    "ScheduleInfo",
    "TaskInfo",
    "UnsupportedFeatureError",
    "__version__",
    "build",
]


def __getattr__(name: str) -> Any:
    if name in _RESULT_NAMES:
        from . import result

        return getattr(result, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build(
    root: str | os.PathLike[str],
    preset: str | None = None,
    *,
    strict: bool = False,
    dry_run: bool = False,
) -> BuildResult:
    """Build the project in `root` for `preset` (default: the config's `preset`, else node_server).

    `strict` turns warnings into errors. `dry_run` does everything except bundling and the swap:
    no esbuild is needed and nothing is written. Raises a CompilerError subclass on bad input.
    """
    from pathlib import Path

    from .pipeline import build as run

    return run(Path(root), preset, strict=strict, dry_run=dry_run)
