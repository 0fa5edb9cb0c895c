"""The shared behaviour matrix: the foundation's Node behaviours, run against any server preset.

Each check drives a bundle of fixtures/runtime (the scenario project of test_node_runtime.py)
in its real runtime: the listing, a run with query and body payload, 404/501, a route calling
runTask, the concurrency rule, a `* * * * * *` schedule, and graceful shutdown. A preset's
test module describes how to start its bundle with a `Runtime` and parametrizes over `MATRIX`:

    RUNTIME = Runtime("bun", lambda project, state: [BUN, ".output/server/index.mjs"])
    bundle = matrix_bundle(RUNTIME)            # module-scoped fixture: the built project

    @pytest.mark.parametrize("check", MATRIX, ids=check_id)
    def test_matrix(check, start_server, bundle, tmp_path):
        check(matrix_serve(RUNTIME, start_server, bundle, tmp_path), tmp_path / "state")

node_server's tests can use it the same way with `[NODE, ".output/server/index.mjs"]`.
"""
from __future__ import annotations

import http.client
import json
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import REPO, Server, build_project, free_port

FIXTURE = REPO / "fixtures" / "runtime"
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


def matrix_bundle(runtime: Runtime) -> Any:
    """A module-scoped fixture: fixtures/runtime copied and built for `runtime.preset`."""

    @pytest.fixture(scope="module")
    def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
        project = tmp_path_factory.mktemp(runtime.preset) / "project"
        shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns(".output", ".nitro"))
        build_project(project, runtime.preset)
        return project

    return bundle


def matrix_serve(runtime: Runtime, start_server: Any, bundle: Path, tmp_path: Path) -> Callable[..., Server]:
    """serve(**env) -> the bundle running in its runtime, tasks writing into tmp_path/state."""
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)

    def serve(**env: str) -> Server:
        full_env = {"STATE_DIR": str(state), "NITRO_TASKS_TOKEN": TOKEN, **runtime.env, **env}
        return start_server(runtime.command(bundle, state), bundle, full_env)

    return serve


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


def call(server: Server, method: str, path: str, *, body: Any = None,
         headers: dict[str, str] | None = None) -> Answer:
    """One HTTP request on a fresh connection."""
    data = json.dumps(body).encode() if body is not None else None
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        return Answer(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 10, what: str = "condition") -> Any:
    """Poll `predicate` until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout}s")


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def run_slow(server: Server, ms: int) -> Answer:
    return call(server, "POST", "/_nitro/tasks/slow:count", body={"payload": {"ms": ms}}, headers=AUTH)


# ---------------------------------------------------------------- the matrix


def check_listing(serve: Callable[..., Server], state: Path) -> None:
    answer = call(serve(), "GET", "/_nitro/tasks", headers=AUTH)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json == LISTING


def check_run_with_query_and_body_payload(serve: Callable[..., Server], state: Path) -> None:
    server = serve()
    answer = call(server, "POST", "/_nitro/tasks/echo:payload?field=query&array=1&array=2&keep=q",
                  body={"payload": {"field": "body", "nested": {"value": True}}}, headers=AUTH)
    assert answer.status == 200
    assert answer.json == {"result": {
        "name": "echo:payload",
        "payload": {"field": "body", "array": ["1", "2"], "keep": "q", "nested": {"value": True}},
        "waitUntil": "function",
    }}
    answer = call(server, "GET", "/_nitro/tasks/echo%3Apayload?a=x%20y&a=z", headers=AUTH)
    assert answer.json["result"]["payload"] == {"a": ["x y", "z"]}


def check_unknown_is_404_missing_handler_is_501_and_token_rules(
        serve: Callable[..., Server], state: Path) -> None:
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
    assert answer.json == {"from": "route", "result": {
        "name": "echo:payload", "payload": {"who": "route"}, "waitUntil": "undefined"}}
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
    assert lines(count) == ["run"]
    assert run_slow(server, 0).json == {"result": {"runs": 2}}


def check_every_second_schedule_fires_once_per_second(serve: Callable[..., Server], state: Path) -> None:
    server = serve()
    tick = state / "tick.log"
    wait_until(lambda: server.output.count(FAILED_FIRING) >= 2, what="two failed firings")
    times = [int(t) for t in wait_until(lambda: len(lines(tick)) >= 3 and lines(tick), what="three ticks")]
    assert all(t % 1000 == 0 for t in times), times
    assert times == sorted(set(times)), times  # distinct: one run per firing, in order
    assert abs(times[-1] - time.time() * 1000) < 5000
    before = len(lines(tick))
    wait_until(lambda: len(lines(tick)) > before, what="a tick after the failures")


def check_sigterm_waits_for_the_running_task_then_exits_0(serve: Callable[..., Server], state: Path) -> None:
    server = serve()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(run_slow, server, 1500)
        wait_until((state / "count.log").exists, what="task started")
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(timeout=15)
        elapsed = time.monotonic() - started
        answer = pending.result()
    assert code == 0, server.output
    assert answer.json == {"result": {"runs": 1}}  # the task finished and was answered first
    assert 1.0 < elapsed < 10, elapsed


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


def check_nitro_port_and_host_win(serve: Callable[..., Server], state: Path) -> None:
    """NITRO_PORT/NITRO_HOST over PORT/HOST, as node_server (not for node_middleware: the host listens)."""
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


MATRIX = (
    check_listing,
    check_run_with_query_and_body_payload,
    check_unknown_is_404_missing_handler_is_501_and_token_rules,
    check_route_runs_a_task,
    check_overlapping_calls_share_one_run,
    check_every_second_schedule_fires_once_per_second,
    check_sigterm_waits_for_the_running_task_then_exits_0,
    check_shutdown_wait_is_bounded,
)
