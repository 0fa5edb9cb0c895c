"""Put a finished build in place, and finish a swap that a killed build left half done.

Under `.nitro/`, a build stages its outputs in `staging-<preset>-<pid>/` (at their paths relative
to the project). When everything is staged it writes the journal `staging-.../swap.json` (the
outputs, and which of them have a new version), then for each output moves the live one to
`staging-....old/` and the staged one into place. Each step is a rename, so a build killed at any
moment (SIGKILL, a power cut of the process) leaves a state the next build can read:

- a staging folder without a journal: the build died before the swap began, the live outputs are
  the previous build's. It is deleted.
- a staging folder with a journal: the new build was complete, the swap was under way. It is
  finished (every output not yet moved in is moved in), then both folders are deleted.
- a lone `.old` folder (left by a nitro-build before 0.2): outputs missing from the project are
  moved back from it.

The previous outputs are not deleted by the build that replaced them: `.old` is renamed to
`.nitro/trash-*/` (one rename), which the next build deletes in a thread while esbuild bundles
(old_outputs_removed). Deleting 600 files of a 10,000-task output took 0.36-0.57 s on
ext4 mounted with `discard`, most of it waiting on the disk, not the CPU. A trash folder is
never put back by recovery, and one left by a killed build is deleted by the next build too.

So after recovery there is always either the previous or the new complete output, never a mix
and never none. `NITRO_BUILD_PAUSE_AT=<point>` stops a build at a named point inside the swap
(for the fault tests only; see PAUSE_POINTS).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import CompilerError, PresetError
from .plan import WORK_DIR

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

STAGING_PREFIX = "staging-"
TRASH_PREFIX = "trash-"
JOURNAL = "swap.json"
# Test-only hook: the build prints `nitro-build: paused at <point>` on stderr and sleeps
# NITRO_BUILD_PAUSE_SECONDS (default 60), so a test can SIGKILL it exactly there. `<point>#<n>`
# pauses at the n-th time (from 1) the point is reached (one per output for the per-output points).
PAUSE_ENV = "NITRO_BUILD_PAUSE_AT"
PAUSE_POINTS = ("staged", "journal-written", "old-moved-aside", "new-moved-in", "old-removed")
_reached: dict[str, int] = {}


def pause_point(name: str) -> None:
    """Sleep here when NITRO_BUILD_PAUSE_AT names this point (test-only)."""
    wanted = os.environ.get(PAUSE_ENV)
    if not wanted:
        return
    _reached[name] = _reached.get(name, 0) + 1
    point, _, nth = wanted.partition("#")
    if point == name and _reached[name] == int(nth or 1):
        sys.stderr.write(f"nitro-build: paused at {wanted}\n")
        sys.stderr.flush()
        time.sleep(float(os.environ.get("NITRO_BUILD_PAUSE_SECONDS", "60")))


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif _exists(path):
        path.unlink(missing_ok=True)


def old_folder(staging: Path) -> Path:
    """Where the swap moves the previous outputs."""
    return staging.with_name(staging.name + ".old")


def swap_into_place(root: Path, staging: Path, outputs: list[str]) -> None:
    """Replace each output path with its staged version, then drop the staging folders.

    If a rename fails (or Ctrl-C comes) mid-swap, the outputs already moved are put back, so the
    previous output stays whole; a SIGKILL is finished by the next build (recover_staging).
    """
    trash = old_folder(staging)
    shutil.rmtree(trash, ignore_errors=True)
    pause_point("staged")
    entries = [(rel, _exists(staging / rel)) for rel in outputs]
    _write_journal(staging, entries)
    pause_point("journal-written")
    done: list[tuple[Path, Path | None, bool]] = []  # (live, trashed, staged was moved in)
    try:
        for rel, has_new in entries:
            _move_in(root, staging, trash, rel, has_new, done)
    except BaseException as exc:  # also Ctrl-C between two renames: put the old output back
        _restore(done)
        shutil.rmtree(trash, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        if not isinstance(exc, OSError):
            raise
        raise PresetError(
            f"could not put the new output in place ({exc}); the previous output is kept"
        ) from None
    _finish(staging)


def _write_journal(staging: Path, entries: list[tuple[str, bool]]) -> None:
    """Written whole or not at all (rename), only after every output was staged."""
    tmp = staging / (JOURNAL + ".tmp")
    tmp.write_text(json.dumps({"outputs": [[rel, new] for rel, new in entries]}), encoding="utf-8")
    os.replace(tmp, staging / JOURNAL)


def _move_in(
    root: Path,
    staging: Path,
    trash: Path,
    rel: str,
    has_new: bool,
    done: list[tuple[Path, Path | None, bool]] | None = None,
) -> None:
    """Swap one output; run again after a kill, it does only what is left."""
    live, new, old = root / rel, staging / rel, trash / rel
    if has_new and not _exists(new):
        return  # already moved in
    moved_aside = _exists(live)
    if moved_aside:  # still the previous build's output
        old.parent.mkdir(parents=True, exist_ok=True)
        _remove(old)
        os.replace(live, old)
    if done is not None:
        done.append((live, old if moved_aside else None, False))
    pause_point("old-moved-aside")
    if has_new:
        live.parent.mkdir(parents=True, exist_ok=True)
        os.replace(new, live)
        if done is not None:
            done[-1] = (live, done[-1][1], True)
        pause_point("new-moved-in")


def _restore(done: list[tuple[Path, Path | None, bool]]) -> None:
    """Undo a partial swap: remove what was moved in, move the old outputs back."""
    for live, old, moved_in in reversed(done):
        if moved_in:
            _remove(live)
        if old is not None:
            os.replace(old, live)


def _finish(staging: Path) -> None:
    """Move the previous outputs to a trash folder (the next build deletes it), then drop the
    staging folder (its journal last of all)."""
    move_to_trash([old_folder(staging)], staging.parent)
    pause_point("old-removed")
    shutil.rmtree(staging, ignore_errors=True)


def move_to_trash(paths: list[Path], work: Path) -> None:
    """Move `paths` (in the project's `.nitro/` folder, `work`) into a new trash folder there, for
    the next build to delete (old_outputs_removed); one that cannot be moved is deleted now."""
    present = [p for p in paths if _exists(p)]
    if not present:
        return
    try:
        trash = _new_trash(work)
    except OSError:  # never fails a build whose output is in place: deleted now, as before
        trash = None
    for path in present:
        if trash is not None:
            try:
                os.replace(path, trash / path.name)
                continue
            except OSError:  # another file system (a linked folder): deleted in place, as before
                pass
        _remove(path)


def _new_trash(work: Path) -> Path:
    """A new, empty trash folder (named by hand: tempfile's import cost a small build 1 ms)."""
    n = 0
    while True:
        trash = work / f"{TRASH_PREFIX}{os.getpid()}-{n}"
        try:
            trash.mkdir()
            return trash
        except FileExistsError:  # left by an earlier process with this pid, or made just now
            n += 1


@contextlib.contextmanager
def old_outputs_removed(root: Path) -> Iterator[Callable[[], None]]:
    """Delete the trash folders of earlier builds (`.nitro/trash-*`: their previous outputs and
    generated sources) in a thread, started by calling what this yields (a build does once esbuild
    runs: Python then waits, and the deletion waits on the disk, so neither slows the other; while
    the build scanned, the thread's share of the interpreter lock cost it 0.06 s) or else at the
    end, which waits for it. Call under build_lock, after recover_staging. rmtree never follows a
    symbolic link: a link in an old output is removed, never what it points to."""
    work = root / WORK_DIR
    trash = sorted(work.glob(TRASH_PREFIX + "*")) if work.is_dir() else []
    worker = threading.Thread(target=_remove_all, args=(trash,), name="nitro-build-trash", daemon=True)

    def start() -> None:
        if trash and worker.ident is None:
            worker.start()

    try:
        yield start
    finally:
        start()
        if trash:
            worker.join()


def _remove_all(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def recover_staging(root: Path) -> None:
    """Finish or discard what builds killed earlier left in `.nitro/` (call under build_lock)."""
    work = root / WORK_DIR
    if not work.is_dir():
        return
    for folder in sorted(work.iterdir()):
        if not folder.name.startswith(STAGING_PREFIX) or folder.name.endswith(".old"):
            continue
        journal = _read_journal(folder / JOURNAL)
        if journal is None:  # killed before its swap began (a `.old` beside it is older: below)
            shutil.rmtree(folder, ignore_errors=True)
            continue
        for rel, has_new in journal:  # the swap had begun: finish it
            _move_in(root, folder, old_folder(folder), rel, has_new)
        _finish(folder)
    for trash in sorted(work.glob(STAGING_PREFIX + "*.old")):  # no staging folder beside it
        _put_back_missing(trash, root)
        shutil.rmtree(trash, ignore_errors=True)


def _read_journal(path: Path) -> list[tuple[str, bool]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [(str(rel), bool(new)) for rel, new in data["outputs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _put_back_missing(trash: Path, root: Path) -> None:
    """Move back every path of an old output that is missing from the project (no journal)."""
    for entry in sorted(trash.iterdir()):
        live = root / entry.name
        if not _exists(live):
            os.replace(entry, live)
        elif entry.is_dir() and live.is_dir() and not live.is_symlink():
            _put_back_missing(entry, live)


@contextlib.contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Hold `.nitro/build.lock` for a whole build: two builds of one project at once would
    otherwise delete each other's sources in `.nitro/build/<preset>` mid-bundle and race to swap
    the same output folder. A second build waits; the OS drops the lock if a build dies."""
    if fcntl is None:  # Windows: no flock; concurrent builds stay unguarded there
        yield
        return
    path = root / WORK_DIR / "build.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")  # noqa: SIM115 - closed below, after the build
    except OSError as exc:
        raise CompilerError(
            f"cannot open {WORK_DIR}/build.lock in {root} ({exc.strerror}): nitro-build keeps its "
            f"work files in the folder {WORK_DIR}/; make it a writable folder (move away a file "
            "or folder in its place)"
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.stderr.write(f"waiting for another build of {root} to finish...\n")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
