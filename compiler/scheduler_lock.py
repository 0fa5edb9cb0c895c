"""`scheduler.lock` (Redis, exactly once across replicas) and `tasks.<name>.overlap`.

Build-time half of templates/runtime/lock.mjs: validate the lock URL, and hand the runtime the
options it needs in `registry.options` (only what differs from the defaults, so builds without
a lock or an overlap setting are byte-identical to builds before these options existed).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .model import Project

if TYPE_CHECKING:
    from .config_models import NitroConfig

URL_ENV = "NITRO_SCHEDULER_REDIS_URL"
URL_SHAPE = (
    "redis://[user:password@]host[:port][/db], "
    "redis+sentinel://[user:password@]host[:port][,host[:port]...]/master[/db] or "
    "redis+cluster://[user:password@]host[:port][,host[:port]...] (rediss for TLS)"
)
# Scheme -> topology; the same table as templates/runtime/redis_url.mjs.
TOPOLOGIES = {
    "redis": "single",
    "rediss": "single",
    "redis+sentinel": "sentinel",
    "rediss+sentinel": "sentinel",
    "redis+cluster": "cluster",
    "rediss+cluster": "cluster",
}


def check_scheduler_lock(cfg_name: str, config: NitroConfig) -> None:
    """Refuse a lock URL the runtime could not use (the password warning is the lock feature
    check's, compiler/features.py: only presets that ship the lock put the URL in the bundle)."""
    lock = config.scheduler.lock
    if lock is None or lock.url is None:
        return
    where = f"{cfg_name}: scheduler.lock.url"
    problem = _url_problem(lock.url)
    if problem:
        message = (
            f"{where}: {redact_url(lock.url)!r} is not a usable Redis URL ({problem}); "
            f"write it as {URL_SHAPE}, or leave it out and set {URL_ENV} at run time"
        )
        raise ConfigError(_scrub(message, lock.url))


def password_warning(project: Project) -> str | None:
    """The warning for a lock URL with a password, which a lock-using bundle carries."""
    lock = project.scheduler.lock
    if lock is None or lock.url is None or not _password(lock.url):
        return None
    return (
        f"{project.config_name}: scheduler.lock.url: the URL contains a password, which is written "
        f"into the bundle; remove it from the config and set {URL_ENV} at run time instead"
    )


def _split(url: str) -> tuple[str, str, str, str] | None:
    """(scheme, user info, hosts, path) of `scheme://[info@]hosts[/path]`; the info runs to the last `@`."""
    match = re.fullmatch(r"([A-Za-z][\w+.-]*)://(.*)", url, flags=re.S)
    if not match:
        return None
    rest = match.group(2)
    info, _, where = rest.rpartition("@")
    hosts, _, path = where.partition("/")
    return match.group(1).lower(), info, hosts, path


def _url_problem(url: str) -> str | None:
    """What is wrong with `url` as a Redis URL for the lock, or None (rules of redis_url.mjs)."""
    parts = _split(url)
    if parts is None:
        return "no scheme"
    scheme, _info, hosts, path = parts
    topology = TOPOLOGIES.get(scheme)
    if topology is None:
        return f"unknown scheme {scheme}://"
    if "?" in hosts + path or "#" in hosts + path:
        return "query strings and fragments are not supported"
    for host in hosts.split(","):
        problem = _host_problem(host)
        if problem:
            return problem
    if topology == "single" and "," in hosts:
        return "several hosts need redis+sentinel:// or redis+cluster://"
    return _path_problem(topology, path)


def _host_problem(host: str) -> str | None:
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]/]+)(?::(\d*))?", host)
    if not match:
        return f"bad host {host!r}" if host else "no host"
    port = match.group(2)
    if port and not 1 <= int(port) <= 65535:
        return f"port out of range 1-65535: {port}"
    return None


def _path_problem(topology: str, path: str) -> str | None:
    parts = path.split("/") if path else []
    if topology == "sentinel":
        if not parts or not parts[0] or len(parts) > 2:
            return "name the master: redis+sentinel://host:26379/mymaster"
        parts = parts[1:]
    if len(parts) > 1 or (parts and parts[0] and not parts[0].isdecimal()):
        return f"the path must be a database number such as /0, got {'/' + path!r}"
    if topology == "cluster" and parts and parts[0] and int(parts[0]) != 0:
        return "a Redis Cluster has only database 0"
    return None


def _password(url: str) -> str:
    """The password in `url` (empty if none), from any form, parsed or not."""
    parts = _split(url)
    info = parts[1] if parts else url.rpartition("@")[0]
    return info.partition(":")[2] if ":" in info else info


def redact_url(url: str) -> str:
    """The URL with its password hidden, in any form (as redactUrl in redis_url.mjs)."""
    info_end = url.rfind("@")
    if info_end < 0:
        return url
    scheme = re.match(r"[A-Za-z][\w+.-]*://", url)
    start = scheme.end() if scheme else 0
    info = url[start:info_end]
    user = info.split(":", 1)[0] + ":" if ":" in info else ""
    return f"{url[:start]}{user}***{url[info_end:]}"


def _scrub(message: str, url: str) -> str:
    """`message` with every copy of the URL's password hidden, wherever a problem quoted it."""
    secret = _password(url)
    return message.replace(secret, "***") if len(secret) >= 3 else message


def scheduler_options(project: Project) -> dict[str, Any]:
    """`taskOverlap` (tasks that allow overlap) and `schedulerLock` for the runtime, when set."""
    options: dict[str, Any] = {}
    allow = {t.name: t.overlap for t in project.tasks if t.overlap == "allow"}
    if allow:
        options["taskOverlap"] = allow
    lock = project.scheduler.lock
    # A lock without schedules would only open a useless connection at startup.
    if lock and project.schedules:
        options["schedulerLock"] = {
            "driver": lock.driver,
            "url": lock.url,
            "prefix": lock.prefix,
            "onLockError": lock.on_lock_error,
        }
    return options
