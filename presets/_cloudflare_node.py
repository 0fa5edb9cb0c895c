"""Which `node:` modules workerd serves under `nodejs_compat`, from which compatibility date.

A module workerd does not serve stops the whole Worker from loading (`No such module "node:fs"`),
even when only a task that is never run imports it: esbuild hoists a task's static `node:` imports
into the Worker's entry module. So the build holds every `node:` import of the bundle (from
esbuild's metafile) against the Worker's compatibility date and flags.

The table follows the workerd we pin (1.20260426.1, in package-lock.json): the modules gated in
src/workerd/api/node/node.h and the dates of their flags in src/workerd/io/compatibility-date.capnp
(`impliedByAfterDate`), checked against the pinned workerd itself by
tests/test_cloudflare_node_modules.py. https://developers.cloudflare.com/workers/runtime-apis/nodejs/
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import UnsupportedFeatureError

# The oldest date under which every module below loads with nodejs_compat (the latest date of the
# table), within what the pinned workerd supports (it refuses dates after its own release).
# A constant, never the build day, so that the same input gives the same output.
DEFAULT_COMPATIBILITY_DATE = "2026-03-17"
# Available from any date under nodejs_compat (these need no date of their own).
UNGATED = frozenset(
    "_stream_duplex _stream_passthrough _stream_readable _stream_transform _stream_writable "
    "_tls_common _tls_wrap assert assert/strict async_hooks buffer constants crypto "
    "diagnostics_channel dns dns/promises events fs/promises module net path path/posix path/win32 "
    "process querystring stream stream/consumers stream/promises stream/web string_decoder test "
    "timers timers/promises tls url util util/types zlib".split()
)
# module -> (first compatibility date serving it, the flag that serves it before that date).
GATED: dict[str, tuple[str, str]] = {
    "sys": ("2024-09-23", "nodejs_compat_v2"),
    **{
        m: ("2025-08-15", "enable_nodejs_http_modules")
        for m in (
            "http",
            "https",
            "_http_agent",
            "_http_client",
            "_http_common",
            "_http_incoming",
            "_http_outgoing",
        )
    },
    "_http_server": ("2025-09-01", "enable_nodejs_http_server_modules"),
    "http2": ("2025-09-01", "enable_nodejs_http2_module"),
    "fs": ("2025-09-15", "enable_nodejs_fs_module"),
    "os": ("2025-09-15", "enable_nodejs_os_module"),
    "console": ("2025-09-21", "enable_nodejs_console_module"),
    "vm": ("2025-10-01", "enable_nodejs_vm_module"),
    **{
        m: ("2025-12-04", f"enable_nodejs_{m}_module")
        for m in ("cluster", "domain", "punycode", "trace_events", "wasi")
    },
    "_stream_wrap": ("2026-01-29", "enable_nodejs_stream_wrap_module"),
    "dgram": ("2026-01-29", "enable_nodejs_dgram_module"),
    "inspector": ("2026-01-29", "enable_nodejs_inspector_module"),
    "inspector/promises": ("2026-01-29", "enable_nodejs_inspector_module"),
    "sqlite": ("2026-01-29", "enable_nodejs_sqlite_module"),
    **{
        m: ("2026-03-17", f"enable_nodejs_{m}_module")
        for m in ("child_process", "perf_hooks", "repl", "tty", "v8", "worker_threads")
    },
    "readline": ("2026-03-17", "enable_nodejs_readline_module"),
    "readline/promises": ("2026-03-17", "enable_nodejs_readline_module"),
}
COMPAT_FLAGS = ("nodejs_compat", "nodejs_compat_v2")
DOC = "https://developers.cloudflare.com/workers/configuration/compatibility-flags/"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Runtime:
    """The Worker's compatibility settings, and where they were written (for messages)."""

    date: str
    flags: tuple[str, ...]
    where: str  # e.g. "wrangler.toml: compatibility_date"


def problem(module: str, runtime: Runtime) -> str | None:
    """Why `node:<module>` does not load in a Worker with these settings, or None."""
    flags = set(runtime.flags)
    if not flags & set(COMPAT_FLAGS) or "no_nodejs_compat" in flags:
        return "the nodejs_compat compatibility flag is off"
    if module in UNGATED:
        return None
    if module not in GATED:
        return "workerd does not provide it at any compatibility date"
    date, flag = GATED[module]
    if runtime.date >= date and f"disable_{flag.removeprefix('enable_')}" not in flags:
        return None
    if flag in flags:
        return None
    return f"it needs a compatibility_date of {date} or later (or the compatibility flag {flag})"


def check_node_imports(preset: str, modules: Iterable[str], runtime: Runtime) -> None:
    """Raise UnsupportedFeatureError naming each imported `node:` module this Worker cannot load."""
    lines = []
    for module in sorted(set(modules)):
        why = problem(module, runtime)
        if why:
            lines.append(f"  node:{module}: {why}")
    if lines:
        raise UnsupportedFeatureError(
            f"the {preset} Worker imports node: modules that workerd does not serve with "
            f"{runtime.where} = {runtime.date!r} and compatibility_flags = "
            f"{json.dumps(list(runtime.flags))}:\n" + "\n".join(lines) + "\n"
            f"A static import of a module workerd lacks stops the whole Worker from loading, even if only "
            f"a task that is never run imports it. Raise the date (nitro-build's default is "
            f"{DEFAULT_COMPATIBILITY_DATE}), add the flag, or stop importing the module ({DOC})"
        )


def node_imports(meta: dict) -> set[str]:
    """The `node:` modules an esbuild metafile's outputs import (without the `node:` prefix)."""
    found = set()
    for output in meta.get("outputs", {}).values():
        for item in output.get("imports", []):
            path = item.get("path", "")
            if item.get("external") and path.startswith("node:"):
                found.add(path.removeprefix("node:"))
    return found
