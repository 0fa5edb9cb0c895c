"""The bun preset under real Bun (node_modules/.bin/bun from the lockfile): the shared behaviour
matrix, the generated files, the `task` CLI and the waitUntil Bun itself does not provide."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import BIN, REPO, build_project, normalize_paths
from matrix import (MATRIX, Runtime, call, check_id, check_nitro_port_and_host_win, lines, matrix_bundle,
                    matrix_serve)

BUN = str(BIN / "bun")
RUNTIME = Runtime("bun", lambda project, state: [BUN, ".output/server/index.mjs"])
bundle = matrix_bundle(RUNTIME)


@pytest.fixture
def serve(start_server: Any, bundle: Path, tmp_path: Path) -> Callable[..., Any]:
    return matrix_serve(RUNTIME, start_server, bundle, tmp_path)


@pytest.mark.parametrize("check", MATRIX, ids=check_id)
def test_matrix(check: Callable[..., None], serve: Callable[..., Any], tmp_path: Path) -> None:
    check(serve, tmp_path / "state")


def test_nitro_port_and_host_win(serve: Callable[..., Any], tmp_path: Path) -> None:
    check_nitro_port_and_host_win(serve, tmp_path / "state")


def test_generated_files(tmp_path: Path, snapshot_file: Any) -> None:
    project = tmp_path / "basic"
    shutil.copytree(REPO / "fixtures" / "basic", project, ignore=shutil.ignore_patterns(".output", ".nitro"))
    build_project(project, "bun")
    sources = project / ".nitro" / "build" / "bun"
    for name in ("registry.mjs", "entry.mjs"):
        assert normalize_paths((sources / name).read_text(), project) == snapshot_file(name=name)
    nitro_json = (project / ".output" / "nitro.json").read_text()
    assert json.loads(nitro_json)["commands"] == {"preview": "bun .output/server/index.mjs"}
    assert nitro_json == snapshot_file(name="nitro.json")


def test_nitro_json_preview_command_serves(start_server: Any, bundle: Path, tmp_path: Path) -> None:
    argv = shlex.split(json.loads((bundle / ".output" / "nitro.json").read_text())["commands"]["preview"])
    assert argv[0] == "bun"
    server = start_server([BUN, *argv[1:]], bundle, {"NITRO_PORT": "", "STATE_DIR": str(tmp_path)})
    assert call(server, "GET", "/api/value").json == {"kind": "object"}


def test_waituntil_work_finishes_before_exit(serve: Callable[..., Any], tmp_path: Path) -> None:
    server = serve()
    assert call(server, "GET", "/api/defer?ms=800").json == {"deferred": 800}
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=12) == 0
    assert lines(tmp_path / "state" / "defer.log") == ["done"]


def test_task_cli_runs_one_task_under_bun(bundle: Path, tmp_path: Path) -> None:
    proc = subprocess.run([BUN, ".output/server/index.mjs", "task", "run", "echo:payload",
                           "--payload", '{"n": 1}'],
                          cwd=bundle, capture_output=True, text=True, timeout=30,
                          env={**os.environ, "STATE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"result": {
        "name": "echo:payload", "payload": {"n": 1}, "waitUntil": "function"}}
    failed = subprocess.run([BUN, ".output/server/index.mjs", "task", "run", "nope"], cwd=bundle,
                            capture_output=True, text=True, timeout=30)
    assert failed.returncode == 1
    assert json.loads(failed.stderr.strip().splitlines()[-1])["statusCode"] == 404


def test_port_in_use_exits_1_with_a_message(start_server: Any, bundle: Path, tmp_path: Path) -> None:
    first = start_server([BUN, ".output/server/index.mjs"], bundle, {"STATE_DIR": str(tmp_path)})
    second = start_server([BUN, ".output/server/index.mjs"], bundle, {"STATE_DIR": str(tmp_path)},
                          ready=None, port=first.port)
    assert second.proc.wait(timeout=15) == 1
    assert "could not start the server" in second.output
