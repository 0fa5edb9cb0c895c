"""The node_server bundle of fixtures/runtime under real Node: the shared behaviour matrix
(tests/matrix.py), and what this module checks deeper than the matrix does: body limits and bodies
that are not JSON objects, every token rule, routing and route return values, lazy loading, the
`task` CLI, SIGINT, and, without a server, the access rules and the scheduler's timers.

Every server is started by the `start_server` fixture (conftest.py) and killed after its test.
Tasks that leave traces write into $STATE_DIR, a fresh folder per test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from typing import Any

import pytest
from conftest import NODE, NODE_BUNDLE, REPO, last_line, log_lines, wait_for_lines, wait_until
from matrix import (  # noqa: F401 (shared tests, run here)
    AUTH,
    LISTING,
    TOKEN,
    Runtime,
    assert_signal_waits_for_the_running_task_then_exits_0,
    call,
    test_matrix,
    test_nitro_port_and_host_win,
    test_port_in_use_exits_1_with_a_message,
    test_waituntil_work_finishes_before_exit,
)

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime("node_server", lambda project, state: NODE_BUNDLE)


# ---------------------------------------------------------------- /_nitro/tasks


def test_missing_handler_answers_name_the_task(serve):
    """The 501 statuses (and the 404 and 500 answers) are checked by the matrix; here, the messages."""
    server = serve()
    for name in ("no:handler", "no-run"):  # config task without handler; module without run()
        answer = call(server, "POST", f"/_nitro/tasks/{name}", headers=AUTH)
        assert name in answer.json["message"]


def test_body_over_one_mib_is_413_by_length_and_by_streamed_size(serve, state):
    server = serve()
    big = b'{"payload": {"x": "' + b"a" * MIB + b'"}}'
    answer = call(server, "POST", "/_nitro/tasks/slow:count", raw=big, headers=AUTH)
    assert (answer.status, answer.json["statusCode"]) == (413, 413)
    # Chunked: no Content-Length, so only counting the streamed bytes can catch it.
    chunks = [big[i : i + 65536] for i in range(0, len(big), 65536)]
    answer = call(server, "POST", "/_nitro/tasks/slow:count", chunks=chunks, headers=AUTH)
    assert (answer.status, answer.json["statusCode"]) == (413, 413)
    assert not (state / "count.log").exists()
    # Just under the limit still runs.
    fits = {"payload": {"x": "a" * (MIB - 100)}}
    answer = call(server, "POST", "/_nitro/tasks/echo:payload", body=fits, headers=AUTH)
    assert answer.status == 200 and len(answer.json["result"]["payload"]["x"]) == MIB - 100


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"payload": "text"}', b"\xff\xfe{}", b"null"])
def test_body_that_is_not_a_json_object_counts_as_an_empty_payload(serve, raw):
    # As Nitro's dev-tasks handler: `req.json().catch(() => ({}))`.
    answer = call(serve(), "POST", "/_nitro/tasks/echo:payload?q=1", raw=raw, headers=AUTH)
    assert answer.status == 200 and answer.json["result"]["payload"] == {"q": "1"}


def test_body_without_a_payload_wrapper_is_the_payload(serve):
    # Nitro: `{ ...query, ...(body.payload ?? body) }`.
    body = {"key": "value", "q": "body"}
    answer = call(serve(), "POST", "/_nitro/tasks/echo:payload?q=1&r=2", body=body, headers=AUTH)
    assert answer.json["result"]["payload"] == {"key": "value", "q": "body", "r": "2"}


def test_endpoint_is_hidden_without_a_configured_token(serve, state):
    server = serve(NITRO_TASKS_TOKEN="")
    for method, path in (("GET", "/_nitro/tasks"), ("POST", "/_nitro/tasks/slow:count")):
        answer = call(server, method, path, headers={"Authorization": "Bearer "})
        assert answer.status == 404 and answer.json["statusCode"] == 404
    assert not (state / "count.log").exists()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
    ],
)
def test_wrong_or_missing_token_is_401_and_runs_nothing(serve, state, authorization):
    server = serve()
    headers = {"Authorization": authorization} if authorization else {}
    answer = call(server, "POST", "/_nitro/tasks/slow:count", headers=headers)
    assert (answer.status, answer.json["statusCode"]) == (401, 401)
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert not (state / "count.log").exists()
    assert call(server, "GET", "/_nitro/tasks", headers=AUTH).status == 200


# ---------------------------------------------------------------- routes


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
        418,
        {"statusCode": 418, "message": "I'm a teapot"},
    )
    crash = get("crash")  # production hides the message of an unexpected error, and logs it
    assert (crash.status, crash.json) == (500, {"statusCode": 500, "message": "Internal Server Error"})
    wait_until(lambda: "secret internals" in server.output, what="crash logged")


# ---------------------------------------------------------------- task semantics


def test_task_modules_load_lazily_on_first_run(serve, state):
    server = serve()
    wait_for_lines(state / "tick.log", 1)  # a scheduled firing
    call(server, "GET", "/_nitro/tasks", headers=AUTH)
    assert not (state / "lazy.log").exists()
    for _ in range(2):
        assert call(server, "GET", "/_nitro/tasks/lazy", headers=AUTH).json == {"result": "lazy"}
    assert log_lines(state / "lazy.log") == ["loaded"]


# ---------------------------------------------------------------- task CLI


def test_cli_task_list_prints_the_listing(task_cli):
    proc = task_cli("list")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == LISTING


def test_cli_task_run_prints_the_result_without_server_or_scheduler(task_cli, state):
    proc = task_cli("run", "echo:payload", "--payload", '{"answer": 42}')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "result": {"name": "echo:payload", "payload": {"answer": 42}, "waitUntil": "function"}
    }
    assert "Listening" not in proc.stdout + proc.stderr
    assert not (state / "tick.log").exists()


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", "42"])
def test_cli_payload_that_is_not_an_object_warns_and_runs_without(task_cli, payload):
    proc = task_cli("run", "echo:payload", "--payload", payload)
    assert proc.returncode == 0, proc.stderr
    assert "--payload is not a JSON object" in proc.stderr
    assert json.loads(proc.stdout)["result"]["payload"] == {}


@pytest.mark.parametrize(
    "name, sentence",
    [
        ("nope", 'error: Task "nope" is not available (404)'),
        ("no:handler", 'error: Task "no:handler" has no handler implementation (501)'),
        ("fail:always", 'error: task "fail:always" failed: deliberate failure (500)'),
    ],
)
def test_cli_task_run_failure_exits_1_with_an_error_sentence(task_cli, name, sentence):
    """The same error style as nitro-build and nitro dev: one sentence on stderr, exit 1."""
    proc = task_cli("run", name)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert last_line(proc.stderr) == sentence


# ---------------------------------------------------------------- shutdown


def test_sigint_waits_for_the_running_task_then_exits_0(serve, state):
    """Ctrl-C is handled as SIGTERM (a matrix check): the running task finishes and is answered first."""
    assert_signal_waits_for_the_running_task_then_exits_0(serve(), state, signal.SIGINT)


# ---------------------------------------------------------------- access rules, unit level


def test_dev_serves_loopback_only_and_token_may_come_from_ctx_env():
    """createApp driven directly: client addresses cannot be varied through a real socket here."""
    env = {k: v for k, v in os.environ.items() if k != "NITRO_TASKS_TOKEN"}
    proc = subprocess.run(
        [NODE, str(REPO / "tests" / "js" / "app_access.mjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(proc.stdout) == {
        "dev 127.0.0.1": 200,
        "dev 127.8.9.10": 200,
        "dev ::1": 200,
        "dev ::ffff:127.0.0.1": 200,
        "dev 10.0.0.5": 403,
        "dev 192.168.1.2": 403,
        "dev ::ffff:10.0.0.5": 403,
        "dev fe80::1": 403,
        "dev undefined": 403,
        "prod no token configured": 404,
        "prod env right": 200,
        "prod env wrong": 401,
        "prod env longer": 401,
        "prod env missing": 401,
        "prod loopback without token": 404,
    }


# ---------------------------------------------------------------- scheduler timers, fake clock

SCHEDULER_JS = REPO / "tests" / "js"


def compiled_specs(*crons: str) -> dict[str, Any]:
    from nitro_build.cron import parse_cron

    return {cron: parse_cron(cron).compiled() for cron in crons}


@pytest.mark.parametrize(
    "scenario",
    [
        "everySecondWithoutDrift",  # firing times from the schedule; an early wake re-arms
        "stalledProcessSkipsMissedFirings",  # a blocked event loop does not replay missed firings
        "longWaitsAreChunked",  # waits beyond 2^31-1 ms are split, firing exactly on time
        "claimAndFailures",  # claim() false skips a task; a failure is logged, others run
        "stopClearsTimersAndIdleWaitsForRuns",
        "allowedOverlapWithANeverEndingRunStaysBounded",  # one waiter per run, not per joining firing
        "clusterDispatchSharesOneRunPerTask",  # node_cluster's primary: one promise per run
    ],
)
def test_scheduler_timers_with_a_fake_clock(scenario):
    specs = compiled_specs("* * * * * *", "0 0 1 1 *")
    proc = subprocess.run(
        [NODE, "--expose-gc", str(SCHEDULER_JS / "scheduler_fake_clock.mjs"), scenario, json.dumps(specs)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"ok {scenario}"


def test_stopped_scheduler_does_not_keep_node_alive():
    spec = compiled_specs("* * * * * *")["* * * * * *"]
    started = time.monotonic()
    proc = subprocess.run(
        [NODE, str(SCHEDULER_JS / "scheduler_stop_exits.mjs"), json.dumps([spec])],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 3
