"""deno_deploy: a Deno Deploy bundle. HTTP through Deno.serve, schedules through Deno.cron.

The entry registers one `Deno.cron(name, schedule, handler)` per schedule at its top level, where
Deno Deploy finds cron jobs (https://docs.deno.com/runtime/fundamentals/cron/, "Cron jobs must be
registered at the top level of a module"). Deno.cron fires in UTC, in saffron's dialect
(compiler/cron/translate.py `to_deno`). https://docs.deno.com/deploy/, https://nitro.build/deploy/providers/deno-deploy
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from ..cron import DENO_DOC, to_deno
from ..features import Scheduling
from ..model import Project
from .base import Entry, platform_cron
from .deno_server import DenoServer

# Deno's rule for a cron name (denoland/deno ext/cron/lib.rs validate_cron_name): at most 64
# characters of letters, digits, whitespace, `-` and `_`; unique in the isolate.
NAME_PART = re.compile(r"[^A-Za-z0-9 _-]+")
MAX_NAME = 64

# Deno.cron awaits a job's handler before it waits for the job's next time, so a job never runs
# twice at once: a firing due while its run goes on is skipped (overlap "skip").
FEATURES = replace(
    DenoServer.features,
    scheduling=Scheduling.DENO_CRON,
    scheduler_lock=False,
    overlap=frozenset({"skip"}),
    platform=frozenset({"tcp", "deno-kv"}),  # no lasting filesystem on Deno Deploy
    utc_only=True,  # Deno.cron fires in UTC: zones go through compiler/features.py check_time_zones
    why_not=(
        (
            "scheduler_lock",
            "Deno Deploy runs each Deno.cron job once per firing for the whole deployment, so no lock is needed",
        ),
        (
            "overlap",
            "Deno.cron never starts a job while its previous run goes on (a firing due then is skipped)",
        ),
    ),
)


class DenoDeploy(DenoServer):
    name = "deno_deploy"
    features = FEATURES
    utc_schedules = True  # Deno.cron fires in UTC
    entry = Entry(
        "deno_deploy.mjs",
        "startDenoDeploy",
        (
            "Deno Deploy runs this module: Deno.serve answers HTTP and the",
            "Deno.cron jobs below, registered at the top level, run the scheduled tasks (UTC).",
        ),
        cron="denoCronHandler",
    )
    # Not minified: each Deno.cron call stays a readable statement of its own at the top level
    # of the bundled module, where Deno Deploy looks for the jobs.
    # No files beside the deployed code read at run time: the dashboard's files ship inside it.
    bundle_options = replace(DenoServer.bundle_options, minify=False, ui_file=False)

    def platform_cron(self, cron: str) -> str | None:
        return to_deno(cron)

    def entry_crons(self, project: Project) -> list[dict[str, Any]]:
        return deno_crons(project, self.name)

    def commands(self, project: Project) -> dict[str, str]:
        flags = " ".join(self.permissions(project))
        server = self.server_dir(project)
        return {
            # Deno.cron is unstable in the CLI: --unstable-cron runs the jobs locally too.
            "preview": f"deno run --unstable-cron {flags} {server}/index.mjs",
            "deploy": f"deno run -A jsr:@deno/deployctl deploy --entrypoint={server}/index.mjs",
        }


preset = DenoDeploy()


def deno_crons(project: Project, preset: str) -> list[dict[str, Any]]:
    """One Deno.cron job per distinct translated schedule: `{name, schedule, tasks}`."""
    jobs: dict[str, list[str]] = {}
    for s in project.schedules:
        names = jobs.setdefault(translate(project, s.cron, preset), [])
        names.extend(n for n in s.tasks if n not in names)
    return [
        {"name": job_name(schedule, tasks), "schedule": schedule, "tasks": tasks}
        for schedule, tasks in jobs.items()
    ]


def job_name(schedule: str, tasks: list[str]) -> str:
    """A readable, stable, unique Deno.cron name: `nitro <tasks> <hash of the schedule>`."""
    digest = hashlib.sha256(schedule.encode()).hexdigest()[:10]
    label = NAME_PART.sub("_", " ".join(tasks))
    return f"nitro {label}"[: MAX_NAME - len(digest) - 1].rstrip() + f" {digest}"


def translate(project: Project, cron: str, preset: str) -> str:
    """`to_deno`, with errors naming the config file, the expression and the preset."""
    advice = f". Deno.cron takes 5 fields in UTC ({DENO_DOC}); rewrite the expression or use a server preset"
    return platform_cron(project, cron, preset, to_deno, advice)
