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
    overlap: str = "skip"  # "skip" | "allow"
    # The module may set meta.description in a way not read at build time: the listing loads it.
    dynamic_description: bool = False


@dataclass(frozen=True)
class Schedule:
    """One cron expression and the tasks it runs; `spec` is the compiled form the runtime reads."""

    cron: str
    tasks: tuple[str, ...]
    spec: dict[str, Any] = field(hash=False, compare=False)


@dataclass(frozen=True)
class Route:
    """A request handler from `api/` (mounted at /api) or `routes/` (mounted at /)."""

    route: str  # e.g. "/api/users/[id]"
    method: str | None  # lower-case HTTP method, None for any
    handler: Path
    segments: tuple[dict[str, str], ...]  # [{"static": "api"}, {"param": "id"}, {"catchall": "slug"}]


@dataclass(frozen=True)
class Project:
    """Everything a preset needs, sorted so the same input gives the same output."""

    root: Path
    config_file: Path | None
    server_dir: Path
    output_dir: Path | None  # output.dir override, absolute; None: the preset's default
    tasks_enabled: bool
    tasks: tuple[Task, ...]
    schedules: tuple[Schedule, ...]
    routes: tuple[Route, ...]
    preset_options: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)
    # Nitro runtime APIs (compiler/nitro_apis.py): plugin files in start-up order, the normalised
    # runtimeConfig, and the raw `storage` / `devStorage` mounts ({base: {driver, ...options}}).
    plugins: tuple[Path, ...] = ()
    runtime_config: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)
    storage: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)
    dev_storage: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)
    # Raw platform sections the user wrote (cloudflare.*, vercel.*, scheduler.*), already
    # validated by the config models and turned into plain data.
    # Nitro's compatibilityDate for Cloudflare (None: "latest" or unset: the preset's pinned date).
    cloudflare_compatibility_date: str | None = None
    # Set when the server files were found by a layout fallback (server/), for the summary.
    layout_note: str | None = None
