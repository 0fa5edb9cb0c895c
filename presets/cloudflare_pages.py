"""cloudflare_pages: a Pages `_worker.js` directory (advanced mode) and `_routes.json` in `dist/`.

Pages has no Cron Triggers. With `cloudflare.pagesCronWorker = true` the build also emits a
companion Worker in `dist/_cron/` that owns the triggers and POSTs each firing to this deployment's
cron endpoint with a shared secret (`NITRO_CRON_SECRET`, set on both).
https://developers.cloudflare.com/pages/functions/advanced-mode/,
https://developers.cloudflare.com/pages/functions/routing/#create-a-_routesjson-file,
https://nitro.build/deploy/providers/cloudflare#cloudflare-pages
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import tomlkit

from ..errors import Warnings
from ..model import Project
from ..plan import Plan
from . import _cloudflare as cf
from . import _cloudflare_node as node
from .base import Entry

CRON_DIR = "_cron"
SECRET = "NITRO_CRON_SECRET"


class CloudflarePages(cf.CloudflarePreset):
    name = "cloudflare_pages"
    output_root = "dist"
    entry = Entry(
        "cloudflare.mjs",
        "createPagesWorker",
        (
            "the Pages `_worker.js` (advanced mode). Pages has no Cron Triggers, so",
            f"schedules arrive as authenticated POSTs to {cf.CRON_PATH} from the companion cron Worker.",
        ),
        export="default",
    )
    # Pages looks for `_worker.js/index.js` and uploads the directory's .js files as ES modules.
    bundle_options = replace(cf.CloudflarePreset.bundle_options, out_extension=".js")

    def server_dir(self, project: Project) -> str:
        return f"{self.output_dir(project)}/_worker.js"

    def outputs(self, project: Project) -> list[str]:
        """`dist`; also a deploy redirect left by a cloudflare_module build, which would make
        `wrangler pages dev/deploy` read that Worker's config instead of this Pages project."""
        stale = [cf.DEPLOY_CONFIG] if cf.generated_redirect(project.root) else []
        return [self.output_dir(project), *stale]

    def entry_args(self, project: Project) -> list[Any]:
        return [*super().entry_args(project), cf.CRON_PATH]

    def worker_runtime(self, project: Project, plan: Plan) -> node.Runtime:
        return pages_runtime(project, plan.warnings)

    def plan(self, project: Project, plan: Plan) -> None:
        """Bundle `_worker.js`, write `_routes.json`, and handle the schedules Pages cannot fire."""
        name = pages_project_name(project, plan)
        super().plan(project, plan)
        # Every path goes to the Worker: `dist` holds no static assets of its own, and the files
        # of `_cron/` (uploaded with the rest of `dist`) must not be served.
        routes = {"version": 1, "include": ["/*"], "exclude": []}
        plan.add_json(f"{self.output_dir(project)}/_routes.json", routes)
        if project.cloudflare.wrangler:
            plan.warnings.warn(
                f"{project.config_name}: cloudflare.wrangler is not used by the cloudflare_pages "
                "preset (Pages takes its settings from the project, or from a wrangler.toml with "
                "pages_build_output_dir); remove it or build with cloudflare_module"
            )
        if not project.schedules:
            return
        if project.cloudflare.pages_cron_worker:
            write_cron_worker(self, project, plan, name)
        else:
            plan.warnings.warn(pages_cron_warning(project, f"{self.output_dir(project)}/{CRON_DIR}/"))

    def commands(self, project: Project) -> dict[str, str]:
        out = self.output_dir(project)
        runtime = pages_runtime(project, Warnings())
        flags = f"--compatibility-date={runtime.date} --compatibility-flags={','.join(runtime.flags)}"
        commands = {
            "preview": f"npx wrangler pages dev {out} {flags}",
            "deploy": f"npx wrangler pages deploy {out}",
        }
        if project.schedules and project.cloudflare.pages_cron_worker:
            commands["cron"] = f"npx wrangler deploy --config {out}/{CRON_DIR}/wrangler.toml"
        return commands


def pages_runtime(project: Project, warnings: Warnings) -> node.Runtime:
    """The date and flags of the user's wrangler config (which Pages reads), else ours; the
    preview command passes them to `wrangler pages dev`."""
    path = cf.find_user_config(project.root, warnings)
    doc = cf.read_user_config(path) if path else tomlkit.document()
    where = path.name if path else "wrangler config"
    return cf.compatibility(doc, lambda key: f"{where}: {key}", project)


def pages_project_name(project: Project, plan: Plan) -> str:
    """The Pages project name: the user's wrangler config's, else package.json's or the folder's."""
    path = cf.find_user_config(project.root, plan.warnings)
    name = cf.plain(cf.read_user_config(path).get("name")) if path else None
    return name if isinstance(name, str) and name else cf.worker_name(project.root, plan.warnings)


def pages_cron_warning(project: Project, cron_dir: str) -> str:
    crons = ", ".join(f'"{s.cron}"' for s in project.schedules)
    return (
        f"{project.config_name}: scheduledTasks ({crons}): Cloudflare Pages has no Cron "
        "Triggers, so these schedules will not run on Pages. Set `cloudflare.pagesCronWorker = "
        f"true` to emit a companion cron Worker in {cron_dir} that triggers them, or build with "
        "the cloudflare_module preset (a Worker with native Cron Triggers)"
    )


def write_cron_worker(preset: CloudflarePages, project: Project, plan: Plan, name: str) -> None:
    """`dist/_cron/`: a Worker whose Cron Triggers POST each firing to the Pages deployment."""
    folder = f"{preset.output_dir(project)}/{CRON_DIR}"
    plan.add_template(
        f"{folder}/index.mjs", "cloudflare/cron_worker.mjs.jinja", cron_path=cf.CRON_PATH, secret=SECRET
    )
    doc = tomlkit.document()
    doc["name"] = cf.valid_worker_name(f"{name}-cron")
    doc["main"] = "index.mjs"
    doc["compatibility_date"] = project.cloudflare.compatibility_date or node.DEFAULT_COMPATIBILITY_DATE
    doc["workers_dev"] = False  # the Worker only has Cron Triggers; no public URL is needed
    # A Pages project's production URL is <project>.pages.dev
    # (https://developers.cloudflare.com/pages/configuration/preview-deployments/); for a custom
    # domain, deploy with `--var NITRO_PAGES_URL:https://example.com`.
    doc["vars"] = {"NITRO_PAGES_URL": f"https://{cf.valid_worker_name(name)}.pages.dev"}
    doc["triggers"] = {"crons": list(cf.cron_triggers(project, preset.name))}
    note = f"companion cron Worker of the Pages project {name!r}; set the {SECRET} secret on both"
    plan.add_text(f"{folder}/wrangler.toml", cf.toml_text(doc, note))


preset = CloudflarePages()
