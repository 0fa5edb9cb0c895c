"""`nitro dev` for real: the dev build under Node, its task endpoints, schedules, the loopback rule,
nitro.dev.json, and a clean stop on SIGTERM / Ctrl-C (no process and no info file left behind).

Every `nitro dev` runs in its own process group and is stopped by its test or by `running_dev`.
The helpers here are shared with test_task_cli.py and test_dev_reload.py.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Server,
    assert_generated_sources,
    build_project,
    built_fixture,
    cli_env,
    free_port,
    normalize_nitro_json,
    run_cli,
    wait_for_lines,
    wait_until,
    without_runs,
    write_project,
)

CONFIG = """\
[experimental]
tasks = true

[tasks."db:migrate"]
description = "Run database migrations"

[tasks."cfg:only"]
description = "Registered without a handler"

[scheduledTasks]
"* * * * * *" = "tick"
"0 3 * * *" = ["db:migrate", "echo:payload"]
"""

TASKS = {
    "tasks/db/migrate.ts": 'export default defineTask({ run() { return { result: "Success" } } });\n',
    "tasks/echo/payload.ts": (
        'export default defineTask({\n  meta: { description: "Returns the provided payload" },\n'
        "  run({ payload }) { return { result: payload } },\n});\n"
    ),
    "tasks/fail.ts": 'export default defineTask({ run() { throw new Error("boom: database is down") } });\n',
    # Appends each firing's scheduledTime to ticks.log (in the project root: not a watched path).
    "tasks/tick.ts": (
        'import { appendFileSync } from "node:fs";\n'
        "export default defineTask({ run({ payload }) {\n"
        '  appendFileSync("ticks.log", `${payload.scheduledTime}\\n`);\n  return { result: "tick" };\n} });\n'
    ),
    "tasks/mark.ts": (
        'import { writeFileSync } from "node:fs";\n'
        'export default defineTask({ run() { writeFileSync("marked", "1"); return { result: "marked" } } });\n'
    ),
}
FILES = {
    "nitro.config.toml": CONFIG,
    **TASKS,
    "api/hello.ts": 'export default defineHandler(() => ({ hello: "world" }));\n',
}

LISTING = {
    "tasks": {
        "cfg:only": {"description": "Registered without a handler"},
        "db:migrate": {"description": "Run database migrations"},
        "echo:payload": {"description": "Returns the provided payload"},
        "fail": {"description": ""},
        "mark": {"description": ""},
        "tick": {"description": ""},
    },
    "scheduledTasks": [
        {"cron": "* * * * * *", "tasks": ["tick"]},
        {"cron": "0 3 * * *", "tasks": ["db:migrate", "echo:payload"]},
    ],
}


# ---------------------------------------------------------------- helpers (shared)


def info_file(project: Path) -> Path:
    return project / ".nitro" / "dev" / "nitro.dev.json"


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"


class DevRun(Server):
    """`python -m nitro_build dev --dir PROJECT --port P ...` with its output in a log file."""

    def __init__(self, project: Path, *args: str):
        port = free_port()
        argv = [sys.executable, "-m", "nitro_build", "dev", "--dir", str(project), "--port", str(port), *args]
        super().__init__(argv, project, cli_env(), port)
        self.project = project

    def info(self) -> dict[str, Any]:
        return json.loads(info_file(self.project).read_text())

    def ready_count(self) -> int:
        return self.output.count("[nitro dev] ready:")


@contextmanager
def running_dev(project: Path, *args: str, ready: str = "[nitro dev] ready:") -> Iterator[DevRun]:
    """Start `nitro dev`, wait for `ready` in its output; afterwards kill whatever a failed test left running."""
    run = DevRun(project, *args)
    servers: set[int] = set()
    try:
        run.wait_for(ready, timeout=30)
        servers.add(run.info()["serverPid"] or 0)
        yield run
    finally:
        if info_file(project).is_file():
            servers.add(json.loads(info_file(project).read_text() or "{}").get("serverPid") or 0)
        run.stop(signal.SIGKILL)
        for pid in servers - {0}:
            if process_exists(pid) and b"index.mjs" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def dev_runs():
    """dev_runs(project, *args) -> DevRun, killed after the test if it is still running."""
    with ExitStack() as stack:
        yield lambda project, *args, **kw: stack.enter_context(running_dev(project, *args, **kw))


def assert_stopped(run: DevRun, sig: int) -> None:
    """Signal `nitro dev` as a terminal would; it must exit 0, stop its server, free the port and
    remove nitro.dev.json."""
    server_pid = run.info()["serverPid"]
    assert run.stop(sig) == 0, run.output
    assert not info_file(run.project).exists(), "nitro.dev.json left behind"
    if server_pid is not None:
        wait_until(lambda: not process_exists(server_pid), 5, f"server pid {server_pid} to be gone")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("0.0.0.0", run.port))  # the port is free again


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> Iterator[DevRun]:
    """One `nitro dev` of FILES on a free loopback port, shared by a module's read-only tests
    (test_task_cli.py imports it too)."""
    project = write_project(tmp_path_factory.mktemp("dev") / "project", FILES)
    with running_dev(project) as run:
        yield run
        assert_stopped(run, signal.SIGTERM)


# ---------------------------------------------------------------- non-loopback clients


def machine_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (e.g. eth0's), if it has one."""
    if os.environ.get("NITRO_TEST_NETNS"):
        return None  # force the namespace path (to exercise it on machines that have an address)
    proc = subprocess.run(["ip", "-j", "-4", "addr", "show", "up"], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    for link in json.loads(proc.stdout or "[]"):
        for addr in link.get("addr_info", []):
            if not addr["local"].startswith("127."):
                return addr["local"]
    return None


def http_from(source: str, host: str, port: int, method: str, path: str) -> tuple[int, Any]:
    """One request whose socket is bound to `source`, so the server sees that client address."""
    conn = http.client.HTTPConnection(host, port, timeout=15, source_address=(source, 0))
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


NETNS_CLIENT = """
import http.client, json, sys
host, port, method, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = http.client.HTTPConnection(host, port, timeout=15)
conn.request(method, path)
resp = conn.getresponse()
print(json.dumps([resp.status, json.loads(resp.read())]))
"""


@contextmanager
def network_namespace() -> Iterator[tuple[str, str, Callable[..., tuple[int, Any]]]]:
    """A namespace joined to this machine by a veth pair: the client is 10.213.0.2, the server 10.213.0.1."""
    ns, host_if, ns_if = f"nitrotest{os.getpid()}", f"vnh{os.getpid()}", f"vnn{os.getpid()}"
    steps = [
        ["ip", "netns", "add", ns],
        ["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if],
        ["ip", "link", "set", ns_if, "netns", ns],
        ["ip", "addr", "add", "10.213.0.1/30", "dev", host_if],
        ["ip", "link", "set", host_if, "up"],
        ["ip", "-n", ns, "addr", "add", "10.213.0.2/30", "dev", ns_if],
        ["ip", "-n", ns, "link", "set", ns_if, "up"],
    ]

    def send(host: str, port: int, method: str, path: str) -> tuple[int, Any]:
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", NETNS_CLIENT, host, str(port), method, path],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
        status, body = json.loads(proc.stdout)
        return status, body

    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        yield "10.213.0.2", "10.213.0.1", send
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@contextmanager
def non_loopback_source() -> Iterator[tuple[str, str, Callable[..., tuple[int, Any]]]]:
    """(client ip, server ip to connect to, send): this machine's own address, else a namespace."""
    address = machine_address()
    if address:
        yield address, address, lambda host, port, method, path: http_from(address, host, port, method, path)
        return
    if not shutil.which("ip") or os.geteuid() != 0:
        pytest.fail(
            "no non-loopback address on this machine and no way to create a network namespace "
            "(needs `ip` and root): the loopback rule cannot be tested over real sockets here"
        )
    with network_namespace() as found:
        yield found


# ---------------------------------------------------------------- the running server


def test_info_file_names_this_process_and_a_live_server(dev: DevRun):
    info = dev.info()
    assert info == {
        "address": f"http://127.0.0.1:{dev.port}",
        "host": "127.0.0.1",
        "pid": dev.proc.pid,
        "port": dev.port,
        "serverPid": info["serverPid"],
    }
    argv = Path(f"/proc/{info['serverPid']}/cmdline").read_bytes().split(b"\0")
    assert argv[1] == b".nitro/dev/server/index.mjs"
    assert f"[nitro dev] ready: http://127.0.0.1:{dev.port}" in dev.output


def test_listing_has_config_and_module_descriptions_and_schedules(dev: DevRun):
    status, listing = dev.request("GET", "/_nitro/tasks")
    assert (status, without_runs(listing)) == (200, LISTING)


def test_run_with_query_and_body_payloads_body_winning(dev: DevRun):
    status, body = dev.request("GET", "/_nitro/tasks/echo:payload?field=value&array=1&array=2")
    assert (status, body) == (200, {"result": {"field": "value", "array": ["1", "2"]}})
    status, body = dev.request(
        "POST",
        "/_nitro/tasks/echo:payload?field=value&answer=1",
        {"payload": {"answer": 42, "nested": {"value": True}}},
    )
    assert (status, body) == (200, {"result": {"field": "value", "answer": 42, "nested": {"value": True}}})


def test_unknown_failing_and_handlerless_tasks(dev: DevRun):
    assert dev.request("GET", "/_nitro/tasks/nope") == (
        404,
        {"statusCode": 404, "message": 'Task "nope" is not available'},
    )
    assert dev.request("POST", "/_nitro/tasks/fail") == (
        500,
        {"statusCode": 500, "message": "boom: database is down"},
    )
    status, body = dev.request("GET", "/_nitro/tasks/cfg:only")
    assert status == 501 and "no handler" in body["message"]


def test_scheduled_tasks_run_in_dev(dev: DevRun):
    times = [int(t) for t in wait_for_lines(dev.project / "ticks.log", 2)]
    assert all(t % 1000 == 0 for t in times), times  # every second, on the second
    assert times == sorted(set(times)), times


def test_a_second_nitro_dev_for_the_same_project_is_refused(dev: DevRun):
    proc = run_cli("dev", "--dir", str(dev.project), "--port", str(free_port()))
    assert proc.returncode == 1
    assert f"nitro dev is already running for this project (pid {dev.proc.pid}" in proc.stderr
    assert dev.info()["pid"] == dev.proc.pid


# ---------------------------------------------------------------- loopback rule, real sockets


def test_tasks_are_refused_to_non_loopback_clients_even_on_all_interfaces(tmp_path: Path, dev_runs):
    """The server listens on 0.0.0.0; the client connects from another address of this machine
    (its eth0 address, or a veth in a network namespace the test creates)."""
    project = write_project(tmp_path / "project", FILES)
    run = dev_runs(project, "--host", "0.0.0.0")
    assert run.info()["address"] == f"http://127.0.0.1:{run.port}"  # what `nitro task` connects to
    assert run.request("GET", "/_nitro/tasks")[0] == 200  # loopback: allowed
    refused = (403, {"statusCode": 403, "message": "Tasks are only served to loopback clients in dev"})
    with non_loopback_source() as (client_ip, server_ip, send):
        for method, path in [
            ("GET", "/_nitro/tasks"),
            ("GET", "/_nitro/tasks/mark"),
            ("POST", "/_nitro/tasks/mark"),
        ]:
            assert send(server_ip, run.port, method, path) == refused, (method, path, client_ip)
        # The same client reaches ordinary routes: only the task endpoints are loopback-only.
        assert send(server_ip, run.port, "GET", "/api/hello") == (200, {"hello": "world"})
    assert not (project / "marked").exists(), "a refused request ran the task"
    assert run.request("POST", "/_nitro/tasks/mark") == (200, {"result": "marked"})
    assert_stopped(run, signal.SIGTERM)


# ---------------------------------------------------------------- stopping and bad starts


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stop_signal_stops_the_server_and_removes_the_info_file(tmp_path: Path, dev_runs, sig):
    project = write_project(tmp_path / "project", {"nitro.config.toml": CONFIG, **TASKS})
    run = dev_runs(project)
    assert info_file(project).is_file()
    assert_stopped(run, sig)
    assert "[nitro dev] stopped" in run.output


def test_killed_nitro_dev_takes_its_server_down_and_a_new_one_replaces_the_stale_file(
    tmp_path: Path, dev_runs
):
    project = write_project(tmp_path / "project", {"nitro.config.toml": CONFIG, **TASKS})
    first = dev_runs(project)
    server = first.info()["serverPid"]
    first.stop(signal.SIGKILL)  # no cleanup possible: the info file stays, naming a dead pid
    wait_until(lambda: not process_exists(server), 5, "the orphaned server to stop (parent-death signal)")
    proc = run_cli("task", "list", "--dir", str(project))
    assert (
        proc.returncode == 1
        and f"is stale: the nitro dev process it names (pid {first.proc.pid})" in proc.stderr
    )
    second = dev_runs(project)
    assert second.info()["pid"] == second.proc.pid
    assert (
        run_cli("task", "run", "db:migrate", "--dir", str(project)).stdout == '{\n  "result": "Success"\n}\n'
    )
    assert_stopped(second, signal.SIGTERM)


def test_port_in_use_is_a_clear_error_and_leaves_nothing_behind(tmp_path: Path):
    project = write_project(tmp_path / "project", FILES)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = run_cli("dev", "--dir", str(project), "--port", str(port))
    assert proc.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr
    assert not info_file(project).exists()


def test_missing_project_folder_is_a_clear_error(tmp_path: Path):
    proc = run_cli("dev", "--dir", str(tmp_path / "nowhere"), "--port", str(free_port()))
    assert proc.returncode == 1
    assert "does not exist" in proc.stderr and not (tmp_path / "nowhere").exists()


# ---------------------------------------------------------------- the dev preset's files


def test_dev_preset_generated_files(tmp_path: Path, snapshot_file):
    project = built_fixture("basic", tmp_path, "dev")
    assert_generated_sources(project, "dev", snapshot_file)
    sources = project / ".nitro" / "build" / "dev"
    nitro_json = (project / ".nitro" / "dev" / "nitro.json").read_text()
    assert normalize_nitro_json(nitro_json, project) == snapshot_file(name="nitro.json")
    assert '"dev":true' in (sources / "registry.mjs").read_text()
    assert (project / ".nitro" / "dev" / "server" / "index.mjs").is_file()
    assert not (project / ".output").exists(), "dev builds go to .nitro/dev only"


def test_dev_rebuild_keeps_the_info_file_and_ignores_output_dir(tmp_path: Path):
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": CONFIG + '\n[output]\ndir = "dist-out"\n',
            **TASKS,
        },
    )
    build_project(project, "dev")
    info_file(project).write_text('{"pid": 1}\n')
    build_project(project, "dev")
    assert info_file(project).read_text() == '{"pid": 1}\n'
    assert (project / ".nitro" / "dev" / "server" / "index.mjs").is_file()
    assert not (project / "dist-out").exists()


def test_a_server_whose_top_level_await_never_settles_is_explained(tmp_path: Path, dev_runs):
    """Node exits with code 13 and prints nothing when a module's top-level await never settles.
    Here an npm package awaits at its top level and a utils/ helper imports it: no project file
    awaits, so the build does not look for it (presets/base.py), and in the one-file dev bundle
    the auto-import module waits on itself. nitro dev names the cause and what to look at instead
    of a bare exit code, and keeps watching."""
    project = write_project(
        tmp_path / "project",
        {
            "node_modules/tla-pkg/package.json": '{"name": "tla-pkg", "type": "module", "main": "index.js"}\n',
            "node_modules/tla-pkg/index.js": "export const base = await Promise.resolve(2);\n",
            "utils/scale.ts": 'import { base } from "tla-pkg";\nexport const scale = (n: number) => n * base;\n',
            "utils/text.ts": "export const twice = (s: string) => s + s;\n",
            "routes/index.ts": 'export default defineHandler(() => twice("a"));\n',
        },
    )
    run = dev_runs(project, ready="did not start")
    run.wait_for("Fix the cause and save a file to retry")
    assert "exit code 13: Node's unsettled top-level await" in run.output, run.output
    assert "modules that await at their top level" in run.output, run.output
    assert run.proc.poll() is None  # still watching for a fix
