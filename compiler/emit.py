"""The staging area a preset writes into, and the swap that puts a finished build in place.

A failed build leaves the previous output and the user's own files untouched: presets write
only below a staging folder, and the outputs are renamed into place after everything succeeded
(swap.py; which paths may be outputs at all: output_rules.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .bundle import bundle
from .errors import Warnings
from .model import Project
from .plan import WORK_DIR, Plan
from .render import RUNTIME_DIR
from .swap import STAGING_PREFIX, move_to_trash, swap_into_place


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
        self.staging = work / f"{STAGING_PREFIX}{self.preset}-{os.getpid()}"
        self.sources = work / "build" / self.preset
        shutil.rmtree(self.staging, ignore_errors=True)
        clear_sources(self.sources, work)
        self.staging.mkdir(parents=True)
        self.sources.mkdir(parents=True, exist_ok=True)

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

    def run_bundles(self, plan: Plan, meanwhile: Callable[[], object] | None = None) -> None:
        """Bundle each planned entry into its staged output folder; `meanwhile` is called while
        the first esbuild runs (bundle.py)."""
        for step in plan.bundles:
            entry = self.project.root / step.entry
            out = self.path(step.out_dir)
            bundle(self.project.root, entry, out, step.options, self._runtime_copy(), meanwhile)
            meanwhile = None
            if step.check is not None:
                step.check(json.loads((entry.parent / "meta.json").read_text(encoding="utf-8")))

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

    def swap_into_place(self, outputs: list[str]) -> None:
        """Replace each output path with its staged version (swap.py: safe against kills)."""
        swap_into_place(self.project.root, self.staging, outputs)


def clear_sources(sources: Path, work: Path) -> None:
    """Empty the previous build's sources, keeping its runtime copy when it is still a faithful
    copy of ours: removing and copying its files again was a tenth of a small build (issue 14).
    The rest goes to the trash the next build deletes (swap.move_to_trash): deleting a 10,000-task
    build's 200 group modules waited on the disk for up to 0.2 s."""
    runtime = sources / "runtime"
    if not _same_files(RUNTIME_DIR, runtime):
        move_to_trash([sources], work)
        return
    move_to_trash([Path(e.path) for e in os.scandir(sources) if e.name != "runtime"], work)


def _same_files(original: Path, copy: Path) -> bool:
    """Whether `copy` holds exactly `original`'s files, each with its size and modification time
    (shutil.copytree keeps both): an edited template or copy, or a file added or left out, is not."""
    return copy.is_dir() and not copy.is_symlink() and _listing(original) == _listing(copy)


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            found[os.path.relpath(path, folder)] = (st.st_size, st.st_mtime_ns)
    return found
