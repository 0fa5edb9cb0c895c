"""vercel: Vercel's Build Output API v3, deployed with `vercel deploy --prebuilt`.

One Node.js function (`functions/__server.func`) serves every route and the cron handler;
`config.json` routes everything to it and lists one cron job per schedule, each on its own path
under `vercel.cronHandlerRoute`. https://vercel.com/docs/build-output-api/v3,
https://vercel.com/docs/cron-jobs, https://nitro.build/deploy/providers/vercel
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ..cron import VERCEL_DOC, fires_more_than_daily, to_vercel
from ..errors import ConfigError, CronError, Warnings
from ..features import Features, NodeBuiltins, Scheduling
from ..model import Project
from ..plan import Plan
from .base import Entry, Preset

FUNCTION = "__server"
# https://vercel.com/docs/build-output-api/primitives#serverless-function-configuration
# `launcherType: "Nodejs"` + `handler`: Vercel's Node launcher imports index.mjs and, as its default
# export has `fetch`, calls it with a web Request (see templates/runtime/vercel.mjs). Node 20 is
# deprecated on Vercel (https://vercel.com/docs/functions/runtimes/node-js/node-js-versions); the
# bundle targets node20 syntax, so it runs unchanged on 22.
FUNCTION_CONFIG = {
    "runtime": "nodejs22.x",
    "handler": "index.mjs",
    "launcherType": "Nodejs",
    "shouldAddHelpers": False,
    "supportsResponseStreaming": True,
}
# Keys of the Build Output `config.json` a user's vercel.json may carry over
# (https://vercel.com/docs/build-output-api/configuration). vercel.json's own `version` is the
# legacy v2 marker and `$schema` an editor hint: both are dropped without a warning.
CARRIED_KEYS = ("routes", "images", "wildcard", "overrides", "cache", "crons")
SILENT_KEYS = ("$schema", "version")
ROUTE_PATH = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+")
# Vercel's limit on a cron job's path (vercel/vercel packages/cli/src/commands/crons/add.ts).
MAX_CRON_PATH = 512
# Cron jobs per project, on every plan (https://vercel.com/docs/cron-jobs/usage-and-pricing).
MAX_CRON_JOBS = 100


# Vercel calls the cron job's path on schedule and does not wait for the previous invocation
# to finish: runs of a slow job overlap unless the function locks
# (https://vercel.com/docs/cron-jobs/manage-cron-jobs, "concurrency control").
FEATURES = Features(
    utc_only=True,  # its cron service fires in UTC only (compiler/features.py check_time_zones)
    scheduling=Scheduling.VERCEL_CRON,
    scheduler_lock=False,
    overlap=frozenset(),
    node_builtins=NodeBuiltins.ALL,  # a Node.js function
    platform=frozenset({"tcp"}),  # its filesystem is per instance and read-only outside /tmp
    sections=frozenset({"vercel"}),
    why_not=(
        (
            "scheduler_lock",
            "Vercel Cron Jobs invoke the function once per schedule; the lock coordinates the "
            "in-process scheduler of the server presets, which this bundle does not run",
        ),
        (
            "overlap",
            "Vercel invokes a cron job on schedule without waiting for the previous invocation, so "
            "runs of a slow task can overlap (an invocation on the same instance joins the run in "
            "progress)",
        ),
    ),
)


class Vercel(Preset):
    name = "vercel"
    output_root = ".vercel/output"
    entry = Entry(
        "vercel.mjs",
        "createVercelHandler",
        (
            'Vercel\'s Node.js runtime imports this file (`.vc-config.json` "handler") and',
            "calls the default export's `fetch(request, context)` for every request, cron invocations included.",
        ),
        export="default",
    )
    utc_schedules = True  # Vercel runs cron jobs in UTC
    frame_names_from_maps = False  # the platform's Node launcher may format stacks: names kept
    features = FEATURES

    def output_dir(self, project: Project) -> str:
        # Always .vercel/output, whatever `output.dir` says: `vercel deploy --prebuilt` reads the
        # Build Output API only there.
        return self.output_root

    def platform_cron(self, cron: str) -> str | None:
        return to_vercel(cron)

    def outputs(self, project: Project) -> list[str]:
        """Only `.vercel/output`: the user's vercel.json is read, never written."""
        return [self.output_dir(project)]

    def server_dir(self, project: Project) -> str:
        return f"{self.output_dir(project)}/functions/{FUNCTION}.func"

    def plan(self, project: Project, plan: Plan) -> None:
        """Validate, bundle the function, then write `.vc-config.json` and `config.json`."""
        jobs = cron_jobs(project)
        user = read_vercel_json(project.root)
        warn_about_schedules(project, plan.warnings)
        super().plan(project, plan)
        plan.add_json(f"{self.server_dir(project)}/.vc-config.json", FUNCTION_CONFIG)
        extra = (f"{project.config_name}: vercel.config.crons", list(project.vercel.config_crons))
        config = build_config(jobs, user, cron_handler_route(project), plan.warnings, extra)
        plan.add_json(f"{self.output_dir(project)}/config.json", config)

    def entry_args(self, project: Project) -> list[Any]:
        cron = {
            "route": cron_handler_route(project),
            "allowUnauthenticated": project.vercel.allow_unauthenticated_cron,
            "jobs": cron_jobs(project),
        }
        return [cron]

    def commands(self, project: Project) -> dict[str, str]:
        return {"deploy": "npx vercel deploy --prebuilt"}


preset = Vercel()


def cron_handler_route(project: Project) -> str:
    """`vercel.cronHandlerRoute`, checked: a URL path the cron handler owns outright."""
    route = project.vercel.cron_handler_route
    where = f"{project.config_name}: vercel.cronHandlerRoute"
    if not route.startswith("/"):
        raise ConfigError(f"{where}: must start with a slash (got {route!r}); write {'/' + route!r}")
    if not ROUTE_PATH.fullmatch(route) or len(route) > MAX_CRON_PATH - 20:
        raise ConfigError(
            f"{where}: must be a short URL path such as '/_vercel/cron', without a trailing slash, "
            f"spaces, query or fragment (got {route!r})"
        )
    for r in project.routes if project.schedules else ():
        if r.route == route or r.route.startswith(route + "/"):
            raise ConfigError(
                f"{where}: {route!r} is also the route {r.route} ({r.handler.name}); the cron handler "
                "owns every path below it, so choose another cronHandlerRoute or move the route"
            )
    return route


def cron_path(route: str, cron: str) -> str:
    """The schedule's own path: stable across builds, independent of the other schedules."""
    return f"{route}/{hashlib.sha256(cron.encode()).hexdigest()[:12]}"


def cron_jobs(project: Project) -> list[dict[str, Any]]:
    """One cron job per schedule, in Vercel's dialect; a schedule Vercel refuses is an error."""
    route = cron_handler_route(project)
    jobs = []
    for s in project.schedules:
        try:
            schedule = to_vercel(s.cron)
        except CronError as exc:
            raise CronError(
                f"{project.config_name}: scheduledTasks.{json.dumps(s.cron)}: {exc} ({VERCEL_DOC})"
            ) from None
        path = cron_path(route, s.cron)
        jobs.append({"path": path, "schedule": schedule, "cron": s.cron, "tasks": list(s.tasks)})
    return jobs


def warn_about_schedules(project: Project, warnings: Warnings) -> None:
    """The Hobby plan's daily limit, and an unauthenticated cron handler."""
    name = project.config_name
    for s in project.schedules:
        if fires_more_than_daily(s.cron):
            warnings.warn(
                f"{name}: scheduledTasks.{json.dumps(s.cron)} fires more than once a day: Vercel's "
                "Hobby plan runs cron jobs at most once a day and refuses more frequent ones; Pro "
                "and Enterprise run it as written (https://vercel.com/docs/cron-jobs/usage-and-pricing)"
            )
    if project.vercel.allow_unauthenticated_cron:
        warnings.warn(
            f"{name}: vercel.allowUnauthenticatedCron = true: when CRON_SECRET is not set, anyone "
            "can run the scheduled tasks through the cron handler; set CRON_SECRET in the Vercel "
            "project and remove this setting"
        )


def read_vercel_json(root: Path) -> dict[str, Any]:
    """The project's own vercel.json as data ({} when absent); it is never modified."""
    path = root / "vercel.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))  # editors may add a byte order mark
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"vercel.json: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; "
            "fix the file (nitro-build reads it and never changes it)"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError("vercel.json: not UTF-8 text; save it as UTF-8") from None
    if not isinstance(data, dict):
        raise ConfigError("vercel.json: the top level must be an object of settings")
    return data


def build_config(
    jobs: list[dict[str, Any]],
    user: dict[str, Any],
    route: str,
    warnings: Warnings,
    extra: tuple[str, list[Any]] = ("", []),
) -> dict[str, Any]:
    """config.json: the user's supported keys, our routes after theirs, every set of crons
    (ours, vercel.json's, then the nitro config's `vercel.config.crons` as Nitro appends them)."""
    ignored = sorted(k for k in user if k not in CARRIED_KEYS and k not in SILENT_KEYS)
    if ignored:
        warnings.warn(
            f"vercel.json: {', '.join(ignored)} not carried into .vercel/output/config.json: the "
            "Build Output API has no such key, and `vercel deploy --prebuilt` deploys that folder "
            "as it is; express redirects, rewrites and headers as `routes` "
            "(https://vercel.com/docs/build-output-api/configuration#routes)"
        )
    config = {k: user[k] for k in CARRIED_KEYS if k in user}
    config["version"] = 3
    config["routes"] = merge_routes(user.get("routes", []))
    crons = merge_crons(jobs, user.get("crons", []), route, warnings)
    crons = merge_crons(crons, extra[1], route, warnings, extra[0])
    if len(crons) > MAX_CRON_JOBS:  # the deployment would be refused; say so at build time
        raise ConfigError(
            f"scheduledTasks and vercel.json crons make {len(crons)} cron jobs, but Vercel allows "
            f"{MAX_CRON_JOBS} per project (https://vercel.com/docs/cron-jobs/usage-and-pricing): "
            "list tasks that run at the same times under one schedule"
        )
    if crons:
        config["crons"] = crons
    else:
        config.pop("crons", None)
    return config


def merge_routes(user_routes: Any) -> list[dict[str, Any]]:
    """The user's routes first; every request they leave unhandled goes to the server function.

    The catch-all belongs at the end of the `filesystem` phase (after static files), before any
    later `handle` phase (https://vercel.com/docs/build-output-api/configuration#routes).
    """
    if not isinstance(user_routes, list) or not all(isinstance(r, dict) for r in user_routes):
        raise ConfigError("vercel.json: routes: must be an array of route objects")
    routes = list(user_routes)
    catch_all = {"src": "/(.*)", "dest": f"/{FUNCTION}"}
    phases = [i for i, r in enumerate(routes) if "handle" in r]
    fs = next((i for i in phases if routes[i]["handle"] == "filesystem"), None)
    if fs is None:
        at = next(iter(phases), len(routes))
        return routes[:at] + [{"handle": "filesystem"}, catch_all] + routes[at:]
    at = next((i for i in phases if i > fs), len(routes))
    return routes[:at] + [catch_all] + routes[at:]


def merge_crons(
    jobs: list[dict[str, Any]],
    user_crons: Any,
    route: str,
    warnings: Warnings,
    source: str = "vercel.json: crons",
) -> list[dict[str, str]]:
    """Ours, then the user's, without repeating a (path, schedule) pair."""
    if not isinstance(user_crons, list):
        raise ConfigError(f"{source}: must be an array of {{path, schedule}} objects")
    crons = [{"path": j["path"], "schedule": j["schedule"]} for j in jobs]
    ours = {j["path"] for j in jobs}
    for i, entry in enumerate(user_crons):
        item = _user_cron(f"{source}[{i}]", entry)
        if item in crons:
            continue
        if item["path"] == route or item["path"].startswith(route + "/"):
            warnings.warn(
                f"{source}[{i}].path {item['path']} is under vercel.cronHandlerRoute "
                f"{route}, which only answers the scheduledTasks of the nitro config"
                + (" (that path has another schedule there)" if item["path"] in ours else "")
            )
        crons.append(item)
    return crons


def _user_cron(where: str, entry: Any) -> dict[str, str]:
    """One cron job of the user's (vercel.json or vercel.config), checked; the schedule in
    Vercel's own dialect."""
    if not isinstance(entry, dict) or set(entry) != {"path", "schedule"}:
        raise ConfigError(f"{where}: must be an object with exactly the keys path and schedule")
    path, schedule = entry["path"], entry["schedule"]
    if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_CRON_PATH:
        raise ConfigError(f"{where}.path: must be a URL path starting with '/' (got {path!r})")
    if not isinstance(schedule, str):
        raise ConfigError(f"{where}.schedule: must be a cron expression string (got {schedule!r})")
    try:
        return {"path": path, "schedule": to_vercel(schedule)}
    except CronError as exc:
        raise CronError(f"{where}.schedule: {exc} ({VERCEL_DOC})") from None
