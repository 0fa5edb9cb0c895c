"""The bun preset under real Bun (node_modules/.bin/bun from the lockfile): the shared behaviour
matrix, the generated files, the `task` CLI and the waitUntil Bun itself does not provide."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, assert_generated_files, built_fixture, last_line, preview_argv
from matrix import (  # noqa: F401 (shared tests, run here)
    Runtime,
    call,
    test_matrix,
    test_nitro_port_and_host_win,
    test_port_in_use_exits_1_with_a_message,
    test_waituntil_work_finishes_before_exit,
)

BUN = str(BIN / "bun")


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime("bun", lambda project, state: [BUN, ".output/server/index.mjs"])


def test_generated_files(tmp_path: Path, snapshot_file: Any) -> None:
    project = built_fixture("basic", tmp_path, "bun")
    assert_generated_files(project, "bun", snapshot_file, {"preview": "bun .output/server/index.mjs"})


def test_nitro_json_preview_command_serves(start_server: Any, bundle: Path, state: Path) -> None:
    argv = preview_argv(bundle)
    assert argv[0] == "bun"
    server = start_server([BUN, *argv[1:]], bundle, {"NITRO_PORT": "", "STATE_DIR": str(state)})
    assert call(server, "GET", "/api/value").json == {"kind": "object"}


def test_task_cli_runs_one_task_under_bun(task_cli: Callable[..., Any]) -> None:
    proc = task_cli("run", "echo:payload", "--payload", '{"n": 1}')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "result": {"name": "echo:payload", "payload": {"n": 1}, "waitUntil": "function"}
    }
    failed = task_cli("run", "nope")
    assert failed.returncode == 1
    assert last_line(failed.stderr) == 'error: Task "nope" is not available (404)'
