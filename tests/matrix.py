"""The shared behaviour matrix: the foundation's Node behaviours, run against every server preset.

Each check drives a bundle of fixtures/runtime in its real runtime: the listing, a run with query
and body payload, 404/501, a route calling runTask, the concurrency rule, a `* * * * * *`
schedule, and graceful shutdown. conftest.py loads this module as a plugin, so its fixtures
(`bundle`, `state`, `serve`, `task_cli`) are available to every test module. A preset's module
names its runtime in a module-scoped `runtime` fixture and imports the shared tests it runs; an
imported test function is collected in the importing module, against that module's runtime:

    from matrix import test_matrix, test_nitro_port_and_host_win  # noqa: F401 (shared tests, run here)

    @pytest.fixture(scope="module")
    def runtime() -> Runtime:
        return Runtime("bun", lambda project, state: [BUN, ".output/server/index.mjs"])
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Server,
    built_fixture,
    free_port,
    log_lines,
    run_task_cli,
    wait_for_lines,
    wait_until,
    without_runs,
)

TOKEN = "tok-matrix-51c2"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LISTING = {
    "tasks": {
        "echo:payload": {"description": "Returns the provided payload"},
        "fail:always": {"description": "Always throws"},
        "lazy": {"description": "Records when its module is loaded"},
        "no-run": {"description": "Has no run function"},
        "no:handler": {"description": "Registered in the config without a handler (501)"},
        "slow:count": {"description": "Counts its runs in count.log, then sleeps payload.ms"},
        "tick": {"description": "Appends each scheduledTime to tick.log"},
    },
    "scheduledTasks": [{"cron": "* * * * * *", "tasks": ["tick", "fail:always"]}],
}
FAILED_FIRING = '[nitro] scheduled task "fail:always" failed: deliberate failure'


@dataclass(frozen=True)
class Runtime:
    """How a preset's bundle is started: argv for (project folder, state folder), extra env."""

    preset: str
    command: Callable[[Path, Path], list[str]]
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def bundle(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fixtures/runtime built once per test module for `runtime.preset`."""
    return built_fixture("runtime", tmp_path_factory.mktemp(runtime.preset), runtime.preset)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """$STATE_DIR, where the fixture's tasks leave their traces: a fresh folder per test."""
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


@pytest.fixture
def serve(runtime: Runtime, start_server: Any, bundle: Path, state: Path) -> Callable[..., Server]:
    """serve(**env) -> the bundle running in its runtime, with the task token set."""

    def start(**env: str) -> Server:
        full_env = {"STATE_DIR": str(state), "NITRO_TASKS_TOKEN": TOKEN, **runtime.env, **env}
        return start_server(runtime.command(bundle, state), bundle, full_env)

    return start


@pytest.fixture
def task_cli(runtime: Runtime, bundle: Path, state: Path) -> Callable[..., subprocess.CompletedProcess]:
    """task_cli(*args, timeout=30) -> the bundle's `task` CLI, run in its runtime without a server."""

    def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return run_task_cli(
            runtime.command(bundle, state),
            bundle,
            *args,
            timeout=timeout,
            STATE_DIR=str(state),
            **runtime.env,
        )

    return run


def check_id(check: Callable[..., Any]) -> str:
    return check.__name__.removeprefix("check_")


# ---------------------------------------------------------------- helpers


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def call(
    server: Server,
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    chunks: list[bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One HTTP request on a fresh connection; `chunks` sends the body chunked (no Content-Length)."""
    data: Any = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if chunks is not None:
        data = iter(chunks)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        return Answer(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def run_slow(server: Server, ms: int) -> Answer:
    return call(server, "POST", "/_nitro/tasks/slow:count", body={"payload": {"ms": ms}}, headers=AUTH)


# ---------------------------------------------------------------- the matrix


def check_listing(serve: Callable[..., Server], state: Path) -> None:
    answer = call(serve(), "GET", "/_nitro/tasks", headers=AUTH)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert without_runs(answer.json) == LISTING


def check_run_with_query_and_body_payload(serve: Callable[..., Server], state: Path) -> None:
    server = serve()
    answer = call(
        server,
        "POST",
        "/_nitro/tasks/echo:payload?field=query&array=1&array=2&keep=q",
        body={"payload": {"field": "body", "nested": {"value": True}}},
        headers=AUTH,
    )
    assert answer.status == 200
    assert answer.json == {
        "result": {
            "name": "echo:payload",
            "payload": {"field": "body", "array": ["1", "2"], "keep": "q", "nested": {"value": True}},
            "waitUntil": "function",
        }
    }
    answer = call(server, "GET", "/_nitro/tasks/echo%3Apayload?a=x%20y&a=z", headers=AUTH)
    assert answer.json["result"]["payload"] == {"a": ["x y", "z"]}


def check_unknown_is_404_missing_handler_is_501_and_token_rules(
    serve: Callable[..., Server], state: Path
) -> None:
    server = serve()
    answer = call(server, "GET", "/_nitro/tasks/does:not:exist", headers=AUTH)
    assert (answer.status, answer.json["statusCode"]) == (404, 404)
    assert "does:not:exist" in answer.json["message"]
    for name in ("no:handler", "no-run"):
        answer = call(server, "POST", f"/_nitro/tasks/{name}", headers=AUTH)
        assert (answer.status, answer.json["statusCode"]) == (501, 501), name
    failed = call(server, "POST", "/_nitro/tasks/fail:always", headers=AUTH)
    assert (failed.status, failed.json) == (500, {"statusCode": 500, "message": "deliberate failure"})
    wrong = call(server, "POST", "/_nitro/tasks/slow:count", headers={"Authorization": "Bearer nope"})
    assert (wrong.status, wrong.json["statusCode"]) == (401, 401)
    assert not (state / "count.log").exists()


def check_route_runs_a_task(serve: Callable[..., Server], state: Path) -> None:
    server = serve()
    answer = call(server, "GET", "/api/run-echo?who=route")
    assert answer.status == 200
    assert answer.json == {
        "from": "route",
        "result": {"name": "echo:payload", "payload": {"who": "route"}, "waitUntil": "undefined"},
    }
    assert call(server, "GET", "/api/users/7").json == {"handler": "any", "id": "7", "method": "GET"}


def check_overlapping_calls_share_one_run(serve: Callable[..., Server], state: Path) -> None:
    server = serve()
    count = state / "count.log"
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(run_slow, server, 1200)
        wait_until(count.exists, what="first run started")
        others = [pool.submit(run_slow, server, 1200) for _ in range(2)]
        answers = [first.result(), *(o.result() for o in others)]
    assert [a.json for a in answers] == [{"result": {"runs": 1}}] * 3
    assert log_lines(count) == ["run"]
    assert run_slow(server, 0).json == {"result": {"runs": 2}}


def check_every_second_schedule_fires_once_per_second(serve: Callable[..., Server], state: Path) -> None:
    server = serve()
    tick = state / "tick.log"
    wait_until(lambda: server.output.count(FAILED_FIRING) >= 2, what="two failed firings")
    times = [int(t) for t in wait_for_lines(tick, 3)]
    assert all(t % 1000 == 0 for t in times), times
    assert times == sorted(set(times)), times  # distinct: one run per firing, in order
    assert abs(times[-1] - time.time() * 1000) < 5000
    # Ticks kept coming after failures were logged: a failing task never stops the scheduler.
    wait_for_lines(tick, len(log_lines(tick)) + 1)


def assert_signal_waits_for_the_running_task_then_exits_0(server: Server, state: Path, sig: int) -> None:
    """`sig` while a 1.5 s task runs: the task finishes and is answered, then the process exits 0."""
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(run_slow, server, 1500)
        wait_until((state / "count.log").exists, what="task started")
        started = time.monotonic()
        server.proc.send_signal(sig)
        code = server.proc.wait(timeout=15)
        elapsed = time.monotonic() - started
        answer = pending.result()
    assert code == 0, server.output
    assert answer.json == {"result": {"runs": 1}}  # the task finished and was answered first
    assert 1.0 < elapsed < 10, elapsed


def check_sigterm_waits_for_the_running_task_then_exits_0(serve: Callable[..., Server], state: Path) -> None:
    assert_signal_waits_for_the_running_task_then_exits_0(serve(), state, signal.SIGTERM)


def check_shutdown_wait_is_bounded(serve: Callable[..., Server], state: Path) -> None:
    server = serve(NITRO_SHUTDOWN_TIMEOUT="700")
    with ThreadPoolExecutor(1) as pool:
        pool.submit(run_slow, server, 60000)
        wait_until((state / "count.log").exists, what="task started")
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(timeout=15)
        elapsed = time.monotonic() - started
    assert code == 0, server.output
    assert 0.6 < elapsed < 5, elapsed
    assert "still running after 700 ms" in server.output


def raw_status(server: Server, request: bytes) -> str:
    """The status line a raw HTTP/1.1 request gets, or "" when the runtime closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        try:
            return sock.recv(65536).decode("latin-1").split("\r\n", 1)[0]
        except (ConnectionResetError, TimeoutError):
            return ""


def check_trace_and_connect_answer_without_logging(serve: Callable[..., Server], state: Path) -> None:
    """TRACE on a route that serves every method: a JSON 501, and not a line of log per request."""
    server = serve()
    for _ in range(20):
        answer = call(server, "TRACE", "/api/users/7")
        assert (answer.status, answer.json) == (
            501,
            {"statusCode": 501, "message": "Method TRACE is not supported"},
        )
        assert answer.headers["content-type"].startswith("application/json")
    for request in (
        b"CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n",
        b"TRACK /api/users/7 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"F@O /api/users/7 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET http://[bad/api/users/7 HTTP/1.1\r\nHost: x\r\n\r\n",
    ):  # URL no Request takes
        # Refused by the runtime's own parser (400, a closed connection) or by us (501): never a 500.
        status = raw_status(server, request)
        assert " 500 " not in status, (request, status)
    assert call(server, "GET", "/api/users/7").status == 200  # still serving
    for word in ("TRACE", "TRACK", "CONNECT", "TypeError", "Internal Server Error"):
        assert word not in server.output, server.output


MATRIX = (
    check_trace_and_connect_answer_without_logging,
    check_listing,
    check_run_with_query_and_body_payload,
    check_unknown_is_404_missing_handler_is_501_and_token_rules,
    check_route_runs_a_task,
    check_overlapping_calls_share_one_run,
    check_every_second_schedule_fires_once_per_second,
    check_sigterm_waits_for_the_running_task_then_exits_0,
    check_shutdown_wait_is_bounded,
)


# ---------------------------------------------------------------- shared tests (imported by preset modules)


@pytest.mark.parametrize("check", MATRIX, ids=check_id)
def test_matrix(check: Callable[..., None], serve: Callable[..., Server], state: Path) -> None:
    check(serve, state)


def test_nitro_port_and_host_win(serve: Callable[..., Server], state: Path) -> None:
    """NITRO_PORT/NITRO_HOST over PORT/HOST (not for node_middleware: its host app listens)."""
    port = free_port()
    server = serve(NITRO_PORT=str(port), NITRO_HOST="127.0.0.1", HOST="0.0.0.0")
    assert f"Listening on http://127.0.0.1:{port}" in server.output
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/api/users/1")
        assert json.loads(conn.getresponse().read()) == {"handler": "any", "id": "1", "method": "GET"}
    finally:
        conn.close()
    with pytest.raises(ConnectionRefusedError):
        call(server, "GET", "/api/users/1")  # PORT was given too, and lost


def test_waituntil_work_finishes_before_exit(serve: Callable[..., Server], state: Path) -> None:
    server = serve()
    assert call(server, "GET", "/api/defer?ms=800").json == {"deferred": 800}
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=12) == 0
    assert log_lines(state / "defer.log") == ["done"]


def test_port_in_use_exits_1_with_a_message(
    runtime: Runtime, serve: Callable[..., Server], start_server: Any, bundle: Path, state: Path
) -> None:
    first = serve()
    second = start_server(
        runtime.command(bundle, state),
        bundle,
        {"STATE_DIR": str(state), **runtime.env},
        ready=None,
        port=first.port,
    )
    assert second.proc.wait(timeout=15) == 1
    assert "could not start the server" in second.output
