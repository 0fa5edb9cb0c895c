"""What makes `nitro dev` rebuild: the config files, tasks/, api/, routes/ and other bundled files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import CONFIG_NAMES
from ..config_script import CONFIG_ENTRY, CONFIG_META

WATCHED_DIRS = ("tasks", "api", "routes", "plugins")
TICK_MS = 300  # how often the config files are checked between file-system events
# How long a batch of file-system events stays open after the last one (watchfiles' default is
# 50 ms): an editor's save is one or a few events within a millisecond or two, and the wait is
# part of every reload (issue 14: one changed task answering within 0.12 s).
STEP_MS = 10


def _relative(root: Path, path: str | Path) -> str:
    return Path(path).relative_to(root).as_posix() if Path(path).is_relative_to(root) else str(path)


def bundled_project_files(root: Path, server_dir: Path) -> list[Path]:
    """Project files in the last dev build (esbuild's meta.json) that no folder watch covers."""
    inputs: list[str] = []
    # The dev bundle's inputs, and the files nitro.config.ts imports (config_script.py).
    for meta in (root / ".nitro" / "build" / "dev" / "meta.json", root / CONFIG_META):
        try:
            inputs += json.loads(meta.read_text())["inputs"]
        except (OSError, ValueError, KeyError):
            pass
    return unwatched(root, server_dir, [root / rel for rel in inputs if rel != CONFIG_ENTRY])


def unwatched(root: Path, server_dir: Path, files: list[Path]) -> list[Path]:
    """The project files among `files` that no folder watch covers (not in node_modules)."""
    watched = [server_dir / name for name in WATCHED_DIRS] + [root / ".nitro"]
    found = []
    for file in files:
        path = file.resolve()
        if not path.is_relative_to(root) or "node_modules" in path.parts:
            continue  # our runtime templates, installed packages
        if not any(path.is_relative_to(folder) for folder in watched):
            found.append(path)
    return sorted(found)


def _describe(root: Path, changes: set[tuple[Any, str]]) -> str:
    """`tasks/a.ts, api/b.ts changed` for a batch of watchfiles changes."""
    names = sorted({_relative(root, path) for _, path in changes})
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"{', '.join(names[:3])}{more} changed"


@dataclass
class Watcher:
    """Yields a reason to rebuild for each batch of changes to the config, tasks/, api/, routes/,
    or any other project file the last build bundled (a helper module, a config task's handler).

    The folders are watched recursively with watchfiles; the config files and the other bundled
    files are checked by stat on every tick, so the project root (with node_modules and .nitro) is
    never watched recursively.
    """

    root: Path
    server_dir: Callable[[], Path]
    on_tick: Callable[[], None] = lambda: None
    # The other bundled files, and when the build that listed them started (time.time_ns()).
    bundled: Callable[[], tuple[list[Path], int]] = lambda: ([], 0)

    def _dirs(self) -> tuple[tuple[Path, int], ...]:
        """The watched folders that exist, with their inode (a re-created folder needs a new watch)."""
        found = []
        for path in (self.server_dir() / name for name in WATCHED_DIRS):
            try:
                if path.is_dir():
                    found.append((path, path.stat().st_ino))
            except OSError:
                pass  # removed between the two calls: it is simply not watched
        return tuple(found)

    def _config(self) -> dict[Path, Any]:
        """Stat of each config file and each other bundled file (None: absent)."""
        states: dict[Path, Any] = {}
        for path in [*(self.root / name for name in CONFIG_NAMES), *self.bundled()[0]]:
            try:
                st = path.stat()
                states[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                states[path] = None
        return states

    def _changed_files(self, before: dict[Path, Any], now: dict[Path, Any]) -> list[str]:
        """Files whose stat differs from the last tick. A file new to the list (the last build found
        it) counts as changed when it was modified after that build started: saved meanwhile."""
        since = self.bundled()[1]
        return [
            _relative(self.root, p)
            for p, state in now.items()
            if (before[p] != state if p in before else state is not None and state[0] > since)
        ]

    def changes(self) -> Iterator[tuple[str, frozenset[Path] | None]]:
        """First ("", None) (build now: the watch is already running, so nothing saved later is
        missed), then (reason, files) per batch of changes: `files`, the changed paths, when the
        batch is only files in the watched folders (nitro dev may then swap a task in, hot.py);
        None when a config, another bundled file or the set of watched folders changed. The
        watch is renewed when a watched folder appears or goes."""
        from watchfiles import DefaultFilter, watch

        config, pending, first = self._config(), "", True
        while True:
            dirs = self._dirs()
            batches = watch(
                *(path for path, _ in dirs),
                watch_filter=DefaultFilter(),
                yield_on_timeout=True,
                rust_timeout=TICK_MS,
                step=STEP_MS,
                raise_interrupt=True,
            )
            for batch in batches:
                self.on_tick()
                reasons = [pending] if pending else []
                pending = ""
                if batch:
                    reasons.append(_describe(self.root, batch))
                now = self._config()
                changed = self._changed_files(config, now)
                if changed:
                    reasons.append(f"{', '.join(changed[:3])} changed")
                config = now
                if self._dirs() != dirs:
                    # Rebuild once the new watch is running, so no change made meanwhile is missed.
                    pending = "; ".join([*reasons, "watched folders changed"])
                    break
                if first or reasons:
                    only_files = not first and len(reasons) == 1 and batch and not changed
                    files = frozenset(Path(path) for _, path in batch) if only_files else None
                    yield ("", None) if first else ("; ".join(reasons), files)
                    first = False
            batches.close()
