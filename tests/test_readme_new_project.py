"""The README, followed as written: its "Start a new project" lines build and run a new project
that gets esbuild from npm, and its set-up commands are the ones CI runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import BIN, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def sh_blocks(section: str) -> list[str]:
    """The ```sh code blocks of the README section whose heading is `section`."""
    body = README.split(f"\n{section}\n", 1)[1]
    body = re.split(r"\n## ", body, maxsplit=1)[0]
    return re.findall(r"```sh\n(.*?)```", body, re.S)


def pinned_esbuild() -> str:
    lock = json.loads((REPO / "package-lock.json").read_text())
    return lock["packages"]["node_modules/esbuild"]["version"]


def test_a_new_project_follows_the_readme(tmp_path: Path) -> None:
    """`npm i -D esbuild` in a fresh folder (the version our lockfile pins, from npm's cache when
    it has it), then nitro-build finds that esbuild on its own: no NITRO_ESBUILD, none on PATH."""
    (script,) = sh_blocks("## Start a new project")
    assert "npm i -D esbuild\n" in script
    script = script.replace(
        "npm i -D esbuild\n", f"npm i -D esbuild@{pinned_esbuild()} --prefer-offline --no-audit --no-fund\n"
    )
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "nitro-build").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nitro_build build "$@"\n')
    (shims / "nitro-build").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "NITRO_ESBUILD"}
    env["PATH"] = os.pathsep.join([str(shims), env["PATH"]])
    env["PYTHONPATH"] = str(REPO)
    assert shutil.which("esbuild", path=env["PATH"]) is None
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout[proc.stdout.index('{\n  "result"') :]) == {"result": "migrated"}
    project = tmp_path / "my-project"
    assert (project / "node_modules" / ".bin" / "esbuild").is_file()
    assert "Built preset node_server into .output/" in proc.stdout
    # The README's tsconfig.json, checked by the TypeScript our lockfile pins.
    checked = subprocess.run(
        [str(BIN / "tsc"), "--noEmit", "-p", str(project)], capture_output=True, text=True, timeout=180
    )
    assert checked.returncode == 0, checked.stdout


def test_setup_commands_use_a_virtual_environment() -> None:
    """Debian's Python refuses a global `pip install` (PEP 668): both set-up commands make a venv."""
    install, tests = sh_blocks("## Set-up")
    for command in (install, tests):
        assert "python3 -m venv .venv && . .venv/bin/activate && pip install" in command
        assert "python3 -m pip install" not in command


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, tests = sh_blocks("## Set-up")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests.strip() in ci


def test_ci_runs_the_readme_checks_before_the_tests() -> None:
    """ruff format --check, ruff check, mypy and the size limits gate the test run."""
    (checks,) = sh_blocks("## Checks")
    _, tests = sh_blocks("## Set-up")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci.index(checks.strip()) < ci.index(tests.strip())
    for step in ("ruff format --check", "ruff check", ".ci/typecheck", ".ci/size_check"):
        assert step in checks
