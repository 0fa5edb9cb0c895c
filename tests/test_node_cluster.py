"""The node_cluster preset under real Node: the shared behaviour matrix with 3 workers, exactly one
run per scheduled firing across the cluster (also after the worker that ran the last firing is
killed), requests served by every worker, worker restarts, and the primary's lifecycle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    NODE_BUNDLE,
    assert_generated_files,
    build_project,
    built_fixture,
    log_lines,
    wait_until,
    write_project,
)
from matrix import Runtime, call, run_slow, test_matrix, test_nitro_port_and_host_win  # noqa: F401 (shared tests, run here)


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    """Three workers, so that the matrix also sees requests and firings spread over a cluster."""
    return Runtime("node_cluster", lambda project, state: NODE_BUNDLE, {"NITRO_CLUSTER_WORKERS": "3"})


# ---------------------------------------------------------------- exactly once per firing

STAMP_PROJECT = {
    "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"* * * * * *" = "stamp"\n',
    "tasks/stamp.ts": 'import { appendFileSync } from "node:fs";\n'
    "export default defineTask({ run({ payload }) {\n"
    "  const line = `${payload.scheduledTime} ${process.pid}\\n`;\n"
    "  appendFileSync(process.env.STAMP_FILE, line);\n"
    '  return { result: "stamped" };\n} });\n',
    "api/pid.ts": "export default () => ({ pid: process.pid });\n",
}


@pytest.fixture(scope="module")
def stamp_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = write_project(tmp_path_factory.mktemp("stamp") / "project", STAMP_PROJECT)
    build_project(project, "node_cluster")
    return project


def stamps(path: Path) -> list[tuple[int, int]]:
    """(firing time, worker pid) per line of the stamp file."""
    return [(int(t), int(pid)) for t, pid in (line.split() for line in log_lines(path))]


def assert_each_firing_once(found: list[tuple[int, int]], log: str) -> None:
    """Every second from the first firing to the last appears exactly once: no double, no gap."""
    times = sorted(t for t, _ in found)
    assert len(times) == len(set(times)), f"a firing ran twice: {found}\n{log}"
    assert times == list(range(times[0], times[-1] + 1000, 1000)), f"a firing is missing: {found}\n{log}"


def worker_pids(server: Any, expect: int) -> set[int]:
    """The pids answering requests; new connections go round-robin over the workers."""

    def answering() -> set[int] | None:
        pids = {call(server, "GET", "/api/pid").json["pid"] for _ in range(3 * expect)}
        return pids if len(pids) == expect else None

    return wait_until(answering, timeout=15, what=f"{expect} workers answering")


def test_each_firing_runs_once_also_after_its_worker_is_killed(
    start_server: Any, stamp_bundle: Path, tmp_path: Path
) -> None:
    stamp_file = tmp_path / "stamps.log"
    server = start_server(
        NODE_BUNDLE, stamp_bundle, {"NITRO_CLUSTER_WORKERS": "3", "STAMP_FILE": str(stamp_file)}
    )
    assert "(3 workers)" in server.output
    workers = worker_pids(server, 3)
    # Warm-up: each worker's first run loads the task module; on this shared 2-core machine that
    # can outlast a second, and a firing that comes while its task still runs is skipped by design.
    wait_until(lambda: len({pid for _, pid in stamps(stamp_file)}) == 3, what="every worker ran once")
    warm = len(stamps(stamp_file))
    time.sleep(5)
    before = stamps(stamp_file)[warm:]
    assert len(before) >= 4, before
    assert_each_firing_once(before, server.output)
    assert {pid for _, pid in before} <= workers
    assert len({pid for _, pid in before}) > 1  # firings are spread, not pinned to one worker

    victim = before[-1][1]  # the worker that ran the last firing
    os.kill(victim, signal.SIGKILL)
    killed_at = time.time() * 1000
    wait_until(lambda: f"worker {victim} exited (SIGKILL)" in server.output, what="the death noticed")
    later = lambda: [t for t, _ in stamps(stamp_file) if t > killed_at]  # noqa: E731
    wait_until(lambda: len(later()) >= 4, what="four more firings")
    after = stamps(stamp_file)[warm:]
    assert_each_firing_once(after, server.output)
    assert all(pid != victim for t, pid in after if t > killed_at + 1000)
    # The dead worker was replaced: three workers answer again, none of them the victim.
    replaced = worker_pids(server, 3)
    assert victim not in replaced and len(replaced & workers) == 2


def test_requests_are_served_by_every_worker(start_server: Any, stamp_bundle: Path, tmp_path: Path) -> None:
    server = start_server(
        NODE_BUNDLE, stamp_bundle, {"NITRO_CLUSTER_WORKERS": "3", "STAMP_FILE": str(tmp_path / "s.log")}
    )
    pids = worker_pids(server, 3)
    assert server.proc.pid not in pids  # the primary serves nothing itself
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(server.proc.pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert {int(p) for p in children} == pids


def test_worker_count_defaults_to_the_cpus(start_server: Any, stamp_bundle: Path, tmp_path: Path) -> None:
    server = start_server(
        NODE_BUNDLE, stamp_bundle, {"NITRO_CLUSTER_WORKERS": "", "STAMP_FILE": str(tmp_path / "s.log")}
    )
    assert f"({len(os.sched_getaffinity(0))} workers)" in server.output


@pytest.mark.parametrize("value", ["0", "two", "1.5"])
def test_bad_worker_count_exits_1_naming_the_variable(stamp_bundle: Path, value: str) -> None:
    proc = subprocess.run(
        NODE_BUNDLE,
        cwd=stamp_bundle,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NITRO_CLUSTER_WORKERS": value},
    )
    assert proc.returncode == 1
    assert f'NITRO_CLUSTER_WORKERS must be a whole number of at least 1, got "{value}"' in proc.stderr


# ---------------------------------------------------------------- lifecycle


def test_sigterm_to_the_whole_group_still_waits_once_and_exits_0(
    serve: Callable[..., Any], state: Path
) -> None:
    """Ctrl-C or a group kill reaches every worker and the primary: each shuts down once."""
    server = serve()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(run_slow, server, 1500)
        wait_until((state / "count.log").exists, what="task started")
        os.killpg(server.proc.pid, signal.SIGTERM)
        assert server.proc.wait(timeout=15) == 0, server.output
        assert pending.result().json == {"result": {"runs": 1}}


def test_workers_exit_when_the_primary_is_killed(
    start_server: Any, stamp_bundle: Path, tmp_path: Path
) -> None:
    server = start_server(
        NODE_BUNDLE, stamp_bundle, {"NITRO_CLUSTER_WORKERS": "3", "STAMP_FILE": str(tmp_path / "s.log")}
    )
    workers = worker_pids(server, 3)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=5)
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), what="orphans gone")


def test_task_cli_runs_in_the_primary_without_forking(task_cli: Callable[..., Any]) -> None:
    proc = task_cli("run", "echo:payload", "--payload", '{"n": 1}')  # with NITRO_CLUSTER_WORKERS=3
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "result": {"name": "echo:payload", "payload": {"n": 1}, "waitUntil": "function"}
    }
    assert "Listening" not in proc.stdout + proc.stderr


def test_generated_files(tmp_path: Path, snapshot_file: Any) -> None:
    project = built_fixture("basic", tmp_path, "node_cluster")
    preview = {"preview": "node .output/server/index.mjs"}
    assert_generated_files(project, "node_cluster", snapshot_file, preview)
