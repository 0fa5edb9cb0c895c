"""The staging area a preset writes into, and the swap that puts a finished build in place.

A failed build leaves the previous output and the user's own files untouched: presets write
only below a staging folder, and the outputs are renamed into place after everything succeeded.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bundle import BundleOptions, bundle
from .errors import Warnings
from .model import Project
from .render import render

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
        bundle(self.project.root, entry, outdir, opts)
        return outdir

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def swap_into_place(self, outputs: list[str]) -> None:
        """Replace each output path with its staged version, then drop the staging folder."""
        root = self.project.root
        trash = self.staging.with_name(self.staging.name + ".old")
        shutil.rmtree(trash, ignore_errors=True)
        for rel in outputs:
            staged, live = self.staging / rel, root / rel
            if live.exists() or live.is_symlink():
                (trash / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(live, trash / rel)
            if staged.exists():
                live.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, live)
        shutil.rmtree(trash, ignore_errors=True)
        self.discard()
