"""The content hash of a build's inputs: a cache key a CI pipeline compares to skip a second build.

It covers what decides the output: the tool's version, the preset, CLOUDFLARE_ENV, the nitro config,
every task and route handler (also one outside the project), every other JavaScript, TypeScript,
JSON and TOML file of the project (helper modules that handlers import, wrangler and vercel
configs, package.json, tsconfig.json), and the lockfiles that decide what esbuild bundles.
Dependencies (node_modules), dot-folders (.git, .nitro, build outputs) and the output folders are
not read. Files are named by their path relative to the project and hashed by content, so moving
the project folder or touching a file (timestamps) keeps the hash; changing any byte of an input
changes it. A file that is not an input (a test, a fixture) may change it too: a cache miss, never
a stale hit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ._version import __version__
from .model import Project
from .reads import read_bytes

# Files esbuild, the config loader or a preset may read, anywhere in the project.
SOURCE_SUFFIXES = (
    ".ts",
    ".mts",
    ".cts",
    ".tsx",
    ".js",
    ".mjs",
    ".cjs",
    ".jsx",
    ".json",
    ".jsonc",
    ".toml",
    ".wasm",
)
# Dependency locks without such a suffix, read from the project root when present.
ROOT_INPUTS = ("yarn.lock", "pnpm-lock.yaml", "bun.lock", "bun.lockb", "deno.lock")
# Folders that hold no inputs: dependencies and the presets' default output folders (dot-folders,
# such as .git, .nitro, .output and .vercel, are skipped too).
SKIPPED_DIRS = frozenset({"node_modules", "dist"})
ENV_INPUTS = ("CLOUDFLARE_ENV",)


def input_files(project: Project) -> list[str]:
    """Every file whose content goes into the hash, without duplicates (strings: 10,000 Path
    objects were a third of the hash's time)."""
    files = [project.config_file] if project.config_file else []
    files += [t.handler for t in project.tasks if t.handler is not None]
    files += [r.handler for r in project.routes]
    files += [p for p in (project.root / n for n in ROOT_INPUTS) if p.is_file()]
    return list(dict.fromkeys([*map(str, files), *source_files(project)]))


def source_files(project: Project) -> list[str]:
    """The project's own source-like files (see SOURCE_SUFFIXES), outside dependencies and outputs."""
    found: list[str] = []
    for folder, dirs, names in os.walk(project.root):
        dirs[:] = sorted(d for d in dirs if not _skipped(project, Path(folder, d)))
        found += [os.path.join(folder, n) for n in sorted(names) if n.endswith(SOURCE_SUFFIXES)]
    return found


def _skipped(project: Project, folder: Path) -> bool:
    return folder.name.startswith(".") or folder.name in SKIPPED_DIRS or folder == project.output_dir


def input_hash(project: Project, preset: str) -> str:
    """`sha256:<hex>` of the version, the preset, the environment inputs and each input file."""
    entries = [[_relative(path, project.root), _file_digest(path)] for path in input_files(project)]
    data = {
        "tool": ["nitro-build", __version__],
        "preset": preset,
        "env": {name: os.environ.get(name, "") for name in ENV_INPUTS},
        "files": sorted(entries),
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _relative(path: str, root: Path) -> str:
    """`path` relative to the project, `/`-separated; a string prefix for the project's own files
    (os.path.relpath normalises both paths each call: a tenth of a 10,000-task build's Python)."""
    prefix = str(root) + os.sep
    rel = path[len(prefix) :] if path.startswith(prefix) else os.path.relpath(path, root)
    return rel.replace(os.sep, "/")


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(read_bytes(path)).hexdigest()
    except OSError:  # a handler that vanished since the scan: the build reports it
        return "missing"
