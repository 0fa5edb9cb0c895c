"""What `nitro_build.build()` returns: the public, typed result of a build or a dry run."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Project
    from .presets import Preset

NEXT_FIRINGS = 3  # how many upcoming firings BuildResult.schedules lists


class Artifact(str):
    """A generated file's text (a `str`) that also knows its `path` relative to the project.

    Compared with syrupy's `snapshot` (`assert artifact == snapshot`), it is stored as its own
    snapshot file with the artifact's extension (`.toml`, `.json`, `.mjs`), so a changed platform
    config shows up in review as a readable, syntax-highlighted file diff.
    """

    path: str

    def __new__(cls, text: str, path: str) -> Artifact:
        self = super().__new__(cls, text)
        self.path = path
        return self

    def __eq__(self, other: object) -> bool:
        if type(other).__name__ == "SnapshotAssertion" and type(other).__module__.startswith("syrupy"):
            from .pytest_plugin import compare_with_snapshot

            return compare_with_snapshot(self, other)
        return str.__eq__(self, other)

    __hash__ = str.__hash__

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        """copy, deepcopy and pickle rebuild an Artifact with its path."""
        return (str(self), self.path)


class Artifacts(Mapping[str, Artifact]):
    """Generated files by path relative to the project (`.output/server/wrangler.toml`).

    A key may also be a unique trailing part of a path: `artifacts["wrangler.toml"]` is the one
    artifact named wrangler.toml; a name that several paths end with is a KeyError naming them.
    """

    def __init__(self, files: Mapping[str, str]) -> None:
        self._files = {rel: Artifact(text, rel) for rel, text in sorted(files.items())}

    def resolve(self, key: str) -> str:
        """The full path `key` names (itself, or the one path ending in `/key`)."""
        if key in self._files:
            return key
        found = [rel for rel in self._files if rel.endswith("/" + key.lstrip("/"))]
        if len(found) == 1:
            return found[0]
        if found:
            raise KeyError(f"{key!r} is ambiguous: {', '.join(found)}")
        raise KeyError(f"no artifact {key!r}; artifacts: {', '.join(self._files)}")

    def __getitem__(self, key: str) -> Artifact:
        return self._files[self.resolve(key)]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self.resolve(key)
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __repr__(self) -> str:
        return f"Artifacts({list(self._files)})"


@dataclass(frozen=True)
class TaskInfo:
    """A registered task. `handler` is relative to the project (None: it answers 501)."""

    name: str
    description: str | None
    handler: str | None
    source: str  # "scan" | "config"


@dataclass(frozen=True)
class ScheduleInfo:
    """A schedule: the cron as written, as the platform's cron service receives it, its next firings.

    `platform_cron` is None on presets whose own scheduler fires it (servers); `next` is in UTC on
    presets whose platform fires in UTC (Cloudflare, Vercel), else in the machine's local time.
    """

    cron: str
    tasks: tuple[str, ...]
    platform_cron: str | None
    next: tuple[datetime, ...]
    # The zone it fires in: an IANA name (CRON_TZ= or scheduler.timezone), "UTC" on UTC-only
    # platforms, else "server" (the server's own zone; `next` is then in the building machine's).
    zone: str = "server"


@dataclass(frozen=True)
class BuildResult:
    """What a build (or a dry run) produced.

    `artifacts`: every generated file's text by path relative to the project: platform configs
    (wrangler.toml, .wrangler/deploy/config.json, .vercel/output/config.json, .vc-config.json,
    _routes.json, ...) and the generated sources (.nitro/build/<preset>/registry.mjs, entry.mjs).
    A real build also writes the bundles and `nitro.json`; those depend on esbuild's output, so a
    dry run has neither, and `files` (each output file's sha256) is empty. `tasks`, `schedules`
    and `input_hash` are computed when first read (`schedules[i].next` counts from then).
    """

    root: Path
    preset: str
    output_dir: str
    dry_run: bool
    artifacts: Artifacts
    warnings: tuple[str, ...]
    commands: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    # Internal, may change: what the properties below are computed from.
    project: Project = field(repr=False, compare=False, kw_only=True)
    preset_impl: Preset = field(repr=False, compare=False, kw_only=True)
    known_input_hash: str | None = field(default=None, repr=False, compare=False, kw_only=True)

    @cached_property
    def tasks(self) -> tuple[TaskInfo, ...]:
        """Every registered task, sorted by name."""
        return task_infos(self.project)

    @cached_property
    def schedules(self) -> tuple[ScheduleInfo, ...]:
        """Every schedule, with the platform's cron string and its next firings."""
        return schedule_infos(self.project, self.preset_impl)

    def first_schedules(self, count: int) -> tuple[ScheduleInfo, ...]:
        """The first `count` of `schedules`, without the next firings of the others (the build
        summary lists a few of a huge table: 86,400 schedules took seconds)."""
        if "schedules" in self.__dict__:
            return self.schedules[:count]
        return schedule_infos(self.project, self.preset_impl, count)

    @cached_property
    def input_hash(self) -> str:
        """`sha256:<hex>` of the build's inputs (README "CI"): a cache key."""
        from .inputs import input_hash

        return self.known_input_hash or input_hash(self.project, self.preset)


def task_infos(project: Project) -> tuple[TaskInfo, ...]:
    root = project.root
    # A handler inside the project (the scan's, nearly all) only needs its prefix cut:
    # os.path.relpath normalises both paths per call, measurable at 10,000 tasks (issue 14).
    prefix = str(root) + os.sep

    def rel(handler: Path) -> str:
        text = str(handler)
        if text.startswith(prefix):
            return text[len(prefix) :].replace(os.sep, "/")
        return Path(os.path.relpath(handler, root)).as_posix()

    return tuple(
        TaskInfo(
            name=t.name,
            description=t.description,
            handler=rel(t.handler) if t.handler else None,
            source=t.source,
        )
        for t in project.tasks
    )


def schedule_infos(project: Project, chosen: Preset, count: int | None = None) -> tuple[ScheduleInfo, ...]:
    """Each schedule (the first `count`) with the platform's cron string and its next firings."""
    from .cron import next_firings

    # Platform cron triggers (Cloudflare, Vercel) fire in UTC; servers fire in local time, or in
    # the schedule's zone (README "Time zones").
    utc = getattr(chosen, "utc_schedules", False)
    default = ("UTC", datetime.now(UTC)) if utc else ("server", datetime.now().astimezone())
    out = []
    for s in project.schedules[:count]:
        zone, start = (s.zone, datetime.now(_zone(s.zone))) if s.zone else default
        out.append(
            ScheduleInfo(
                cron=s.cron,
                tasks=s.tasks,
                platform_cron=chosen.platform_cron(s.cron),
                next=tuple(next_firings(s.cron, start, NEXT_FIRINGS)),
                zone=zone,
            )
        )
    return tuple(out)


def _zone(name: str) -> tzinfo:
    """The IANA zone `name`; zoneinfo is imported only then (it imports sysconfig, and most
    projects name no zone)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
