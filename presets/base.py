"""The base every preset extends: registry + entry rendered from templates, bundled by esbuild.

A preset subclass changes only what differs on its platform (runtime adapter, esbuild options,
output folder, platform artifacts), in the spirit of Nitro's `extends`
(https://github.com/nitrojs/nitro/tree/main/src/presets).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from .._version import __version__ as VERSION
from ..awaiting_imports import helpers_awaiting
from ..chunk_banner import REQUIRE_BANNER
from ..errors import CronError
from ..features import SERVER, Features
from ..lazy_tasks import FOLDER, LIST, awaiting_message, group_name, task_modules
from ..model import Project
from ..nitro_apis import plan_runtime_apis
from ..plan import BundleOptions, Plan, import_paths
from ..scan import _rel
from ..scheduler_lock import scheduler_options


@dataclass(frozen=True)
class Entry:
    """The generated entry.mjs (templates/entry.mjs.jinja): import `start` from a runtime adapter and
    call it with the registry and the preset's `entry_args`, exporting the result as `export` says."""

    adapter: str  # the module under templates/runtime/
    start: str  # the adapter's function
    doc: tuple[str, ...]  # what the bundle does, for the comment at its top
    export: str = ""  # "" (called for its effect), "default", or a destructuring: "{ a, b }"
    # The adapter's function that makes a cron handler from task names; with it, the entry registers
    # `crons` (entry_crons) with `Deno.cron` at its top level, where Deno Deploy looks for them.
    cron: str = ""


class Preset:
    """A Node server build; other presets override the class attributes and hooks below."""

    name: ClassVar[str] = "node_server"
    output_root: ClassVar[str] = ".output"  # replaced by the config's `output.dir`
    entry: ClassVar[Entry] = Entry(
        "node.mjs",
        "startNode",
        (
            "`node index.mjs` serves HTTP and runs the schedules;",
            "`node index.mjs task list|run NAME` runs one task without a server.",
        ),
    )
    bundle_options: ClassVar[BundleOptions] = BundleOptions(
        platform="node",
        target="node20",
        splitting=True,
        sourcemap=True,
        minify=True,
        # The dashboard's files beside the bundle, read at run time: by a server, and on Vercel,
        # whose function sees every file below its .func folder as a filesystem mount
        # (https://vercel.com/docs/build-output-api/primitives).
        ui_file=True,
        # Bundled CommonJS dependencies may call require() on Node built-ins inside ESM output.
        # The source maps are applied by runtime/stack_maps.mjs, which the entry imports first.
        banner=REQUIRE_BANNER,
    )
    dev: ClassVar[bool] = False
    # Whether Node runs the bundle: its entry then maps stack traces (runtime/stack_maps.mjs); Deno
    # maps them itself, Bun does not read .map files.
    node_stack_maps: ClassVar[bool] = True
    # Whether those stacks are formatted by runtime/stack_maps.mjs in a Node process running our
    # entry, which names each frame's function from the map: the minified bundle then drops esbuild's
    # --keep-names where no project code could read a name (BundleOptions.names_from_maps). Not on
    # a host platform's Node (Vercel, Netlify), whose launcher may format stacks itself.
    frame_names_from_maps: ClassVar[bool] = True
    # Whether the run history's records go to another process even without a lock or storage
    # (node_cluster: to the primary, runtime/run_cluster.mjs); see import_meta `_runStore`.
    runs_in_primary: ClassVar[bool] = False
    # A line the build summary prints under the schedules: how the platform fires them.
    schedule_note: ClassVar[str] = ""
    # What the preset supports; the build holds the project against it (compiler/features.py).
    features: ClassVar[Features] = SERVER

    def output_dir(self, project: Project) -> str:
        """The output folder relative to the project root."""
        if project.output_dir is not None:
            return project.output_dir.relative_to(project.root).as_posix()
        return self.output_root

    def server_dir(self, project: Project) -> str:
        return f"{self.output_dir(project)}/server"

    def outputs(self, project: Project) -> list[str]:
        """Every path (relative to the root) this preset owns and replaces on each build."""
        return [self.output_dir(project)]

    def plan(self, project: Project, plan: Plan) -> None:
        """Plan the sources and their bundle; presets add platform artifacts. nitro.json, which
        lists the bundle's hashes, is written by the pipeline after bundling (nitro_json_path)."""
        entry = self.render_sources(project, plan)
        plan.bundle(entry, self.server_dir(project), self.project_bundle_options(project, plan))

    def project_bundle_options(self, project: Project, plan: Plan) -> BundleOptions:
        """The preset's bundle options for this project: Nitro's import.meta constants and the
        project's own auto-imports (utils/ exports), on every preset."""
        own = tuple((name, str(path)) for name, path in project.util_exports)
        awaiting: tuple[tuple[str, str, str], ...] = ()
        if not self.bundle_options.splitting:
            # One file (nitro dev, Workers): esbuild imports the auto-import module into every
            # module, those it re-exports too; one that awaits at its top level, or imports a
            # module that does, makes that cycle wait on itself and the bundle never starts.
            # Imported by path it works.
            waits = helpers_awaiting(project.root, sorted({path for _, path in own}), self.bundle_options)
            # (name, module relative to the root, the module that awaits): only named in messages.
            awaiting = tuple((name, _rel(Path(p), project.root), waits[p]) for name, p in own if p in waits)
            own = tuple(pair for pair in own if pair[1] not in waits)
            for module, via in sorted({(module, via) for _, module, via in awaiting}):
                names = ", ".join(name for name, where, _ in awaiting if where == module)
                plan.warnings.warn(awaiting_message(module, f"its exports ({names})", via))
        return replace(
            self.bundle_options,
            defines=self.import_meta(project),
            project_auto_imports=own,
            awaiting_auto_imports=awaiting,
            sync_task_groups=self.node_stack_maps and self.bundle_options.splitting,
            names_from_maps=self._names_from_maps(),
        )

    def import_meta(self, project: Project) -> tuple[tuple[str, str], ...]:
        """`import.meta.*` constants as Nitro defines them (src/build/config.ts): replaced at build
        time, so `if (import.meta._tasks)` and `import.meta.dev` branches are decided by esbuild."""
        # Each read twice below; scheduler_options walks every task (10,000 on the big path).
        lock, storage = "schedulerLock" in scheduler_options(project), self.run_storage_mount(project)
        values = {
            "dev": self.dev,
            "preset": "nitro-dev" if self.dev else self.name.replace("_", "-"),
            "prerender": False,
            "nitro": True,
            "server": True,
            "client": False,
            "baseURL": "/",
            "_tasks": project.tasks_enabled,
            # Ours: without a lock the Redis client is left out of the bundle (runtime/lock.mjs).
            "_schedulerLock": lock,
            # Ours: without routes or schedules, their code is left out (runtime/app.mjs, server.mjs);
            # nitro dev keeps both, for the routes and schedules added while it runs.
            "_routes": self.dev or bool(project.routes),
            "_schedules": self.dev or bool(project.schedules),
            # Ours: the storage mount that keeps the run history (runtime/run_storage.mjs), or false.
            "_runStorage": storage,
            # Ours: whether a shared run store may be set at all (runtime/runs.mjs setRunStore: the
            # lock's Redis, a storage mount, node_cluster's primary); false leaves its code out.
            "_runStore": self.dev or lock or bool(storage) or self.runs_in_primary,
        }
        return tuple((f"import.meta.{k}", json.dumps(v)) for k, v in values.items())

    def run_storage_mount(self, project: Project) -> str | bool:
        """Where the run history is shared when the project configures storage: the `runs` mount,
        else `data`, else the first one (nitro dev adds `devStorage`); false without storage."""
        mounts = list(project.storage) + (list(project.dev_storage) if self.dev else [])
        for name in ("runs", "data"):
            if name in mounts:
                return name
        return mounts[0] if mounts else False

    def render_sources(self, project: Project, plan: Plan) -> str:
        """Plan registry.mjs and the entry in .nitro/build/<preset>/; return the entry's path."""
        plan.add_source("registry.mjs.jinja", "registry.mjs", **self.registry_context(project, plan))
        plan_runtime_apis(project, plan, self.name, self.dev)
        args, crons = self.entry_args(project), self.entry_crons(project)
        return plan.add_source(
            "entry.mjs.jinja",
            "entry.mjs",
            preset=self.name,
            entry=self.entry,
            args=args,
            crons=crons,
            dev=self.dev,  # nitro dev's entry passes the registry's dev exports on too
            stack_maps=self._maps_stacks(),
        )

    def _maps_stacks(self) -> bool:
        """Whether Node runs the bundle with source maps (the entry then imports stack_maps.mjs)."""
        opts = self.bundle_options
        return self.node_stack_maps and opts.sourcemap and opts.platform == "node"

    def _names_from_maps(self) -> bool:
        """BundleOptions.names_from_maps: a minified bundle whose stacks stack_maps.mjs formats."""
        return self.frame_names_from_maps and self._maps_stacks() and self.bundle_options.minify

    def registry_context(self, project: Project, plan: Plan) -> dict[str, Any]:
        src, root = plan.sources, project.root
        # Relative to the group modules, which sit one folder below the registry (lazy_tasks.py).
        task_imports = import_paths([t.handler for t in project.tasks], src / FOLDER, root)
        modules = task_modules(
            [
                (t.name, t.description, t.dynamic_description, path)
                for t, path in zip(project.tasks, task_imports, strict=True)
            ]
        )
        for name, text in modules.items():
            plan.add_text(f"{plan.sources_rel}/{name}", text)
        route_imports = import_paths([r.handler for r in project.routes], src, root)
        plugin_imports = import_paths(list(project.plugins), src, root)
        return {
            "groups": [f"./{group_name(n)}" for n in range(len(modules) - 1)],
            "task_list": f"./{LIST}",
            "schedules": [
                {"cron": s.cron, "tasks": list(s.tasks), "spec": s.spec} for s in project.schedules
            ],
            "routes": [
                {
                    "route": r.route,
                    "method": r.method,
                    "segments": list(r.segments),
                    "import": path,
                }
                for r, path in zip(project.routes, route_imports, strict=True)
            ],
            "plugins": [
                {"file": _rel(p, root), "import": path}
                for p, path in zip(project.plugins, plugin_imports, strict=True)
            ],
            "options": self.runtime_options(project),
        }

    def runtime_options(self, project: Project) -> dict[str, Any]:
        """Data the shipped runtime reads from `registry.options`."""
        options = {"preset": self.name, "dev": self.dev, **scheduler_options(project)}
        if self.dev:  # the dashboard (/_nitro/ui) names each task's file in dev only
            options["taskFiles"] = {
                t.name: _rel(t.handler, project.root) for t in project.tasks if t.handler is not None
            }
        return options

    def entry_args(self, project: Project) -> list[Any]:
        """Build-time data the entry passes to the adapter's `start` after the registry."""
        return []

    def entry_crons(self, project: Project) -> list[dict[str, Any]]:
        """`[{name, schedule, tasks}]` the entry registers with Deno.cron (Entry.cron); none here."""
        return []

    def platform_cron(self, cron: str) -> str | None:
        """The expression as the platform's own cron service receives it (None: our scheduler)."""
        return None

    def commands(self, project: Project) -> dict[str, str]:
        """How to preview (and deploy) the output, as written to nitro.json and printed."""
        return {"preview": f"node {self.server_dir(project)}/index.mjs"}

    def nitro_json_path(self, project: Project) -> str:
        return f"{self.output_dir(project)}/nitro.json"

    def nitro_json(self, project: Project) -> dict[str, Any]:
        return {
            "preset": self.name,
            "framework": {"name": "nitro-build", "version": VERSION},
            "commands": self.commands(project),
        }


def platform_cron(
    project: Project, cron: str, preset: str, translate: Callable[[str], str], advice: str
) -> str:
    """`cron` in a platform's dialect; a refusal names the config file, the expression, the preset,
    and ends with the platform's `advice` (its rule and doc)."""
    try:
        return translate(cron)
    except CronError as exc:
        where = f"{project.config_name}: scheduledTasks.{json.dumps(cron)}"
        raise CronError(f"{where}: the {preset} preset cannot use this schedule: {exc}{advice}") from None
