"""Merge the validated config with the scanned files into the neutral, sorted `Project` model."""

from __future__ import annotations

import copy
import dataclasses
import json
import operator
from pathlib import Path
from typing import TYPE_CHECKING

from .cron import CronExpr, parse_cron
from .cron.zones import check_zone
from .errors import ConfigError, CronError, Warnings
from .layout import resolve_config_path, resolve_server_dir, warn_unsupported
from .model import (
    CloudflareOptions,
    LockOptions,
    Project,
    Route,
    Schedule,
    SchedulerOptions,
    Task,
    VercelOptions,
)
from .nitro_apis import runtime_config, scan_plugins
from .nitro_keys import cloudflare_compatibility_date
from .scan import ScannedTask, _rel, read_task_description, scan_routes, scan_tasks, scan_util_exports
from .scheduler_lock import check_scheduler_lock

if TYPE_CHECKING:
    from .config_models import NitroConfig


def build_project(root: Path, config: NitroConfig, config_file: Path | None, warnings: Warnings) -> Project:
    """Load everything the presets need from the project at `root`."""
    cfg_name = config_file.name if config_file else "nitro config"
    server_dir, layout_note = resolve_server_dir(
        root, config, cfg_name, resolve_config_path(root, cfg_name, "serverDir", config.scan_dir)
    )
    warn_unsupported(root, server_dir, config, cfg_name, warnings)
    out_dir = _output_dir(root, cfg_name, config.output.dir)
    skip = frozenset({str(out_dir)} if out_dir else ())
    scanned = scan_tasks(server_dir, root, skip)
    enabled = config.experimental.tasks
    tasks: tuple[Task, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    if enabled:
        tasks = merge_tasks(root, cfg_name, config, scanned)
        _warn_no_default_export(root, scanned, tasks, warnings)
        schedules = compile_schedules(cfg_name, config, {t.name for t in tasks}, warnings)
    elif scanned or config.scheduled_tasks or config.tasks:
        warnings.warn(
            f"{cfg_name}: tasks are defined but experimental.tasks is not true, so they are "
            "not compiled; set `experimental.tasks = true` to enable them"
        )
    check_scheduler_lock(cfg_name, config)
    return Project(
        root=root,
        config_file=config_file,
        server_dir=server_dir,
        layout_note=layout_note,
        util_exports=scan_util_exports(server_dir, root, skip),
        output_dir=out_dir,
        tasks_enabled=enabled,
        tasks=tasks,
        schedules=schedules,
        routes=tuple(
            Route(r.route, r.method, r.file, r.segments) for r in scan_routes(server_dir, root, skip)
        ),
        scheduler=scheduler_options(config),
        cloudflare=cloudflare_options(config, cfg_name),
        kubernetes=config.kubernetes if "kubernetes" in config.model_fields_set else None,
        vercel=VercelOptions(
            cron_handler_route=config.vercel.cron_handler_route,
            allow_unauthenticated_cron=config.vercel.allow_unauthenticated_cron,
            config_crons=tuple(config.vercel.config.crons),
        ),
        plugins=scan_plugins(root, server_dir, config.plugins, cfg_name),
        runtime_config=runtime_config(config.runtime_config, cfg_name),
        storage={k: v.model_dump() for k, v in config.storage.items()},
        dev_storage={k: v.model_dump() for k, v in config.dev_storage.items()},
    )


def scheduler_options(config: NitroConfig) -> SchedulerOptions:
    """`scheduler.*` as the typed model."""
    lock = config.scheduler.lock
    if lock is None:
        return SchedulerOptions()
    return SchedulerOptions(LockOptions(lock.driver, lock.url, lock.prefix, lock.on_lock_error))


def cloudflare_options(config: NitroConfig, cfg_name: str) -> CloudflareOptions:
    """`cloudflare.*` (the free-form wrangler table deep-copied as plain data) and Nitro's
    `compatibilityDate` for Cloudflare, as the typed model."""
    return CloudflareOptions(
        wrangler=copy.deepcopy(config.cloudflare.wrangler),
        pages_cron_worker=config.cloudflare.pages_cron_worker,
        compatibility_date=cloudflare_compatibility_date(config.compatibility_date, cfg_name),
    )


def _output_dir(root: Path, cfg_name: str, value: str | None) -> Path | None:
    """`output.dir` resolved; it must be a folder inside the project (a build replaces it)."""
    if not value:
        return None
    out = resolve_config_path(root, cfg_name, "output.dir", value)
    if out == root or root not in out.parents:
        raise ConfigError(
            f"{cfg_name}: output.dir: {value!r} is not a folder inside the project; a build "
            "replaces its output folder wholesale, so use a subfolder such as '.output'"
        )
    return out


def merge_tasks(
    root: Path, cfg_name: str, config: NitroConfig, scanned: list[ScannedTask]
) -> tuple[Task, ...]:
    """Config handlers win over scanned files; the description is the module's `meta.description`,
    else the config's (Nitro's listing reads the module: src/runtime/internal/routes/dev-tasks.ts)."""
    by_name = {
        t.name: Task(t.name, t.file, t.description, "scan", dynamic_description=t.dynamic_description)
        for t in scanned
    }
    for name, tc in config.tasks.items():
        if not name.strip():  # could never be run: no URL, CLI argument or schedule can name it
            raise ConfigError(
                f"{cfg_name}: tasks.{json.dumps(name)}: a task needs a name; remove the entry or name it"
            )
        found = by_name.get(name)
        handler = _config_handler(root, cfg_name, name, tc.handler) if tc.handler else None
        module, dynamic = (
            read_task_description(handler, root)
            if handler
            else (found.description, found.dynamic_description)
            if found
            else (None, False)
        )
        by_name[name] = Task(
            name=name,
            handler=handler or (found.handler if found else None),
            description=module or tc.description,
            source="config" if handler or not found else "scan",
            overlap=tc.overlap if "overlap" in tc.model_fields_set else None,
            dynamic_description=dynamic,
        )
    if "__proto__" in by_name:  # a generated object literal would take it as its prototype
        proto = by_name["__proto__"]
        proto_file = proto.handler if proto.source == "scan" else None
        where = _rel(proto_file, root) if proto_file else f'{cfg_name}: tasks."__proto__"'
        raise ConfigError(
            f"{where}: '__proto__' cannot name a task: JavaScript objects reserve it, so the task "
            "would silently vanish from the bundle; rename it"
        )
    return tuple(by_name[n] for n in sorted(by_name))


def _warn_no_default_export(
    root: Path, scanned: list[ScannedTask], tasks: tuple[Task, ...], warnings: Warnings
) -> None:
    """A scanned module that is some task's handler but has no default export answers 501."""
    lacking = [t for t in scanned if not t.has_default]
    if not lacking:  # the usual case: no set of 10,000 Paths to hash
        return
    handlers = {t.handler for t in tasks}
    for t in lacking:
        if t.file in handlers:
            warnings.warn(
                f"{_rel(t.file, root)}: no default export, so task {t.name!r} answers 501 when run; "
                "write `export default defineTask({ run() { ... } })`, or move a shared helper out of "
                "tasks/ (e.g. to utils/)"
            )


def _config_handler(root: Path, cfg_name: str, name: str, handler: str) -> Path:
    key = f"tasks.{json.dumps(name, ensure_ascii=False)}.handler"
    path = resolve_config_path(root, cfg_name, key, handler)
    if not path.is_file():
        raise ConfigError(
            f"{cfg_name}: {key}: handler file {handler!r} for task {name!r} "
            f"{'is a folder, not a module' if path.is_dir() else 'does not exist'} "
            f"(looked for {path}); fix the path or remove the key to use tasks/{name.replace(':', '/')}.ts"
        )
    return path


def compile_schedules(
    cfg_name: str, config: NitroConfig, known: set[str], warnings: Warnings
) -> tuple[Schedule, ...]:
    """Validate every cron and drop (with a warning) names of tasks that do not exist."""
    schedules = []
    keys: dict[str, tuple] = {}  # cron -> what decides its firings
    default_zone = _configured_zone(cfg_name, config)
    for cron, value in config.scheduled_tasks.items():
        try:
            expr = parse_cron(cron)
        except CronError as exc:
            raise CronError(f"{cfg_name}: scheduledTasks.{json.dumps(cron)}: {exc}") from None
        zone = expr.zone or default_zone
        spec, keys[cron] = expr.compiled(), (*_firing_key(expr), zone)
        if zone:
            spec["timeZone"] = zone  # templates/runtime/cron.mjs fires at this zone's wall clock
        names = [value] if isinstance(value, str) else list(value)
        for missing in [n for n in names if n not in known]:
            where = f"{cfg_name}: scheduledTasks.{json.dumps(cron)}"
            warnings.warn(f"{where}: unknown task {missing!r} is not scheduled (no such task)")
        names = list(dict.fromkeys(n for n in names if n in known))
        if names:
            schedules.append(Schedule(cron, tuple(names), spec, zone))
    schedules.sort(key=_tidy_first)
    return tuple(sorted(_drop_repeated_tasks(cfg_name, schedules, keys, warnings), key=lambda s: s.cron))


def _configured_zone(cfg_name: str, config: NitroConfig) -> str | None:
    """`scheduler.timezone`, checked against the tz database (None: the server's zone, or UTC)."""
    zone = config.scheduler.timezone
    if zone is None:
        return None
    try:
        return check_zone(zone)
    except CronError as exc:
        raise ConfigError(f"{cfg_name}: scheduler.timezone: {exc}") from None


def _tidy_first(s: Schedule) -> tuple:
    """Sort key: a spelling with single spaces first, so it is the one that keeps a repeated task."""
    tidy = " ".join(s.cron.split())
    return (tidy, tidy != s.cron, s.cron)


def _drop_repeated_tasks(
    cfg_name: str, schedules: list[Schedule], keys: dict[str, tuple], warnings: Warnings
) -> list[Schedule]:
    """A task keeps one of the schedules that fire at the same instants (same compiled spec).

    `0 9 * * mon`, `0 9 * * MON` and `0  9 * * 1` are distinct config keys but the same firings;
    each would run the task once per spelling (a timer each on servers, a Vercel cron job each).
    """
    runs: dict[tuple[tuple, str], str] = {}  # (spec, task) -> the cron that runs it
    kept = []
    for s in schedules:
        spec = keys[s.cron]
        tasks = tuple(n for n in s.tasks if runs.setdefault((spec, n), s.cron) == s.cron)
        for name in (n for n in s.tasks if n not in tasks):
            warnings.warn(
                f"{cfg_name}: scheduledTasks.{json.dumps(s.cron)} fires at the same times as "
                f"{json.dumps(runs[(spec, name)])}, which already runs {name!r}: it runs once per "
                "firing; remove it from one of the two entries"
            )
        if tasks:
            kept.append(s if tasks == s.tasks else dataclasses.replace(s, tasks=tasks))
    return kept


def _firing_key(e: CronExpr) -> tuple:
    """Everything of `e` that decides when it fires (its compiled spec), hashable: json.dumps of
    each spec was a fifth of an 86,400-schedule build."""
    return _firing_fields(e)


_firing_fields = operator.attrgetter(
    *(f.name for f in dataclasses.fields(CronExpr) if f.name not in ("source", "fields", "zone"))
)
