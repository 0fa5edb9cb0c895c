"""Source maps beside the bundle, without the build machine's paths.

esbuild writes `sources` relative to the output folder; a module outside the project (the
runtime shipped in this package, a node_modules folder reached through a symlink) would then
spell the build machine's folders (`../../../home/ci/...`). Those become stable names instead,
so the same input gives the same bytes on any machine and no path of it ships.
https://esbuild.github.io/api/#sourcemap, https://tc39.es/source-map/
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from .plan import WORK_DIR
from .swap import STAGING_PREFIX

RUNTIME_PREFIX = "nitro-build/runtime/"


def clean_source_maps(outdir: Path, root: Path, runtime: Path) -> set[str]:
    """Rewrites the `sources` of every .map in `outdir` (and its chunks): relative to where the
    file will live once the build is swapped into place, and without paths outside `root`.
    Returns the absolute folders of the bundle's inputs (compiler/keep_names.py reads them)."""
    places = (str(root), str(runtime.resolve()))  # strings: 10,000 sources, pathlib was 1 s of it
    folders: dict[tuple[str, str, str], str | None] = {}
    for file in sorted(outdir.rglob("*.map")):
        folder, final = str(file.parent), str(_final_folder(file.parent, root))

        def fix(sources: list[str], folder: str = folder, final: str = final) -> list[str]:
            return [_stable_fast(folders, folder, final, s, places) for s in sources]

        file.write_bytes(_with_sources(file.read_bytes(), fix))
    return {os.path.normpath(os.path.join(folder, head)) for folder, _, head in folders}


# esbuild writes a map's top-level keys one per line, indented by two spaces, `sources` near the top
# and on one line (a JSON string holds no raw line break, so neither can occur inside one).
_SOURCES_KEY = b'\n  "sources": '


def _with_sources(data: bytes, fix: Callable[[list[str]], list[str]]) -> bytes:
    """The map with its `sources` replaced by `fix(sources)`. Only that line is parsed and written
    again; the rest (`mappings`, most of 4 MB of maps at 10,000 tasks) stays as esbuild wrote it:
    parsing and writing every map whole was half of this step. Any other layout: parsed whole."""
    at = data.find(_SOURCES_KEY)
    end = data.find(b"\n", at + 1) if at >= 0 else -1
    if end > at:
        start = at + len(_SOURCES_KEY)
        line = data[start:end]
        comma = line.endswith(b",")
        try:
            sources = json.loads(line[:-1] if comma else line)
        except ValueError:
            sources = None
        if isinstance(sources, list) and all(isinstance(s, str) for s in sources):
            text = json.dumps(fix(sources), ensure_ascii=False).encode("utf-8")
            return data[:start] + text + (b"," if comma else b"") + data[end:]
    whole = json.loads(data)
    whole["sources"] = fix(whole.get("sources", []))
    return json.dumps(whole, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _final_folder(folder: Path, root: Path) -> Path:
    """A build writes under `.nitro/staging-*/` (compiler/swap.py), at the output's own path."""
    try:
        parts = folder.relative_to(root).parts
    except ValueError:
        return folder
    if len(parts) >= 2 and parts[0] == WORK_DIR and parts[1].startswith(STAGING_PREFIX):
        return root.joinpath(*parts[2:])
    return folder


def _stable_fast(
    folders: dict[tuple[str, str, str], str | None],
    folder: str,
    final: str,
    source: str,
    places: tuple[str, str],
) -> str:
    """_stable, with one os.path.relpath per source folder rather than per source (10,000 task
    modules sit in a few folders; relpath was a third of the time here): a project file's
    path from `final` is its folder's, then its name."""
    head, name = os.path.split(source)
    key = (folder, final, head)
    if key not in folders:
        target = os.path.normpath(os.path.join(folder, head))
        # Only a project folder none of whose files could lie on `final`'s own path.
        plain = _inside(target, places[0]) and not _inside(final, target)
        folders[key] = _posix(os.path.relpath(target, final)) if plain else None
    rel = folders[key]
    if rel is None or name in ("", ".", ".."):
        return _stable(folder, final, source, *places)
    return name if rel == "." else f"{rel}/{name}"


def _stable(folder: str, final: str, source: str, root: str, runtime: str) -> str:
    target = os.path.normpath(os.path.join(folder, source))
    if _inside(target, root):
        return _posix(os.path.relpath(target, final))
    if _inside(target, runtime):
        return RUNTIME_PREFIX + _posix(os.path.relpath(target, runtime))
    parts = _posix(target).rsplit("/node_modules/", 1)
    if len(parts) == 2:
        return "node_modules/" + parts[1]
    return "external/" + os.path.basename(target)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")
