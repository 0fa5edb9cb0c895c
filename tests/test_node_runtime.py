"""The node_server bundle of fixtures/runtime under real Node: task endpoints and their errors,
routes, the concurrency rule, lazy loading, the `task` CLI, the scheduler and graceful shutdown.

Every server is started by the `start_server` fixture (conftest.py) and killed after its test.
Tasks that leave traces write into $STATE_DIR, a fresh folder per test.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import NODE, REPO, build_project

FIXTURE = REPO / "fixtures" / "runtime"
TOKEN = "tok-3f9a1c"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MIB = 1024 * 1024

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


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """fixtures/runtime copied and built once through the real CLI."""
    project = tmp_path_factory.mktemp("runtime") / "project"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns(".output", ".nitro"))
    build_project(project)
    return project


@pytest.fixture
def state(tmp_path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


@pytest.fixture
def serve(start_server, bundle, state) -> Callable[..., Any]:
    """serve(token=TOKEN, **env) -> a running server of the bundle; token=None hides the endpoint."""

    def start(token: str | None = TOKEN, **env: str):
        full_env = {"STATE_DIR": str(state), "NITRO_TASKS_TOKEN": token or "", **env}
        return start_server([NODE, ".output/server/index.mjs"], bundle, full_env)

    return start


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def call(server, method: str, path: str, *, body: Any = None, raw: bytes | None = None,
         chunks: list[bytes] | None = None, headers: dict[str, str] | None = None) -> Answer:
    """One HTTP request; `chunks` sends the body with chunked encoding (no Content-Length)."""
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


def wait_until(predicate: Callable[[], Any], timeout: float = 10, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout}s")


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def run_cli(bundle: Path, state: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STATE_DIR": str(state)}
    return subprocess.run([NODE, ".output/server/index.mjs", "task", *args], cwd=bundle, env=env,
                          capture_output=True, text=True, timeout=30)


# ---------------------------------------------------------------- /_nitro/tasks


def test_listing_names_tasks_descriptions_and_schedules(serve):
    answer = call(serve(), "GET", "/_nitro/tasks", headers=AUTH)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json == LISTING


def test_run_merges_query_arrays_with_body_payload_body_winning(serve):
    server = serve()
    answer = call(server, "POST", "/_nitro/tasks/echo:payload?field=query&array=1&array=2&keep=q",
                  body={"payload": {"field": "body", "nested": {"value": True}}}, headers=AUTH)
    assert answer.status == 200
    assert answer.json == {"result": {
        "name": "echo:payload",
        "payload": {"field": "body", "array": ["1", "2"], "keep": "q", "nested": {"value": True}},
        "waitUntil": "function",
    }}
    # GET: the query alone, percent-decoded; the task name may be percent-encoded too.
    answer = call(server, "GET", "/_nitro/tasks/echo%3Apayload?a=x%20y&a=z", headers=AUTH)
    assert answer.json["result"]["payload"] == {"a": ["x y", "z"]}


def test_unknown_task_is_404_and_missing_handlers_are_501(serve):
    server = serve()
    answer = call(server, "GET", "/_nitro/tasks/does:not:exist", headers=AUTH)
    assert (answer.status, answer.json["statusCode"]) == (404, 404)
    assert "does:not:exist" in answer.json["message"]
    for name in ("no:handler", "no-run"):  # config task without handler; module without run()
        answer = call(server, "POST", f"/_nitro/tasks/{name}", headers=AUTH)
        assert (answer.status, answer.json["statusCode"]) == (501, 501), name
        assert name in answer.json["message"]


def test_task_error_answers_500_with_its_message(serve):
    answer = call(serve(), "POST", "/_nitro/tasks/fail:always", headers=AUTH)
    assert answer.status == 500
    assert answer.json == {"statusCode": 500, "message": "deliberate failure"}


def test_body_over_one_mib_is_413_by_length_and_by_streamed_size(serve, state):
    server = serve()
    big = b'{"payload": {"x": "' + b"a" * MIB + b'"}}'
    answer = call(server, "POST", "/_nitro/tasks/slow:count", raw=big, headers=AUTH)
    assert (answer.status, answer.json["statusCode"]) == (413, 413)
    # Chunked: no Content-Length, so only counting the streamed bytes can catch it.
    chunks = [big[i:i + 65536] for i in range(0, len(big), 65536)]
    answer = call(server, "POST", "/_nitro/tasks/slow:count", chunks=chunks, headers=AUTH)
    assert (answer.status, answer.json["statusCode"]) == (413, 413)
    assert not (state / "count.log").exists()
    # Just under the limit still runs.
    fits = {"payload": {"x": "a" * (MIB - 100)}}
    answer = call(server, "POST", "/_nitro/tasks/echo:payload", body=fits, headers=AUTH)
    assert answer.status == 200 and len(answer.json["result"]["payload"]["x"]) == MIB - 100


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"payload": "text"}', b"\xff\xfe{}"])
def test_body_that_is_not_a_json_object_is_400(serve, raw):
    answer = call(serve(), "POST", "/_nitro/tasks/echo:payload", raw=raw, headers=AUTH)
    assert (answer.status, answer.json["statusCode"]) == (400, 400)


def test_endpoint_is_hidden_without_a_configured_token(serve, state):
    server = serve(token=None)
    for method, path in (("GET", "/_nitro/tasks"), ("POST", "/_nitro/tasks/slow:count")):
        answer = call(server, method, path, headers={"Authorization": "Bearer "})
        assert answer.status == 404 and answer.json["statusCode"] == 404
    assert not (state / "count.log").exists()


@pytest.mark.parametrize("authorization", [
    None, "Bearer wrong", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN,
])
def test_wrong_or_missing_token_is_401_and_runs_nothing(serve, state, authorization):
    server = serve()
    headers = {"Authorization": authorization} if authorization else {}
    answer = call(server, "POST", "/_nitro/tasks/slow:count", headers=headers)
    assert (answer.status, answer.json["statusCode"]) == (401, 401)
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert not (state / "count.log").exists()
    assert call(server, "GET", "/_nitro/tasks", headers=AUTH).status == 200


# ---------------------------------------------------------------- routes


def test_route_runs_a_task_with_injected_globals(serve):
    answer = call(serve(), "GET", "/api/run-echo?who=route")
    assert answer.status == 200
    assert answer.json == {"from": "route", "result": {
        "name": "echo:payload", "payload": {"who": "route"}, "waitUntil": "undefined"}}


def test_routes_match_static_then_param_then_catch_all_and_method_suffix_first(serve):
    server = serve()
    post = call(server, "POST", "/api/users/7", body={"name": "Ada"})
    assert post.json == {"handler": "post", "id": "7", "method": "POST", "body": {"name": "Ada"}}
    assert call(server, "GET", "/api/users/7").json == {"handler": "any", "id": "7", "method": "GET"}
    assert call(server, "POST", "/api/users/me").json == {"handler": "me"}
    assert call(server, "GET", "/api/users/a%20b").json["id"] == "a b"
    assert call(server, "GET", "/files/a/b/c.txt").json == {"path": "a/b/c.txt"}
    missing = call(server, "GET", "/nothing/here")
    assert (missing.status, missing.json["statusCode"]) == (404, 404)


def test_route_return_values_and_errors_become_responses(serve):
    server = serve()
    get = lambda kind: call(server, "GET", f"/api/value?kind={kind}")  # noqa: E731
    assert (get("object").status, get("object").json) == (200, {"kind": "object"})
    text = get("text")
    assert (text.body, text.headers["content-type"]) == (b"plain text", "text/plain; charset=utf-8")
    assert (get("number").json, get("array").json) == (42, [1, "two"])
    empty = get("null")
    assert (empty.status, empty.body) == (204, b"")
    raw = get("response")
    assert (raw.status, raw.body, raw.headers["x-raw"]) == (201, b"raw body", "yes")
    assert (get("http-error").status, get("http-error").json) == (
        418, {"statusCode": 418, "message": "I'm a teapot"})
    crash = get("crash")  # production hides the message of an unexpected error, and logs it
    assert (crash.status, crash.json) == (500, {"statusCode": 500, "message": "Internal Server Error"})
    wait_until(lambda: "secret internals" in server.output, what="crash logged")


# ---------------------------------------------------------------- task semantics


def test_overlapping_calls_share_one_run_and_a_later_call_runs_again(serve, state):
    server = serve()
    count = state / "count.log"
    run = lambda ms: call(server, "POST", "/_nitro/tasks/slow:count",  # noqa: E731
                          body={"payload": {"ms": ms}}, headers=AUTH)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(run, 1000)
        wait_until(count.exists, what="first run started")
        second = pool.submit(run, 1000)
        answers = [first.result(), second.result()]
    assert [a.json for a in answers] == [{"result": {"runs": 1}}] * 2
    assert lines(count) == ["run"]
    assert run(0).json == {"result": {"runs": 2}}


def test_task_modules_load_lazily_on_first_run(serve, state):
    server = serve()
    wait_until(lambda: lines(state / "tick.log"), what="a scheduled firing")
    call(server, "GET", "/_nitro/tasks", headers=AUTH)
    assert not (state / "lazy.log").exists()
    for _ in range(2):
        assert call(server, "GET", "/_nitro/tasks/lazy", headers=AUTH).json == {"result": "lazy"}
    assert lines(state / "lazy.log") == ["loaded"]


# ---------------------------------------------------------------- task CLI


def test_cli_task_list_prints_the_listing(bundle, state):
    proc = run_cli(bundle, state, "list")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == LISTING


def test_cli_task_run_prints_the_result_without_server_or_scheduler(bundle, state):
    proc = run_cli(bundle, state, "run", "echo:payload", "--payload", '{"answer": 42}')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"result": {
        "name": "echo:payload", "payload": {"answer": 42}, "waitUntil": "function"}}
    assert "Listening" not in proc.stdout + proc.stderr
    assert not (state / "tick.log").exists()


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", "42"])
def test_cli_payload_that_is_not_an_object_warns_and_runs_without(bundle, state, payload):
    proc = run_cli(bundle, state, "run", "echo:payload", "--payload", payload)
    assert proc.returncode == 0, proc.stderr
    assert "--payload is not a JSON object" in proc.stderr
    assert json.loads(proc.stdout)["result"]["payload"] == {}


@pytest.mark.parametrize("name, status, message", [
    ("nope", 404, 'Task "nope" is not available'),
    ("no:handler", 501, 'Task "no:handler" has no handler implementation'),
    ("fail:always", 500, "deliberate failure"),
])
def test_cli_task_run_failure_exits_1_with_json_error(bundle, state, name, status, message):
    proc = run_cli(bundle, state, "run", name)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == {"statusCode": status, "message": message}


# ---------------------------------------------------------------- scheduler


def test_every_second_schedule_fires_with_whole_second_times_despite_a_failing_task(serve, state):
    server = serve()
    failure = '[nitro] scheduled task "fail:always" failed: deliberate failure'
    wait_until(lambda: server.output.count(failure) >= 2, what="two failed firings")
    times = wait_until(lambda: len(lines(state / "tick.log")) >= 3 and lines(state / "tick.log"),
                       what="three ticks")
    times = [int(t) for t in times]
    assert all(t % 1000 == 0 for t in times), times
    assert times == sorted(set(times)), times  # distinct, one per firing, in order
    assert abs(times[-1] - time.time() * 1000) < 5000
    # Ticks kept coming after failures were logged: a failing task never stops the scheduler.
    before = len(lines(state / "tick.log"))
    wait_until(lambda: len(lines(state / "tick.log")) > before, what="a tick after the failures")


# ---------------------------------------------------------------- shutdown


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_waits_for_the_running_task_then_exits_0(serve, state, sig):
    server = serve()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(call, server, "POST", "/_nitro/tasks/slow:count",
                              body={"payload": {"ms": 1500}}, headers=AUTH)
        wait_until((state / "count.log").exists, what="task started")
        started = time.monotonic()
        server.proc.send_signal(sig)
        code = server.proc.wait(timeout=12)
        elapsed = time.monotonic() - started
        answer = pending.result()
    assert code == 0
    assert answer.json == {"result": {"runs": 1}}  # the task finished and was answered first
    assert 1.0 < elapsed < 10, elapsed


def test_sigterm_waits_for_waituntil_work(serve, state):
    server = serve()
    assert call(server, "GET", "/api/defer?ms=800").json == {"deferred": 800}
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=12) == 0
    assert lines(state / "defer.log") == ["done"]


def test_shutdown_wait_is_bounded(serve, state):
    server = serve(NITRO_SHUTDOWN_TIMEOUT="700")
    with ThreadPoolExecutor(1) as pool:
        pool.submit(call, server, "POST", "/_nitro/tasks/slow:count",
                    body={"payload": {"ms": 60000}}, headers=AUTH)
        wait_until((state / "count.log").exists, what="task started")
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(timeout=12)
        elapsed = time.monotonic() - started
    assert code == 0
    assert 0.6 < elapsed < 5, elapsed
    assert "still running after 700 ms" in server.output


# ---------------------------------------------------------------- access rules, unit level


def test_dev_serves_loopback_only_and_token_may_come_from_ctx_env():
    """createApp driven directly: client addresses cannot be varied through a real socket here."""
    env = {k: v for k, v in os.environ.items() if k != "NITRO_TASKS_TOKEN"}
    proc = subprocess.run([NODE, str(REPO / "tests" / "js" / "app_access.mjs")], env=env,
                          capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(proc.stdout) == {
        "dev 127.0.0.1": 200, "dev 127.8.9.10": 200, "dev ::1": 200, "dev ::ffff:127.0.0.1": 200,
        "dev 10.0.0.5": 403, "dev 192.168.1.2": 403, "dev ::ffff:10.0.0.5": 403,
        "dev fe80::1": 403, "dev undefined": 403,
        "prod no token configured": 404, "prod env right": 200, "prod env wrong": 401,
        "prod env longer": 401, "prod env missing": 401, "prod loopback without token": 404,
    }


# ---------------------------------------------------------------- scheduler timers, fake clock

SCHEDULER_JS = REPO / "tests" / "js"


def compiled_specs(*crons: str) -> dict[str, Any]:
    from compiler.cron import parse_cron

    return {cron: parse_cron(cron).compiled() for cron in crons}


@pytest.mark.parametrize("scenario", [
    "everySecondWithoutDrift",          # firing times from the schedule; an early wake re-arms
    "stalledProcessSkipsMissedFirings",  # a blocked event loop does not replay missed firings
    "longWaitsAreChunked",              # waits beyond 2^31-1 ms are split, firing exactly on time
    "claimAndFailures",                 # claim() false skips a task; a failure is logged, others run
    "stopClearsTimersAndIdleWaitsForRuns",
])
def test_scheduler_timers_with_a_fake_clock(scenario):
    specs = compiled_specs("* * * * * *", "0 0 1 1 *")
    proc = subprocess.run([NODE, str(SCHEDULER_JS / "scheduler_fake_clock.mjs"), scenario,
                           json.dumps(specs)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"ok {scenario}"


def test_stopped_scheduler_does_not_keep_node_alive():
    spec = compiled_specs("* * * * * *")["* * * * * *"]
    started = time.monotonic()
    proc = subprocess.run([NODE, str(SCHEDULER_JS / "scheduler_stop_exits.mjs"), json.dumps([spec])],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 3


def test_port_in_use_exits_1_with_a_message(serve, start_server, bundle):
    first = serve()
    second = start_server([NODE, ".output/server/index.mjs"], bundle, ready=None, port=first.port)
    assert second.proc.wait(timeout=15) == 1
    assert "could not start the server" in second.output
