"""cloudflare_module: a module Worker `{ fetch, scheduled }` with Cron Triggers in wrangler.toml.

`.wrangler/deploy/config.json` redirects wrangler to the generated `.output/server/wrangler.toml`,
so `npx wrangler deploy` works from the project root
(https://developers.cloudflare.com/workers/wrangler/configuration/#generated-wrangler-configuration,
https://nitro.build/deploy/providers/cloudflare).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import tomlkit

from ..errors import ConfigError, Warnings
from ..model import Project
from ..plan import Plan
from . import _cloudflare as cf
from . import _cloudflare_node as node
from .base import Entry

# Minified beside an index.mjs.map that wrangler uploads (upload_source_maps, unless the user's
# config sets it): Cloudflare maps a failing task's stack back to its .ts file and line in
# Workers Logs and Tail Workers (https://developers.cloudflare.com/workers/observability/source-maps/).
SOURCE_MAPS = "upload_source_maps"

# Keys this preset must own for wrangler to upload the bundle as built: our index.mjs, unbundled,
# with any further module found through the ESModule rule
# (https://developers.cloudflare.com/workers/wrangler/bundling/).
OWNED: dict[str, Any] = {
    "main": "index.mjs",
    "no_bundle": True,
    "find_additional_modules": True,
    "rules": [{"type": "ESModule", "globs": ["**/*.mjs"]}],
}
# User keys that cannot apply to the generated Worker: module discovery must start at our bundle,
# and `pages_build_output_dir` would turn the config into a Pages one.
DROPPED = ("base_dir", "pages_build_output_dir")


class CloudflareModule(cf.CloudflarePreset):
    name = "cloudflare_module"
    entry = Entry(
        "cloudflare.mjs",
        "createModuleWorker",
        (
            "a module Worker. `fetch` serves the routes and /_nitro/tasks;",
            "`scheduled` runs the tasks of the Cron Trigger that fired (keys: the crons in wrangler.toml).",
        ),
        export="default",
    )
    bundle_options = replace(cf.CloudflarePreset.bundle_options, sourcemap=True, minify=True)

    def outputs(self, project: Project) -> list[str]:
        """The output folder and the deploy redirect; the user's wrangler files are never written."""
        return [self.output_dir(project), cf.DEPLOY_CONFIG]

    def worker_runtime(self, project: Project, plan: Plan) -> node.Runtime:
        """Write the Worker's wrangler.toml and the deploy redirect."""
        return write_wrangler_config(self, project, plan)

    def commands(self, project: Project) -> dict[str, str]:
        return {"preview": "npx wrangler dev", "deploy": "npx wrangler deploy"}


def write_wrangler_config(preset: cf.CloudflarePreset, project: Project, plan: Plan) -> node.Runtime:
    """wrangler.toml = user file <- cloudflare.wrangler <- CLOUDFLARE_ENV environment <- preset keys.

    Returns the Worker's compatibility date and flags."""
    root = project.root
    user_path = cf.find_user_config(root, plan.warnings)
    doc = cf.read_user_config(user_path) if user_path else tomlkit.document()
    ctx = copy.deepcopy(project.cloudflare.wrangler)
    ctx_where = f"{project.config_name}: cloudflare.wrangler"
    where = user_path.name if user_path else ctx_where

    def origin(key: str) -> str:
        """Where a top-level key of the merged config was written, for messages."""
        return f"{ctx_where}.{key}" if key in ctx else f"{where}: {key}"

    sources = ", ".join(s for s in (user_path and user_path.name, ctx and ctx_where) if s)
    ctx_crons = take_crons(ctx, ctx_where)
    cf.merge_over(doc, ctx)
    cf.select_environment(doc, where, os.environ.get("CLOUDFLARE_ENV") or None, plan.warnings)
    server_dir = preset.server_dir(project)
    cf.rebase_paths(doc, root, root / server_dir)
    set_name(doc, origin, root, plan.warnings)
    set_owned(doc, origin, preset.name, plan.warnings)
    if SOURCE_MAPS not in doc:
        cf.set_key(doc, SOURCE_MAPS, True)
    runtime = cf.compatibility(doc, origin, project)
    if "compatibility_date" not in doc:
        cf.set_key(doc, "compatibility_date", runtime.date)
    if list(runtime.flags) != cf.plain(doc.get("compatibility_flags", [])):
        cf.set_key(doc, "compatibility_flags", list(runtime.flags))
    cf.add_crons(doc, ctx_crons + list(cf.cron_triggers(project, preset.name)), where)
    note = f"made by the {preset.name} preset from: {sources or 'defaults'}"
    plan.add_text(f"{server_dir}/wrangler.toml", cf.toml_text(doc, note))
    target = os.path.relpath(root / server_dir / "wrangler.toml", root / os.path.dirname(cf.DEPLOY_CONFIG))
    plan.add_json(cf.DEPLOY_CONFIG, {"configPath": Path(target).as_posix()})
    return runtime


def take_crons(ctx: dict[str, Any], where: str) -> list[str]:
    """Remove and return cloudflare.wrangler's crons: they are added to the user's, not merged over them."""
    crons = cf.user_crons(ctx, where)
    if isinstance(ctx.get("triggers"), dict):
        ctx["triggers"].pop("crons", None)
        if not ctx["triggers"]:
            del ctx["triggers"]
    return crons


def set_name(doc: Any, origin: Callable[[str], str], root: Path, warnings: Warnings) -> None:
    """The user's worker name, else one made from package.json or the folder."""
    name = cf.plain(doc.get("name"))
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{origin('name')} must be a string (got {json.dumps(name, default=str)})")
    if not name:
        cf.set_key(doc, "name", cf.worker_name(root, warnings))


def set_owned(doc: Any, origin: Callable[[str], str], preset: str, warnings: Warnings) -> None:
    """Set the keys the preset owns, warning on each user value it overrides."""
    for key, value in OWNED.items():
        current = cf.plain(doc.get(key))
        if current is not None and current != value:
            warnings.warn(
                f"{origin(key)} = {json.dumps(current)} is overridden by the {preset} preset "
                f"(it needs {json.dumps(value)}); remove it to silence this warning"
            )
        cf.set_key(doc, key, value)
    for key in DROPPED:
        if key in doc:
            warnings.warn(f"{origin(key)} does not apply to the generated Worker and is ignored; remove it")
            del doc[key]


preset = CloudflareModule()
