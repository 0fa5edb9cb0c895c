"""`scheduler.lock` (Redis, exactly once across replicas) and `tasks.<name>.overlap`.

Build-time half of templates/runtime/lock.mjs: validate the lock URL, and hand the runtime the
options it needs in `registry.options` (only what differs from the defaults, so builds without
a lock or an overlap setting are byte-identical to builds before these options existed).
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from .config import NitroConfig
from .errors import ConfigError, Warnings
from .model import Project

URL_ENV = "NITRO_SCHEDULER_REDIS_URL"
URL_SHAPE = "redis://[user:password@]host[:port][/db] (or rediss:// for TLS)"


def check_scheduler_lock(cfg_name: str, config: NitroConfig, warnings: Warnings) -> None:
    """Refuse a lock URL the runtime could not use; warn when it would put a password in the bundle."""
    lock = config.scheduler.lock
    if lock is None or lock.url is None:
        return
    where = f"{cfg_name}: scheduler.lock.url"
    problem = _url_problem(lock.url)
    if problem:
        raise ConfigError(
            f"{where}: {_redact(lock.url)!r} is not a usable Redis URL ({problem}); "
            f"write it as {URL_SHAPE}, or leave it out and set {URL_ENV} at run time"
        )
    if urlsplit(lock.url).password:
        warnings.warn(
            f"{where}: the URL contains a password, which is written into the bundle; "
            f"remove it from the config and set {URL_ENV} at run time instead"
        )


def _url_problem(url: str) -> str | None:
    """What is wrong with `url` as a Redis URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("redis", "rediss"):
        return f"the scheme must be redis or rediss, got {parts.scheme or 'none'!r}"
    if not parts.hostname:
        return "no host"
    if port == 0:
        return "port 0"
    if parts.path not in ("", "/") and not re.fullmatch(r"/\d+", parts.path):
        return f"the path must be a database number such as /0, got {parts.path!r}"
    if parts.query or parts.fragment:
        return "query strings and fragments are not supported"
    return None


def _redact(url: str) -> str:
    """The URL with its password hidden, for error messages (up to the last `@`, as redis.mjs)."""
    def hide(match: re.Match[str]) -> str:
        scheme, info = match.groups()
        return f"{scheme}{info.split(':', 1)[0]}:***@" if ":" in info else match.group()

    return re.sub(r"^(\w+://)(.*)@", hide, url, flags=re.S)


def scheduler_options(project: Project) -> dict[str, Any]:
    """`taskOverlap` (tasks that allow overlap) and `schedulerLock` for the runtime, when set."""
    options: dict[str, Any] = {}
    allow = {t.name: t.overlap for t in project.tasks if t.overlap != "skip"}
    if allow:
        options["taskOverlap"] = allow
    lock = project.preset_options.get("scheduler", {}).get("lock")
    # A lock without schedules would only open a useless connection at startup.
    if lock and project.schedules:
        options["schedulerLock"] = dict(lock)
    return options
