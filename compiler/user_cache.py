"""The per-user cache folder behind the start-up caches (config_store.py, render.py).

$XDG_CACHE_HOME/nitro-build/<kind>/ (else ~/.cache/...), outside the project: `check` and a dry
run write nothing in the project. An entry is one JSON file named by its key and holding the key:
written to a temporary file and renamed, so concurrent builds see a whole entry or none, and an
entry that does not hold its key (truncated, edited, not JSON) reads as absent. A folder another
user owns or can write is not used (entries are trusted; Jinja's bytecode cache checks its
folder the same way). Nothing here ever fails a build: an unusable cache only costs time.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import json
import os
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._version import __version__

MAX_ENTRIES = 128  # per kind: the oldest beyond this are removed on a process's first write
PRUNE_EVERY = 16  # and on every 16th after it (a long `nitro dev` session writes many)
_WRITES = itertools.count()
_SINCE_PRUNE: dict[str, Iterator[int]] = collections.defaultdict(itertools.count)
PACKAGE = Path(__file__).resolve().parent
# What the cached results are computed by: the package's Python code and templates. A wheel has
# presets/ and templates/ inside the package; a checkout (an editable install) beside compiler/.
CHECKOUT = PACKAGE.name == "compiler"
CODE_DIRS = (PACKAGE, *((PACKAGE.parent / "presets", PACKAGE.parent / "templates") if CHECKOUT else ()))
CODE_SUFFIXES = (".py", ".jinja")


def folder(kind: str) -> Path | None:
    """The cache folder for `kind`, or None without a home or with NITRO_BUILD_CACHE=0."""
    if os.environ.get("NITRO_BUILD_CACHE", "").strip().lower() in ("0", "false", "off", "no"):
        return None  # e.g. a CI job that must not write outside its workspace
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):  # the XDG base directory spec: a relative value is ignored
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "nitro-build" / kind


# The libraries whose results are cached (pydantic validates, Jinja renders), by a file that every
# release rewrites: an upgrade of either is a new key too.
LIBRARIES = (("pydantic", "version.py"), ("jinja2", "__init__.py"))


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The version plus the size and modification time of every module and template, and of
    the libraries' version files: part of every key, so a result is never reused by other code
    (an edited checkout, an upgrade of nitro-build, pydantic or Jinja)."""
    parts = [__version__, *(_library_stamp(name, file) for name, file in LIBRARIES)]
    seen: set[str] = set()
    for top in CODE_DIRS:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if d not in ("__pycache__", "runtime", "node_modules")]
            if dirpath in seen:
                continue
            seen.add(dirpath)
            for name in sorted(filenames):
                if name.endswith(CODE_SUFFIXES):
                    st = os.stat(os.path.join(dirpath, name))
                    parts.append(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\0".join(sorted(parts)).encode()).hexdigest()


def _library_stamp(name: str, file: str) -> str:
    """`name`'s version file, located without importing the library (which is what is avoided)."""
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec(name)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        try:
            st = os.stat(os.path.join(folder, file))
        except OSError:
            continue
        return f"{name}:{folder}:{st.st_size}:{st.st_mtime_ns}"
    return f"{name}:missing"


def key(*parts: str) -> str:
    """A cache key: sha256 of the code fingerprint and `parts`."""
    digest = hashlib.sha256(code_fingerprint().encode())
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def read(kind: str, key: str) -> Any:
    """The value stored under `key`, or None."""
    where = folder(kind)
    if where is None or not _private(where):
        return None
    try:
        stored = json.loads((where / f"{key}.json").read_text(encoding="utf-8"))
        return stored["value"] if stored["key"] == key else None
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None


def write(kind: str, key: str, value: Any) -> None:
    """Store `value` (JSON data) under `key`."""
    where = folder(kind)
    if where is None:
        return
    try:
        text = json.dumps({"key": key, "value": value}, ensure_ascii=True)
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(where):
            return
        # Unique per process and write (O_EXCL refuses a name left by a dead process with our
        # pid); not tempfile, whose import (random, shutil) cost a first run more than the write.
        tmp = where / f".tmp-{os.getpid()}-{next(_WRITES)}.json"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, where / f"{key}.json")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if next(_SINCE_PRUNE[kind]) % PRUNE_EVERY == 0:
            _prune(where)
    except (OSError, TypeError, ValueError):
        pass


def _private(where: Path) -> bool:
    try:
        st = os.stat(where)
    except OSError:
        return False
    owner_ok = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return owner_ok and not st.st_mode & 0o022


def _prune(where: Path) -> None:
    entries = []
    stale = time.time_ns() - 3600 * 10**9  # a temporary file left by a killed build
    for entry in os.scandir(where):
        try:
            mtime = entry.stat().st_mtime_ns
        except OSError:
            continue
        if entry.name.startswith(".tmp-"):
            if mtime < stale:
                Path(entry.path).unlink(missing_ok=True)
        elif entry.name.endswith(".json"):
            entries.append((mtime, entry.path))
    entries.sort()
    for _, path in entries[: max(0, len(entries) - MAX_ENTRIES)]:
        Path(path).unlink(missing_ok=True)
