"""The staging area a preset writes into, and the swap that puts a finished build in place.

A failed build leaves the previous output and the user's own files untouched: presets write
only below a staging folder, and the outputs are renamed into place after everything succeeded.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bundle import BundleOptions, bundle
from .errors import PresetError, Warnings
from .model import Project
from .render import RUNTIME_DIR, render

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

WORK_DIR = ".nitro"


def to_json(data: Any) -> str:
    """Platform files and nitro.json: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def import_path(target: Path, from_dir: Path) -> str:
    """A relative ES import specifier from `from_dir` to `target` (no absolute paths in sources)."""
    rel = os.path.relpath(target, from_dir).replace(os.sep, "/")
    return rel if rel.startswith(".") else "./" + rel


def import_paths(targets: list[Path | None], from_dir: Path, root: Path) -> list[str | None]:
    """import_path for many files: those under `root` take a string shortcut.

    os.path.relpath normalises both paths on every call, which was a tenth of a 10000-task
    build (bench/bench_build.py); files inside the project only need their suffix re-rooted.
    """
    prefix = str(root) + os.sep
    up = import_path(root, from_dir) + "/"
    return [
        up + str(t)[len(prefix):].replace(os.sep, "/")
        if t is not None and str(t).startswith(prefix)
        else (t and import_path(t, from_dir))
        for t in targets
    ]


@dataclass
class Emitter:
    """Everything a preset may touch: sources under .nitro/build/<preset>, outputs under staging."""

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

    def write_text(self, rel: str, text: str) -> Path:
        target = self.path(rel)
        target.write_text(text, encoding="utf-8")
        return target

    def write_json(self, rel: str, data: Any) -> Path:
        return self.write_text(rel, to_json(data))

    def render_source(self, template: str, name: str, **context: Any) -> Path:
        """Render a template into the (unbundled) sources folder."""
        target = self.sources / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(template, **context), encoding="utf-8")
        return target

    def bundle(self, entry: Path, out_rel: str, opts: BundleOptions) -> Path:
        """Bundle `entry` into staged folder `out_rel`."""
        outdir = self.path(out_rel)
        bundle(self.project.root, entry, outdir, opts, self._runtime_copy())
        return outdir

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
