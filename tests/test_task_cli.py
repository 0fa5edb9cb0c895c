"""`nitro task list|run` against a real `nitro dev`, and every way of not finding or not reaching it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_dev
from conftest import run_cli
from test_dev import DevRun, info_file

dev = test_dev.dev  # the module-scoped `nitro dev` of test_dev.FILES; this module gets its own instance

TABLE = """\
TASK          DESCRIPTION                   SCHEDULE
cfg:only      Registered without a handler  -
db:migrate    Run database migrations       0 3 * * *
echo:payload  Returns the provided payload  0 3 * * *
fail          -                             -
mark          -                             -
tick          -                             * * * * * *
"""


def task(*args: str, project: Path) -> subprocess.CompletedProcess:
    return run_cli("task", *args, "--dir", str(project))


# ---------------------------------------------------------------- against the running dev server


def test_list_prints_names_descriptions_and_schedules(dev: DevRun):
    proc = task("list", project=dev.project)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, TABLE, "")


def test_list_json_is_the_servers_json(dev: DevRun):
    # `tick` fires every second and each run joins its `runs`: a run between the two reads made
    # them differ (seen in a clean-clone CI run), so a pair read within one second is compared.
    for _ in range(5):
        served_before = dev.request("GET", "/_nitro/tasks")[1]
        proc = task("list", "--json", project=dev.project)
        assert proc.returncode == 0, proc.stderr
        if served_before == dev.request("GET", "/_nitro/tasks")[1]:
            break
    assert json.loads(proc.stdout) == served_before


def test_list_works_from_inside_the_project_without_dir(dev: DevRun):
    proc = run_cli("task", "list", cwd=dev.project)
    assert (proc.returncode, proc.stdout) == (0, TABLE)


def test_run_prints_the_result_as_json(dev: DevRun):
    proc = task(
        "run", "echo:payload", "--payload", '{"answer": 42, "nested": {"ok": true}}', project=dev.project
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"result": {"answer": 42, "nested": {"ok": True}}}
    assert proc.stderr == ""
    proc = task("run", "db:migrate", project=dev.project)
    assert (proc.returncode, json.loads(proc.stdout)) == (0, {"result": "Success"})


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ("[1, 2]", "an array, not a JSON object"),
        ('"text"', "a string, not a JSON object"),
        ("{not json", "not valid JSON (Expecting property name enclosed in double quotes)"),
    ],
)
def test_payload_that_is_not_an_object_warns_and_runs_without(dev: DevRun, payload, kind):
    proc = task("run", "echo:payload", "--payload", payload, project=dev.project)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"result": {}}
    assert proc.stderr == f"warning: --payload is {kind}; running the task without a payload\n"


def test_run_unknown_task_is_an_error(dev: DevRun):
    proc = task("run", "nope:nothing", project=dev.project)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert (
        proc.stderr
        == 'error: task "nope:nothing" does not exist on the dev server; `nitro task list` shows the tasks\n'
    )


def test_run_failing_task_prints_its_message(dev: DevRun):
    proc = task("run", "fail", project=dev.project)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == 'error: task "fail" failed (500): boom: database is down\n'
    proc = task("run", "cfg:only", project=dev.project)
    assert proc.returncode == 1 and 'task "cfg:only" failed (501):' in proc.stderr


# ---------------------------------------------------------------- no (usable) dev server


def test_no_info_file_says_to_start_nitro_dev(tmp_path: Path):
    for args in (["list"], ["run", "db:migrate"]):
        proc = task(*args, project=tmp_path)
        assert proc.returncode == 1
        assert "no dev server is running" in proc.stderr and "start `nitro dev`" in proc.stderr
        assert ".nitro/dev/nitro.dev.json not found" in proc.stderr


def write_info(project: Path, **fields) -> None:
    info_file(project).parent.mkdir(parents=True, exist_ok=True)
    info_file(project).write_text(json.dumps(fields))


def test_stale_info_file_is_reported(tmp_path: Path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that existed and is now dead
    write_info(tmp_path, pid=gone.pid, address="http://127.0.0.1:9", serverPid=gone.pid)
    proc = task("list", project=tmp_path)
    assert proc.returncode == 1
    assert f"is stale: the nitro dev process it names (pid {gone.pid}) is not running" in proc.stderr


def test_unreadable_info_file_is_reported(tmp_path: Path):
    info_file(tmp_path).parent.mkdir(parents=True)
    info_file(tmp_path).write_text("{half")
    proc = task("list", project=tmp_path)
    assert proc.returncode == 1 and "not a valid dev server info file" in proc.stderr


def test_dev_without_a_running_server_is_reported(tmp_path: Path):
    write_info(tmp_path, pid=os.getpid(), address="http://127.0.0.1:9", serverPid=None)
    proc = task("run", "x", project=tmp_path)
    assert proc.returncode == 1 and "is running but not serving" in proc.stderr


def test_server_that_does_not_answer_times_out(tmp_path: Path):
    """A socket that accepts connections (kernel backlog) but never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"http://127.0.0.1:{silent.getsockname()[1]}"
        write_info(tmp_path, pid=os.getpid(), address=address, serverPid=os.getpid())
        started = time.monotonic()
        proc = run_cli("task", "run", "db:migrate", "--timeout", "1.5", "--dir", str(tmp_path))
        elapsed = time.monotonic() - started
    assert proc.returncode == 1
    assert f"the dev server at {address} did not answer within 1.5s" in proc.stderr
    assert 1.5 <= elapsed < 15, elapsed


def test_refused_connections_are_retried_until_the_timeout(tmp_path: Path):
    """Nothing listens (as while nitro dev restarts its server): retried, then a clear error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: connections are refused
    write_info(tmp_path, pid=os.getpid(), address=f"http://127.0.0.1:{port}", serverPid=os.getpid())
    started = time.monotonic()
    proc = run_cli("task", "list", "--timeout", "1", "--dir", str(tmp_path))
    assert proc.returncode == 1
    assert f"cannot reach the dev server at http://127.0.0.1:{port}" in proc.stderr
    assert "Connection refused" in proc.stderr
    assert time.monotonic() - started >= 0.8  # it kept trying for about the timeout
