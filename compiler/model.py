"""The neutral model in the middle of the pipeline: presets read these, never raw config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Task:
    """One registered task. `handler` is None when neither config nor scan provides one (501)."""

    name: str
    handler: Path | None
    description: str | None = None
    source: str = "scan"  # "scan" | "config"
    # "skip" | "allow" as written in tasks.<name>.overlap; None when unset (server presets skip).
    overlap: str | None = None
    # The module may set meta.description in a way not read at build time: the listing loads it.
    dynamic_description: bool = False


@dataclass(frozen=True)
class Schedule:
    """One cron expression and the tasks it runs; `spec` is the compiled form the runtime reads."""

    cron: str
    tasks: tuple[str, ...]
    spec: dict[str, Any] = field(hash=False, compare=False)
    zone: str | None = None  # IANA zone it fires in (None: the server's own zone, or UTC on platforms)


@dataclass(frozen=True)
class Route:
    """A request handler from `api/` (mounted at /api) or `routes/` (mounted at /)."""

    route: str  # e.g. "/api/users/[id]"
    method: str | None  # lower-case HTTP method, None for any
    handler: Path
    segments: tuple[dict[str, str], ...]  # [{"static": "api"}, {"param": "id"}, {"catchall": "slug"}]


@dataclass(frozen=True)
class LockOptions:
    """`scheduler.lock`: claim each firing in Redis so it runs on one replica."""

    driver: str  # "redis"
    url: str | None  # None: NITRO_SCHEDULER_REDIS_URL at run time
    prefix: str = "nitro"
    on_lock_error: str = "skip"  # "skip" | "run"


@dataclass(frozen=True)
class SchedulerOptions:
    """How the in-process scheduler of the server presets coordinates replicas."""

    lock: LockOptions | None = None


@dataclass(frozen=True)
class CloudflareOptions:
    """`cloudflare.*`. `wrangler` is free-form wrangler config: copy it before changing it."""

    wrangler: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    pages_cron_worker: bool = False
    # The project's own date for Workers (Nitro's `compatibilityDate`); a wrangler config's
    # `compatibility_date` wins over it, and the preset's fixed default applies without either.
    compatibility_date: str | None = None


@dataclass(frozen=True)
class VercelOptions:
    """`vercel.*`."""

    cron_handler_route: str = "/_vercel/cron"
    allow_unauthenticated_cron: bool = False
    # Nitro's `vercel.config.crons`: cron jobs added to config.json after vercel.json's (checked there).
    config_crons: tuple[Any, ...] = field(default=(), hash=False, compare=False)


@dataclass(frozen=True)
class Project:
    """Everything a preset needs, sorted so the same input gives the same output.

    The build narrows it to what the chosen preset supports (compiler/features.py) before the
    preset sees it, so a preset never receives data it does not use.
    """

    root: Path
    config_file: Path | None
    server_dir: Path
    output_dir: Path | None  # output.dir override, absolute; None: the preset's default
    tasks_enabled: bool
    tasks: tuple[Task, ...]
    schedules: tuple[Schedule, ...]
    routes: tuple[Route, ...]
    scheduler: SchedulerOptions = SchedulerOptions()
    cloudflare: CloudflareOptions = CloudflareOptions()
    vercel: VercelOptions = VercelOptions()
    # `kubernetes.*` (compiler/config.py KubernetesConfig), read by the kubernetes preset only.
    kubernetes: Any = None
    # Nitro runtime APIs (compiler/nitro_apis.py): plugin files in start-up order, the normalised
    # runtimeConfig, and the raw `storage` / `devStorage` mounts ({base: {driver, ...options}}).
    plugins: tuple[Path, ...] = ()
    runtime_config: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)
    storage: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)
    dev_storage: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)
    # Set when the server files were found by a layout fallback (server/), for the summary.
    layout_note: str | None = None
    # Named exports of <serverDir>/utils/**, auto-imported as in Nitro: (name, module).
    util_exports: tuple[tuple[str, Path], ...] = ()

    @property
    def config_name(self) -> str:
        """The config file's name for messages ("nitro config" when there is none)."""
        return self.config_file.name if self.config_file else "nitro config"
