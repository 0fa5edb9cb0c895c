"""The content hash of a build's inputs: a cache key a CI pipeline compares to skip a second build.

It covers what decides the output: the tool's version, the preset, the nitro config, every task and
route handler, the platform configs a preset reads (wrangler.*, vercel.json, package.json), the
lockfiles and tsconfig.json that decide what esbuild bundles, and CLOUDFLARE_ENV. Files are named by
their path relative to the project and hashed by content, so moving the project folder or touching
a file (timestamps) keeps the hash; changing any byte of an input changes it.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ._version import __version__
from .model import Project

# Read from the project root when present (platform configs, dependency locks, compiler options).
ROOT_INPUTS = (
    "wrangler.json", "wrangler.jsonc", "wrangler.toml", "vercel.json", "package.json",
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock", "bun.lockb",
    "deno.json", "deno.jsonc", "deno.lock", "tsconfig.json",
)
ENV_INPUTS = ("CLOUDFLARE_ENV",)


def input_files(project: Project) -> list[Path]:
    """Every file whose content goes into the hash, without duplicates."""
    files = [project.config_file] if project.config_file else []
    files += [t.handler for t in project.tasks if t.handler is not None]
    files += [r.handler for r in project.routes]
    files += [p for p in (project.root / n for n in ROOT_INPUTS) if p.is_file()]
    return list(dict.fromkeys(files))


def input_hash(project: Project, preset: str) -> str:
    """`sha256:<hex>` of the version, the preset, the environment inputs and each input file."""
    entries = [
        [Path(os.path.relpath(path, project.root)).as_posix(), _file_digest(path)]
        for path in input_files(project)
    ]
    data = {
        "tool": ["nitro-build", __version__],
        "preset": preset,
        "env": {name: os.environ.get(name, "") for name in ENV_INPUTS},
        "files": sorted(entries),
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:  # a handler that vanished since the scan: the build reports it
        return "missing"
