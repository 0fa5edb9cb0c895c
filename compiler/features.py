"""What each preset supports, and the one check that holds a project against it.

Every preset declares a `Features` (presets/*.py). Before a preset emits anything, `narrow`
compares what the project uses with that declaration: an unsupported feature becomes a warning
(it is dropped, and the message says what happens instead) or an `UnsupportedFeatureError`, and
the preset receives the project without the data it does not use (the Vercel bundle never holds
the scheduler lock's URL). Two features are held where their facts appear: the `node:` built-ins
a Worker imports once esbuild has run (`NodeBuiltins.NODEJS_COMPAT`: presets/_cloudflare_node.py),
and storage drivers where the mounts are resolved (`Features.platform`: compiler/nitro_apis.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, ClassVar, Protocol

from .cron import parse_cron
from .cron.zones import FIXED_YEARS, to_utc
from .errors import CronError, Warnings
from .model import CloudflareOptions, Project, Schedule, SchedulerOptions, VercelOptions
from .scheduler_lock import password_warning


class Scheduling(Enum):
    """Who fires `scheduledTasks`."""

    IN_PROCESS = "in-process scheduler"  # ours, in the server process (croner's dialect)
    CLOUDFLARE_CRON = "Cloudflare Cron Triggers"
    COMPANION_CRON = "Cron Triggers of a companion Worker (cloudflare.pagesCronWorker)"
    VERCEL_CRON = "Vercel Cron Jobs"
    DENO_CRON = "Deno.cron (Deno Deploy's cron service)"
    KUBERNETES_CRON = "Kubernetes CronJobs"
    NETLIFY_SCHEDULED = "Netlify Scheduled Functions"


class NodeBuiltins(Enum):
    """Which `node:` modules the bundle may import."""

    ALL = "every node: module (a Node-compatible runtime)"
    NODEJS_COMPAT = "the node: modules workerd serves under nodejs_compat at the compatibility date"


OVERLAP_POLICIES = frozenset({"skip", "allow"})


@dataclass(frozen=True)
class Features:
    """A preset's declared capabilities; `why_not` explains, for messages, what the platform does."""

    scheduling: Scheduling
    scheduler_lock: bool
    overlap: frozenset[str]  # the tasks.<name>.overlap policies the preset enforces
    node_builtins: NodeBuiltins
    # What the platform offers storage drivers and runtime APIs: "filesystem" (lasting, shared),
    # "tcp" (node:net sockets), "cloudflare-bindings", "deno-kv" (compiler/nitro_apis.py DRIVER_NEEDS).
    platform: frozenset[str] = frozenset({"filesystem", "tcp"})
    # The platform option sections the preset reads (`cloudflare`, `vercel`); the others are left
    # at their defaults, silently: one config serves several presets.
    sections: frozenset[str] = frozenset()
    why_not: tuple[tuple[str, str], ...] = ()  # (feature, the platform's behaviour instead)
    # The platform's cron service fires only in UTC: zoned schedules are shifted into UTC where
    # that is exact, else refused (`check_time_zones`). Any UTC-only preset sets this.
    utc_only: bool = False

    def reason(self, feature: str) -> str:
        return dict(self.why_not).get(feature, "")


SERVER = Features(
    scheduling=Scheduling.IN_PROCESS,
    scheduler_lock=True,
    overlap=OVERLAP_POLICIES,
    node_builtins=NodeBuiltins.ALL,
)


class FeatureHolder(Protocol):
    """What `narrow` needs to know of a preset (its name and its declaration)."""

    name: ClassVar[str]
    features: ClassVar[Features]


Check = Callable[[FeatureHolder, Project, Warnings], Project]


def narrow(preset: FeatureHolder, project: Project, warnings: Warnings) -> Project:
    """The project as `preset` receives it: every check run in order, unsupported data removed."""
    for check in CHECKS:
        project = check(preset, project, warnings)
    return project


def check_lock(preset: FeatureHolder, project: Project, warnings: Warnings) -> Project:
    """scheduler.lock: kept (and its password warned about) only where the preset ships it."""
    if project.scheduler.lock is None:
        return project
    if preset.features.scheduler_lock:
        if message := password_warning(project):
            warnings.warn(message)
        return project
    warnings.warn(
        f"{project.config_name}: scheduler.lock is not used by the {preset.name} preset: "
        f"{preset.features.reason('scheduler_lock')}; its URL is not written into the bundle "
        "(it still applies to the server presets)"
    )
    return replace(project, scheduler=SchedulerOptions())


def check_overlap(preset: FeatureHolder, project: Project, warnings: Warnings) -> Project:
    """tasks.<name>.overlap: a policy the preset cannot enforce is warned about, then dropped."""
    enforced = preset.features.overlap
    dropped = [t for t in project.tasks if t.overlap is not None and t.overlap not in enforced]
    if not dropped:
        return project
    for task in dropped:
        warnings.warn(
            f"{project.config_name}: tasks.{json.dumps(task.name)}.overlap = {json.dumps(task.overlap)} "
            f"has no effect with the {preset.name} preset: {preset.features.reason('overlap')}; "
            "remove the key, or make the task safe to run twice at once"
        )
    names = {t.name for t in dropped}
    tasks = tuple(replace(t, overlap=None) if t.name in names else t for t in project.tasks)
    return replace(project, tasks=tasks)


def drop_other_platforms(preset: FeatureHolder, project: Project, warnings: Warnings) -> Project:
    """`cloudflare.*`, `vercel.*` and `kubernetes.*` reach only the presets that read them."""
    unused: dict[str, Any] = {
        "cloudflare": CloudflareOptions(),
        "vercel": VercelOptions(),
        "kubernetes": None,
    }
    for section in preset.features.sections:
        unused.pop(section, None)
    return replace(project, **unused)


def check_time_zones(preset: FeatureHolder, project: Project, warnings: Warnings) -> Project:
    """On UTC-only platforms each zoned schedule becomes its exact UTC expression, or an error."""
    if not preset.features.utc_only or not any(s.zone for s in project.schedules):
        return project
    return replace(
        project,
        schedules=tuple(in_utc(s, preset.name, project.config_name, warnings) for s in project.schedules),
    )


def in_utc(schedule: Schedule, preset: str, config_name: str, warnings: Warnings) -> Schedule:
    """`schedule` as a UTC schedule firing at the same instants (README "Time zones"), or CronError."""
    if schedule.zone is None:
        return schedule
    where = f"{config_name}: scheduledTasks.{json.dumps(schedule.cron)}"
    try:
        utc = to_utc(parse_cron(schedule.cron), schedule.zone)
    except CronError as exc:
        raise CronError(f"{where}: the {preset} preset cannot fire it in {schedule.zone}: {exc}") from None
    if utc != schedule.cron:
        warnings.warn(
            f"{where}: the {preset} preset fires cron in UTC only; {schedule.zone} keeps one UTC "
            f"offset for {FIXED_YEARS} years, so it is deployed as {json.dumps(utc)} (UTC), which "
            "fires at the same instants"
        )
    return Schedule(utc, schedule.tasks, parse_cron(utc).compiled())


# Storage drivers are held against `Features.platform` where the mounts are resolved
# (compiler/nitro_apis.py), since the driver a name means is only known there.
CHECKS: tuple[Check, ...] = (check_lock, check_overlap, drop_other_platforms, check_time_zones)
