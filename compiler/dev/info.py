"""nitro.dev.json: the running `nitro dev` session's pid and address, for `nitro task`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..presets.dev import DEV_DIR

INFO_FILE = "nitro.dev.json"


def info_path(root: Path) -> Path:
    """Where `nitro dev` records its pid and address for `nitro task`."""
    return root / DEV_DIR / INFO_FILE


def read_info(root: Path) -> dict[str, Any] | None:
    """The recorded info, or None when the file is missing or unreadable."""
    try:
        data = json.loads(info_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_info(root: Path, data: dict[str, Any]) -> None:
    """Write atomically, so `nitro task` never reads half a file."""
    path = info_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{INFO_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def pid_alive(pid: Any) -> bool:
    """True when process `pid` exists and is not a zombie."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: existence check, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (macOS): trust kill()
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def client_url(host: str, port: int) -> str:
    """Where local clients reach a server on host:port; wildcard addresses mean loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "::1"
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
