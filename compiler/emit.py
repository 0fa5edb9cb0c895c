"""The staging area a preset writes into, and the swap that puts a finished build in place.

A failed build leaves the previous output and the user's own files untouched: presets write
only below a staging folder, and the outputs are renamed into place after everything succeeded.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .bundle import bundle
from .errors import PresetError, Warnings
from .model import Project
from .plan import WORK_DIR, Plan
from .render import RUNTIME_DIR

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


@dataclass
class Emitter:
    """A real build's disk work: a Plan's sources under .nitro/build/<preset>, outputs under staging."""

    project: Project
    preset: str
    warnings: Warnings
    staging: Path = field(init=False)
    sources: Path = field(init=False)

    def __post_init__(self) -> None:
        work = self.project.root / WORK_DIR
        self.staging = work / f"staging-{self.preset}-{os.getpid()}"
        self.sources = work / "build" / self.preset
        shutil.rmtree(self.staging, ignore_errors=True)
        shutil.rmtree(self.sources, ignore_errors=True)
        self.staging.mkdir(parents=True)
        self.sources.mkdir(parents=True)

    def path(self, rel: str) -> Path:
        """The staged location of output path `rel` (relative to the project root)."""
        target = self.staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_plan(self, plan: Plan) -> dict[str, str]:
        """Write every planned file (sources in place, outputs staged); return the texts written."""
        files = plan.files()
        for rel, text in files.items():
            target = self.project.root / rel if plan.is_source(rel) else self.path(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        return files

    def run_bundles(self, plan: Plan) -> None:
        """Bundle each planned entry into its staged output folder."""
        for step in plan.bundles:
            entry = self.project.root / step.entry
            bundle(self.project.root, entry, self.path(step.out_dir), step.options, self._runtime_copy())

    def staged_hashes(self, outputs: list[str]) -> dict[str, str]:
        """sha256 of every staged output file, by path relative to the project."""
        hashes = {}
        for rel in outputs:
            top = self.staging / rel
            for path in [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []:
                if path.is_file():
                    key = path.relative_to(self.staging).as_posix()
                    hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        return dict(sorted(hashes.items()))

    def _runtime_copy(self) -> Path:
        """The runtime, copied beside the sources. esbuild names every module in the bundle by its
        path from the project, so bundling our installed templates/runtime made the output depend
        on where the project sits relative to nitro-build (moving it changed the bytes)."""
        copy = self.sources / "runtime"
        if not copy.is_dir():
            shutil.copytree(RUNTIME_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
        return copy

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def check_outputs(self, outputs: list[str]) -> None:
        """Refuse, before anything is written, output paths that could hold the user's files.

        A build replaces each output path wholesale, so a path that is the project itself, a
        source folder, or a folder some other tool filled would be lost.
        """
        for rel in outputs:
            reason = unsafe_output(self.project, rel)
            if reason:
                raise PresetError(f"refusing to replace output path {rel!r}: {reason}")

    def swap_into_place(self, outputs: list[str]) -> None:
        """Replace each output path with its staged version, then drop the staging folder.

        Old outputs move to a trash folder first; if any move fails, the ones already moved
        are put back, so the previous output stays whole.
        """
        root = self.project.root
        trash = self.staging.with_name(self.staging.name + ".old")
        shutil.rmtree(trash, ignore_errors=True)
        done: list[tuple[Path, Path, bool]] = []  # (live, trashed, staged was moved in)
        try:
            for rel in outputs:
                staged, live, old = self.staging / rel, root / rel, trash / rel
                had_old = live.exists() or live.is_symlink()
                if had_old:
                    old.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(live, old)
                done.append((live, old if had_old else None, False))
                if staged.exists():
                    live.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, live)
                    done[-1] = (live, done[-1][1], True)
        except BaseException as exc:  # also Ctrl-C between two renames: put the old output back
            _restore(done)
            shutil.rmtree(trash, ignore_errors=True)
            if not isinstance(exc, OSError):
                raise
            raise PresetError(
                f"could not put the new output in place ({exc}); the previous output is kept"
            ) from None
        shutil.rmtree(trash, ignore_errors=True)
        self.discard()


@contextlib.contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Hold `.nitro/build.lock` for a whole build: two builds of one project at once would
    otherwise delete each other's sources in `.nitro/build/<preset>` mid-bundle and race to swap
    the same output folder. A second build waits; the OS drops the lock if a build dies."""
    if fcntl is None:  # Windows: no flock; concurrent builds stay unguarded there
        yield
        return
    path = root / WORK_DIR / "build.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.stderr.write(f"waiting for another build of {root} to finish...\n")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _restore(done: list[tuple[Path, Path | None, bool]]) -> None:
    """Undo a partial swap: remove what was moved in, move the old outputs back."""
    for live, old, moved_in in reversed(done):
        if moved_in:
            shutil.rmtree(live, ignore_errors=True) if live.is_dir() else live.unlink(missing_ok=True)
        if old is not None:
            os.replace(old, live)


def unsafe_output(project: Project, rel: str) -> str | None:
    """Why replacing `rel` could lose the user's files, or None when it is safe."""
    root = project.root
    live = (root / rel).resolve()
    if live == root or root not in live.parents:
        return "it must be a folder inside the project, not the project itself or outside it"
    if live == project.server_dir or live in project.server_dir.parents:
        return "it would contain the project's serverDir; choose another output folder"
    sources = [project.server_dir / d for d in ("tasks", "api", "routes")]
    sources += [root / "node_modules"] + ([project.config_file] if project.config_file else [])
    for source in sources:
        if live == source or live in source.parents or source in live.parents:
            where = source.relative_to(root).as_posix()
            return f"it overlaps the project's own {where!r}; choose another output folder"
    if live.is_dir() and not _written_by_us(live, root):
        return (
            "it exists and was not written by nitro-build (no nitro.json in it); move it away "
            "or choose another output folder"
        )
    return None


def _written_by_us(folder: Path, root: Path) -> bool:
    """Our own work folder, an earlier build's output (it has nitro.json), or an empty folder."""
    if root / WORK_DIR in (folder, *folder.parents):
        return True
    return (folder / "nitro.json").is_file() or not any(folder.iterdir())
