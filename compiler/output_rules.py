"""Which paths a build may replace: it replaces each output path wholesale, so only a folder it
created itself (it holds the `nitro.json` every build writes into its output folder) or an empty
one, never a user's file, the sources, or nitro-build's own work folder `.nitro/`.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import PresetError
from .model import Project
from .plan import WORK_DIR

MARKER = "nitro.json"  # written into every output folder; Nitro writes the same file


def check_outputs(project: Project, outputs: list[str], output_root: str) -> None:
    """Refuse, before anything is written, output paths that could hold the user's files.

    `output_root` is the preset's output folder; the other outputs are files or folders at
    fixed places the preset owns (`.wrangler/deploy/config.json`).
    """
    for rel in outputs:
        reason = unsafe_output(project, rel, folder=rel == output_root)
        if not reason:
            continue
        if _user_set(project, rel):
            cfg = project.config_file.name if project.config_file else "nitro config"
            raise PresetError(f"{cfg}: output.dir: refusing to replace output path {rel!r}: {reason}")
        raise PresetError(f"refusing to replace output path {rel!r}: {reason}")


def _user_set(project: Project, rel: str) -> bool:
    return project.output_dir is not None and project.root / rel == project.output_dir


def unsafe_output(project: Project, rel: str, folder: bool = True) -> str | None:
    """Why replacing `rel` could lose the user's files, or None when it is safe."""
    root = project.root
    live = (root / rel).resolve()
    if live == root or root not in live.parents:
        return "it must be a folder inside the project, not the project itself or outside it"
    work = root / WORK_DIR
    if live == work or work in live.parents:
        dev = work / "dev"
        if not _user_set(project, rel) and (live == dev or dev in live.parents):
            return None  # the dev preset's own output
        return (
            f"it is inside {WORK_DIR}/, where nitro-build keeps its build lock, sources and "
            "staging folders; choose a folder outside it, such as '.output'"
        )
    return (
        _source_reason(project, live)
        or _file_reason(root, live, folder)
        or (_foreign_folder_reason(live) if folder else None)
    )


def _source_reason(project: Project, live: Path) -> str | None:
    root = project.root
    if live == project.server_dir or live in project.server_dir.parents:
        return "it would contain the project's serverDir; choose another output folder"
    sources = [project.server_dir / d for d in ("tasks", "api", "routes", "plugins")]
    sources += [root / "node_modules"] + ([project.config_file] if project.config_file else [])
    for source in sources:
        if live == source or live in source.parents or source in live.parents:
            where = source.relative_to(root).as_posix() if root in source.parents else str(source)
            return f"it overlaps the project's own {where!r}; choose another output folder"
    return None


def _file_reason(root: Path, live: Path, folder: bool) -> str | None:
    """An existing file at the output folder's path, or on the way to it, is the user's."""
    for path in (live, *live.parents) if folder else live.parents:
        if path == root:
            return None
        if path.exists() and not path.is_dir():
            what = "is" if path == live else f"is inside {path.relative_to(root).as_posix()!r}, which is"
            return (
                f"it {what} a file, and a build would replace it with a folder; "
                "choose a folder name that is free, such as '.output'"
            )
    return None


def _foreign_folder_reason(live: Path) -> str | None:
    if live.is_dir() and not written_by_us(live):
        return (
            f"it exists and was not written by nitro-build (no {MARKER} from a build in it); "
            "move it away or choose another output folder"
        )
    return None


def written_by_us(folder: Path) -> bool:
    """An earlier build's output folder (its nitro.json names a preset), or an empty folder."""
    if not any(folder.iterdir()):
        return True
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    framework = data.get("framework") if isinstance(data, dict) else None
    return (
        isinstance(data.get("preset"), str)
        and isinstance(framework, dict)
        and (framework.get("name") in ("nitro-build", "nitro"))
    )
