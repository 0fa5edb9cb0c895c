"""Where a project's server files live: Nitro 3's `serverDir`, or Nitro 2 / Nuxt's `server/`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, Warnings
from .provided import UNSUPPORTED_DIRS

if TYPE_CHECKING:
    from .config_models import NitroConfig

SCANNED_DIRS = ("tasks", "api", "routes")
NITRO2_SERVER_DIR = "server"


def resolve_server_dir(
    root: Path, config: NitroConfig, cfg_name: str, server_dir: Path
) -> tuple[Path, str | None]:
    """The folder to scan (`server_dir`: serverDir resolved), and a note for the summary when it
    is the `server/` fallback.

    Without a serverDir in the config, a project whose root has none of tasks/, api/, routes/
    but whose `server/` has them is a Nitro 2 or Nuxt project: scan `server/`.
    """
    if not server_dir.is_dir():
        what = "is a file, not a folder" if server_dir.exists() else "does not exist"
        raise ConfigError(
            f"{cfg_name}: serverDir: {config.scan_dir!r} {what} under {root}; point it at the "
            "folder that holds tasks/, api/ and routes/"
        )
    fallback = root / NITRO2_SERVER_DIR
    if "server_dir" in config.model_fields_set or _has_server_files(server_dir):
        return server_dir, None
    if fallback.is_dir() and _has_server_files(fallback):
        return fallback.resolve(), (
            f"scanned {NITRO2_SERVER_DIR}/ (Nitro 2 / Nuxt layout: no tasks/, api/ or routes/ at "
            f'the project root); set serverDir = "{NITRO2_SERVER_DIR}" to say so'
        )
    return server_dir, None


def _has_server_files(folder: Path) -> bool:
    return any((folder / name).is_dir() for name in SCANNED_DIRS)


def warn_unsupported(
    root: Path, server_dir: Path, config: NitroConfig, cfg_name: str, warnings: Warnings
) -> None:
    """One warning for the Nitro keys set aside, one for Nitro folders that are not built."""
    if config.unused_keys:
        warnings.warn(
            f"{cfg_name}: not used by nitro-build: {', '.join(config.unused_keys)} (Nitro options "
            "nitro-build does not implement; they are accepted and ignored)"
        )
    present = [name for name in UNSUPPORTED_DIRS if (server_dir / name).is_dir()]
    if present:
        shown = ", ".join(_shown(server_dir / name, root) + "/" for name in present)
        files = "these files are" if len(present) > 1 else "its files are"
        warnings.warn(
            f"{shown}: not supported by nitro-build, so {files} not built; only tasks/, api/ and routes/ are"
        )


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def resolve_config_path(root: Path, cfg_name: str, key: str, value: str) -> Path:
    """A path from the config made absolute; a value no file system accepts is a ConfigError."""
    problem = None
    if "\0" in value:
        problem = "contains a NUL byte (\\0), which no file name may hold"
    elif any(len(os.fsencode(part)) > 255 for part in Path(value).parts):
        problem = "has a path component longer than 255 bytes, the limit of common file systems"
    if problem is None:
        try:
            path = (root / value).resolve()
            path.exists()  # stat: also raises for names the file system refuses
            return path
        except (OSError, ValueError) as exc:
            problem = f"is not a usable path ({getattr(exc, 'strerror', None) or exc})"
    shown = json.dumps(value if len(value) <= 60 else value[:40] + "...", ensure_ascii=False)
    raise ConfigError(f"{cfg_name}: {key}: {shown} {problem}; fix the path")
