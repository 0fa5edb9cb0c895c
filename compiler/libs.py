"""Where the npm libraries behind Nitro's runtime APIs come from when a project uses them.

unstorage, h3, ofetch, hookable and destr are bundled (never required at run time), resolved as
esbuild resolves any import: from the project's own node_modules first, then, as a fallback
(NODE_PATH), from the node_modules that holds the esbuild in use and from nitro-build's own
checkout, so a project without a package.json still builds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from .reads import read_bytes
from .scan import NOT_SCANNED, inside

_CHECKOUT_MODULES = Path(__file__).resolve().parent.parent / "node_modules"


def fallback_dirs(esbuild: str) -> list[Path]:
    """node_modules folders searched after the project's own (esbuild's NODE_PATH)."""
    found: list[Path] = []
    for parent in Path(esbuild).resolve().parents if esbuild else ():
        if parent.name == "node_modules":
            found.append(parent)
            break
    if _CHECKOUT_MODULES.is_dir():
        found.append(_CHECKOUT_MODULES)
    return list(dict.fromkeys(found))


def node_path(esbuild: str) -> str:
    """The NODE_PATH value for an esbuild run."""
    return os.pathsep.join(str(d) for d in fallback_dirs(esbuild))


def find_package(root: Path, name: str, esbuild: str) -> Path | None:
    """The folder of package `name` as the bundle would resolve it, or None."""
    for folder in (root, *root.parents):
        candidate = folder / "node_modules" / name
        if (candidate / "package.json").is_file():
            return candidate
    for folder in fallback_dirs(esbuild):
        if (folder / name / "package.json").is_file():
            return folder / name
    return None


@lru_cache(maxsize=8)
def package_version(folder: Path) -> str:
    """The `version` of the package in `folder`."""
    return str(json.loads((folder / "package.json").read_text(encoding="utf-8")).get("version", ""))


def h3_entry(root: Path, esbuild: str) -> str:
    """The h3 v2 module that `h3` / `nitro/h3` imports get (runtime/h3.mjs re-exports it).

    A project's own h3 1.x (a Nitro 2 dependency) is passed over: its utilities read
    `event.node.req`, which our events do not have; h3 2.x keeps the v1 names on web events.
    """
    for folder in _h3_candidates(root, esbuild):
        if package_version(folder).startswith("2."):
            return str(folder / "dist" / "_entries" / "generic.mjs")
    return "h3"  # unresolved: esbuild's "Could not resolve" names it if a file imports h3


def _h3_candidates(root: Path, esbuild: str) -> list[Path]:
    own = [f / "node_modules" / "h3" for f in (root, *root.parents)]
    return [p for p in [*own, *(d / "h3" for d in fallback_dirs(esbuild))] if (p / "package.json").is_file()]


# ------------------------------------------------------------------------------------ auto-imports

_SKIP_DIRS = {"node_modules", "dist"}
_SOURCE_EXT = (".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".tsx", ".jsx")
# An identifier-like word: `[A-Za-z_$][\w$]*` (ASCII) not right after a word character, `$` or
# a single `.` (`a.b` mentions `a`, not `b`; a spread's `...b` mentions `b`). Found by turning
# every other byte into a space and splitting, then looking at each distinct token once: a third
# of a regular expression's time over 10,000 task files (libs.words_of).
_WORD_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$."
_TO_SPACE = bytes(c if c in _WORD_BYTES else 0x20 for c in range(256))
_FIRST = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$")


def words_of(datas: Iterable[bytes]) -> frozenset[str]:
    """The identifier-like words of the project's source files (project_sources): the auto-imports
    worth injecting. A word in a comment only costs bundle size; a name missed would be a run-time
    ReferenceError, so every file is read, symlinked folders included."""
    tokens: set[bytes] = set()
    for data in datas:
        tokens.update(data.translate(_TO_SPACE).split())
    return _words(tokens)


def _words(tokens: set[bytes]) -> frozenset[str]:
    # A spread (`...name`, `[...f()]`) names what follows it: each part after `...` counts too.
    parts = [p for t in tokens for p in t.split(b"...")] if any(b"..." in t for t in tokens) else tokens
    words = {head for head in (p.split(b".", 1)[0] for p in parts) if head and head[0] in _FIRST}
    return frozenset(w.decode("ascii") for w in words)


def project_sources(
    root: Path, extra: tuple[Path, ...] = (), seen: set[str] | None = None
) -> Iterator[bytes]:
    """The contents of the project's own source files (outside node_modules, build outputs and
    dot-folders) and of `extra` folders (a serverDir outside the project), each read once.
    `seen` gets the real path of every folder whose files were read."""
    seen = set() if seen is None else seen
    for folder in (root, *extra):
        for file in source_files(folder, seen):
            try:
                data = read_bytes(file)  # the scan read the task files already (reads.py)
            except OSError:  # a dangling symlink, no permission: the scan or esbuild reports it
                continue
            yield data


def source_words(data: bytes) -> frozenset[str]:
    """The identifier-like words of one source file, as words_of reads them."""
    return _words(set(data.translate(_TO_SPACE).split()))


def source_files(root: Path, seen: set[str]) -> list[str]:
    """The project's own source files under `root` (not node_modules, outputs, dot-folders);
    strings, not Paths: 10,000 Path objects cost more than reading the files."""
    files = []
    # followlinks: a symlinked tasks folder is bundled too (scan.py follows links); `seen` keeps a
    # link cycle, or a folder reached twice, from being read again.
    # A link into a build output (`tasks/out -> ../.output`) is not read either: the previous
    # bundle's words made the next bundle differ (scan.py's fences).
    fences = {os.path.realpath(root / n) for n in NOT_SCANNED}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen or any(inside(real, f) for f in fences):
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS]
        files += [os.path.join(dirpath, f) for f in filenames if f.endswith(_SOURCE_EXT)]
    return files
