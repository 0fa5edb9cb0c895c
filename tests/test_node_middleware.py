"""The node_middleware preset mounted in a real Express 5 app (tests/js/express_host.mjs): the shared
behaviour matrix through Express, Express's own routes, next() for what the bundle does not
handle, a host body parser, the `handler` export and one scheduler per process."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import NODE, REPO, assert_generated_files, built_fixture, log_lines, wait_for_lines
from matrix import (
    AUTH,
    Runtime,
    call,
    test_matrix,  # noqa: F401 (shared tests, run here)
)

HOST_APP = REPO / "tests" / "js" / "express_host.mjs"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(
        "node_middleware",
        lambda project, state: [NODE, str(HOST_APP), str(project / ".output/server/index.mjs")],
    )


def test_express_routes_answer_and_unhandled_paths_reach_next(serve: Callable[..., Any]) -> None:
    server = serve()
    assert call(server, "GET", "/express/before").json == {"from": "express", "route": "before"}
    # Mounted after the middleware: only reachable because it called next().
    assert call(server, "GET", "/express/after").json == {"from": "express", "route": "after"}
    # The middleware did not touch the body of a request it passed on.
    echoed = call(server, "POST", "/express/echo", body={"kept": True}, headers=JSON)
    assert echoed.json == {"from": "express", "body": {"kept": True}}
    missing = call(server, "GET", "/nothing/here")
    assert (missing.status, missing.json) == (404, {"from": "express", "status": 404})
    # The bundle's routes and task endpoint answer, next to Express's.
    assert call(server, "GET", "/api/users/7").json == {"handler": "any", "id": "7", "method": "GET"}
    assert call(server, "GET", "/_nitro/tasks", headers=AUTH).status == 200


def test_task_endpoint_is_passed_on_when_no_token_is_configured(serve: Callable[..., Any]) -> None:
    server = serve(NITRO_TASKS_TOKEN="")
    missing = call(server, "GET", "/_nitro/tasks", headers=AUTH)
    assert (missing.status, missing.json) == (404, {"from": "express", "status": 404})


def test_body_already_parsed_by_the_host_reaches_the_task(serve: Callable[..., Any]) -> None:
    server = serve(HOST_JSON_PARSER="1")
    answer = call(
        server, "POST", "/_nitro/tasks/echo:payload?q=1", body={"payload": {"b": 2}}, headers={**AUTH, **JSON}
    )
    assert answer.status == 200, answer.body
    assert answer.json["result"]["payload"] == {"q": "1", "b": 2}
    posted = call(server, "POST", "/api/users/9", body={"name": "Ada"}, headers=JSON)
    assert posted.json == {"handler": "post", "id": "9", "method": "POST", "body": {"name": "Ada"}}


def test_fetch_handler_export_answers_web_requests(serve: Callable[..., Any]) -> None:
    answer = call(serve(), "GET", "/express/fetch-handler")
    assert answer.json == {"via": "handler", "body": {"handler": "any", "id": "42", "method": "GET"}}


def test_importing_the_bundle_twice_starts_one_scheduler(serve: Callable[..., Any], state: Path) -> None:
    server = serve(HOST_IMPORT_TWICE="1")
    tick = state / "tick.log"
    wait_for_lines(tick, 1)
    time.sleep(3)
    times = [int(t) for t in log_lines(tick)]
    assert len(times) >= 3 and len(times) == len(set(times)), times
    assert call(server, "GET", "/express/after").json["route"] == "after"  # the second instance serves


def test_generated_files(tmp_path: Path, snapshot_file: Any) -> None:
    project = built_fixture("basic", tmp_path, "node_middleware")
    assert_generated_files(
        project,
        "node_middleware",
        snapshot_file,
        {"mount": 'app.use((await import("./.output/server/index.mjs")).middleware)'},
    )


def test_bundle_run_directly_runs_one_task_and_exits(bundle: Path, state: Path) -> None:
    """`node .output/server/index.mjs task ...` works for this bundle too, and exits (no scheduler)."""
    import json
    import os
    import subprocess

    env = {**os.environ, "STATE_DIR": str(state)}
    run = subprocess.run(
        [NODE, ".output/server/index.mjs", "task", "run", "echo:payload", "--payload", '{"a": 1}'],
        cwd=bundle,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"]["payload"] == {"a": 1}
    listed = subprocess.run(
        [NODE, ".output/server/index.mjs", "task", "list"],
        cwd=bundle,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert listed.returncode == 0 and "echo:payload" in json.loads(listed.stdout)["tasks"]
    missing = subprocess.run(
        [NODE, ".output/server/index.mjs", "task", "run", "nope"],
        cwd=bundle,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1] == 'error: Task "nope" is not available (404)'
