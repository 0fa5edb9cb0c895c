"""What a build will write, as data: every generated file's text, and the bundles still to make.

Presets fill a Plan and never touch the disk. A dry run (`--dry-run`, `build(dry_run=True)`,
`nitro-build check`) stops there; a real build writes exactly these texts (emit.Emitter), then
bundles. So a dry run's artifacts are, byte for byte, the files a real build writes. What depends on
the bundle (the bundles themselves, and nitro.json, which lists their sha256) is not in a plan.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Warnings
from .model import Project

WORK_DIR = ".nitro"


def to_json(data: Any) -> str:
    """Platform files and nitro.json: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class BundleOptions:
    """What a preset chooses about bundling; the rest is common to every preset."""

    platform: str = "node"  # esbuild --platform
    target: str = "node20"
    conditions: tuple[str, ...] = ()
    banner: str = ""
    entry_name: str = "index"
    out_extension: str = ".mjs"
    external: tuple[str, ...] = field(default=())
    defines: tuple[tuple[str, str], ...] = ()  # esbuild --define (name, JavaScript expression)
    # The project's own auto-imports (utils/ exports): (name, absolute module path).
    project_auto_imports: tuple[tuple[str, str], ...] = ()
    # utils/ exports left out of the auto-imports because their module awaits at its top level in
    # a bundle without splitting (presets/base.py project_bundle_options): (name, module relative
    # to the root, the module that awaits: itself or one it imports).
    awaiting_auto_imports: tuple[tuple[str, str, str], ...] = ()
    # esbuild --splitting: task groups, routes and plugins become chunks beside the entry, read
    # only when first loaded (compiler/lazy_tasks.py); off where the platform wants one file.
    splitting: bool = False
    # esbuild --sourcemap (a .map beside each file; the banner enables it at run time), so a
    # failing task's stack names its own .ts file and line (compiler/sourcemaps.py).
    sourcemap: bool = False
    # esbuild --minify, only beside source maps the runtime applies to its stack traces (issue #14:
    # a smaller bundle whose traces still name the .ts file and line), with --keep-names, since
    # code may read a function's or class's `.name` and V8 names stack frames by it ...
    minify: bool = False
    # ... unless the runtime names each frame's function from the source map (runtime/stack_maps.mjs
    # formats the process's stacks) and nothing bundled but our runtime could read a name
    # (compiler/keep_names.py, decided from the project's sources as the bundle reads them).
    names_from_maps: bool = False
    # The dashboard's files (compiler/ui_assets.py) as a file beside the bundle, read at run time,
    # where the deployed server has its files (not a Worker): else they ship inside the bundle.
    ui_file: bool = False
    # Node: the entry loads a task group's chunk with a synchronous require() where Node can
    # require an ES module (chunk_banner.finish_outputs), import() elsewhere.
    sync_task_groups: bool = False
    metafile: bool = False  # write meta.json (every bundled input) beside the sources, for nitro dev
    # nitro dev: the bundle exposes the modules task files import (compiler/dev_modules.py).
    dev_modules: bool = False


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
        up + str(t)[len(prefix) :].replace(os.sep, "/")
        if t is not None and str(t).startswith(prefix)
        else (import_path(t, from_dir) if t is not None else None)
        for t in targets
    ]


@dataclass(frozen=True)
class BundleStep:
    """Bundle the generated entry `entry` (relative to the project) into the folder `out_dir`."""

    entry: str
    out_dir: str
    options: BundleOptions
    # Called with esbuild's metafile once bundled (options.metafile): a preset's check of what the
    # bundle imports, which only esbuild knows (a dry run does not bundle, so does not check).
    check: Callable[[dict[str, Any]], None] | None = None


@dataclass
class Plan:
    """The generated files of one build (path relative to the project -> text), before bundling.

    Sources (registry, entry) live in `.nitro/build/<preset>/`; everything else is output, staged
    and swapped into place by a real build. A template is rendered only when its text is read, so
    `nitro-build check` validates a build without loading Jinja.
    """

    project: Project
    preset: str
    warnings: Warnings
    bundles: list[BundleStep] = field(default_factory=list)
    _files: dict[str, str | Callable[[], str]] = field(default_factory=dict)

    @property
    def sources_rel(self) -> str:
        return f"{WORK_DIR}/build/{self.preset}"

    @property
    def sources(self) -> Path:
        """The absolute folder of the generated sources (import paths are relative to it)."""
        return self.project.root / self.sources_rel

    def add_text(self, rel: str, text: str | Callable[[], str]) -> str:
        """Add the output file `rel` (relative to the project); return `rel`."""
        self._files[rel] = text
        return rel

    def add_json(self, rel: str, data: Any) -> str:
        return self.add_text(rel, to_json(data))

    def add_template(self, rel: str, template: str, **context: Any) -> str:
        """Add `rel`, rendered from `templates/<template>` when first read."""

        def rendered() -> str:
            from .render import render

            return render(template, **context)

        return self.add_text(rel, rendered)

    def add_source(self, template: str, name: str, **context: Any) -> str:
        """Add a generated (unbundled) source in `.nitro/build/<preset>/`; return its path."""
        return self.add_template(f"{self.sources_rel}/{name}", template, **context)

    def bundle(
        self,
        entry: str,
        out_dir: str,
        options: BundleOptions,
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.bundles.append(BundleStep(entry, out_dir, options, check))

    def is_source(self, rel: str) -> bool:
        return rel.startswith(self.sources_rel + "/")

    def files(self) -> dict[str, str]:
        """Every planned file's text, rendered, sorted by path."""
        for rel, text in list(self._files.items()):
            if callable(text):
                self._files[rel] = text()
        return {rel: str(self._files[rel]) for rel in sorted(self._files)}
