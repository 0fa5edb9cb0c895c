"""Which utils/ helpers wait, at their top level or through a module they import, on a top-level
await: in a bundle of one file (nitro dev, Cloudflare) esbuild imports the auto-import module into
every module, those it re-exports too, so such a helper's auto-import waits on itself and the
bundle never starts (Node exits with code 13, "unsettled top-level await", and no message).

The import graph comes from esbuild's metafile (https://esbuild.github.io/api/#metafile, each
input's `imports`) of one bundle of the helpers, run only when a project file may await at its
top level (lazy_tasks.source_awaits_at_top_level); esbuild then confirms which modules of that
graph really await (lazy_tasks.modules_awaiting).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from .lazy_tasks import modules_awaiting, source_awaits_at_top_level
from .libs import node_path, project_sources
from .plan import BundleOptions
from .provided import MODULES
from .reads import read_bytes


def helpers_awaiting(root: Path, helpers: list[str], opts: BundleOptions) -> dict[str, str]:
    """Each helper (absolute path) that awaits at its top level or imports, transitively, a module
    that does, with that module (relative to `root`, `/`-separated; the helper itself when it
    awaits). No esbuild run when no project file may await at its top level."""
    if not helpers or not _may_await(root, helpers):
        return {}
    graph = _import_graph(root, helpers, opts)
    if graph is None:  # esbuild could not bundle the helpers alone: their own sources decide
        return {h: _key(root, h) for h in sorted(modules_awaiting(root, helpers))}
    maybe = [k for k in graph if _file_may_await(root / k)]
    awaits = {_key(root, m) for m in modules_awaiting(root, [str(root / k) for k in maybe])}
    found = {}
    for helper in helpers:
        if (module := _first_reached(graph, _key(root, helper), awaits)) is not None:
            found[helper] = module
    return found


def _may_await(root: Path, helpers: list[str]) -> bool:
    """Whether a helper or any project source file may await at its top level (the rough check)."""
    if any(source_awaits_at_top_level(read_bytes(h)) for h in helpers):
        return True
    return any(source_awaits_at_top_level(data) for data in project_sources(root))


def _file_may_await(path: Path) -> bool:
    try:
        return path.is_file() and source_awaits_at_top_level(read_bytes(path))
    except OSError:
        return False


def _key(root: Path, path: str) -> str:
    """A module as the metafile names it: relative to esbuild's cwd, links resolved."""
    return os.path.relpath(os.path.realpath(path), os.path.realpath(root)).replace(os.sep, "/")


def _import_graph(root: Path, helpers: list[str], opts: BundleOptions) -> dict[str, list[str]] | None:
    """Each module the helpers reach (metafile key) and the modules it imports statically (a
    dynamic import() does not make its importer wait); None when esbuild fails."""
    import tempfile  # rarely needed: its import cost every build 3 ms (lazy_tasks.modules_awaiting)

    # Not at the top: `nitro check` imports this module (presets/base.py), and never bundle.py.
    from .bundle import RESOLVE_EXTENSIONS, find_esbuild
    from .errors import BundleError

    try:
        esbuild = find_esbuild(root)
    except BundleError:
        return None

    # The specifiers the bundle provides stay external: the runtime behind them awaits nothing.
    provided = [f"--external:{spec}" for spec in MODULES] + [f"--external:{e}" for e in opts.external]
    entries = [f"e{i}={os.path.relpath(h, root)}" for i, h in enumerate(helpers)]  # `=`: see bundle._args
    with tempfile.TemporaryDirectory() as scratch:  # a dry run writes nothing in the project
        args = [
            esbuild,
            *entries,
            "--bundle",
            "--format=esm",
            f"--platform={opts.platform}",
            *provided,
            *[f"--conditions={c}" for c in opts.conditions],
            RESOLVE_EXTENSIONS,  # resolved as the bundle resolves them
            f"--outdir={scratch}",
            f"--metafile={scratch}/meta.json",
            "--log-level=error",
            "--color=false",
        ]
        # NODE_PATH as the bundle has it (bundle._run): a helper may import a runtime API's library.
        env = {**os.environ, "NODE_PATH": node_path(esbuild)}
        proc = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return None
        inputs = json.loads(Path(scratch, "meta.json").read_text(encoding="utf-8"))["inputs"]
    return {
        key: [
            i["path"]
            for i in value.get("imports", ())
            if not i.get("external") and i["kind"] != "dynamic-import"
        ]
        for key, value in inputs.items()
    }


def _first_reached(graph: dict[str, list[str]], start: str, targets: set[str]) -> str | None:
    """The first of `targets` reached from `start` (itself included), breadth first."""
    seen, queue = {start}, [start]
    for module in queue:
        if module in targets:
            return module
        for imported in graph.get(module, ()):
            if imported not in seen:
                seen.add(imported)
                queue.append(imported)
    return None
