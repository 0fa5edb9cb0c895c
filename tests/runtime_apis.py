"""Helpers for the runtime API tests (useRuntimeConfig, useStorage, plugins, h3): fixtures/runtime_apis
built per preset with a config tweak, the bundle's task CLI in each real runtime, and HOOK lines."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from conftest import BIN, NODE, build_project, copy_fixture

BUN = str(BIN / "bun")
DENO = str(BIN / "deno")
DRIVER = Path(__file__).resolve().parent / "js" / "miniflare_driver.mjs"


def project(tmp_path: Path, preset: str, **config: Any) -> Path:
    """fixtures/runtime_apis with `config` merged over its nitro.config.json, built for `preset`."""
    root = copy_fixture("runtime_apis", tmp_path)
    set_config(root, **config)
    build_project(root, preset)
    return root


def set_config(root: Path, **config: Any) -> None:
    """Merge top-level keys over the project's nitro.config.json (a key set to None is removed)."""
    path = root / "nitro.config.json"
    data = json.loads(path.read_text())
    data.update(config)
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}, indent=2))


def command(root: Path, preset: str) -> list[str]:
    """How the preset's bundle is run (its task CLI takes `task ...` after this)."""
    if preset == "bun":
        return [BUN, ".output/server/index.mjs"]
    if preset == "deno_server":  # nitro.json's documented command, with our deno binary
        argv = shlex.split(json.loads((root / ".output" / "nitro.json").read_text())["commands"]["preview"])
        return [DENO, *argv[1:]]
    return [NODE, ".output/server/index.mjs"]


def run_task(root: Path, preset: str, name: str, **env: str) -> subprocess.CompletedProcess:
    """`<runtime> index.mjs task run NAME` in the project, with extra environment variables."""
    return subprocess.run(
        [*command(root, preset), "task", "run", name],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def hooks(text: str) -> list[dict[str, Any]]:
    """The `HOOK {...}` lines the fixture's plugins print, parsed, in order."""
    return [json.loads(line.split("HOOK ", 1)[1]) for line in text.splitlines() if "HOOK {" in line]


def run_workers(workers: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    """Run built Workers in workerd through tests/js/miniflare_driver.mjs; its {results, logs}."""
    spec = json.dumps({"workers": workers, "actions": actions})
    proc = subprocess.run([NODE, str(DRIVER), spec], capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def worker(root: Path, **extra: Any) -> dict[str, Any]:
    """The cloudflare_module bundle of `root` as a Miniflare worker (nodejs_compat, as generated)."""
    return {
        "name": "app",
        "scriptPath": str(root / ".output" / "server" / "index.mjs"),
        "compatibilityDate": "2025-09-01",
        "compatibilityFlags": ["nodejs_compat"],
        **extra,
    }
