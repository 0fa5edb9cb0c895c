"""h3's utilities in route handlers (h3 2.x itself, from `h3` / `nitro/h3` or auto-imported),
Nitro 2's v1 names among them, and `$fetch` to our own routes staying in the process."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import NODE, Server, free_port
from runtime_apis import project, run_task, run_workers, worker


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """fixtures/runtime_apis on node_server, started once for this module (stopped after it)."""
    root = project(tmp_path_factory.mktemp("h3"), "node_server", storage=None)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
    srv = Server([NODE, ".output/server/index.mjs"], root, env, port)
    request.addfinalizer(srv.stop)
    srv.wait_for("Listening")
    return srv


def test_nitro2_route_with_v1_names(server) -> None:
    # defineEventHandler, getRouterParam, getQuery (repeated keys: arrays), readBody, setResponseStatus
    status, body = server.request("POST", "/nitro2/42?tag=a&tag=b&one=1", body={"name": "x"})
    assert status == 201
    assert body == {"id": "42", "query": {"tag": ["a", "b"], "one": "1"}, "body": {"name": "x"}}
    assert server.request("GET", "/nitro2/7") == (200, {"id": "7", "query": {}})
    assert server.request("GET", "/nitro2/8", headers={"x-agent": "a"}) == (
        200,
        {"id": "8", "query": {}, "agent": "a"},
    )
    # createError({ statusCode, message }) answers that status, as under Nitro
    assert server.request("GET", "/nitro2/missing") == (404, {"statusCode": 404, "message": "no such item"})


def test_readbody_rejects_invalid_json_with_400(server) -> None:
    status, body = server.request("POST", "/nitro2/1", raw=b"{not json")
    assert status == 400 and body["statusCode"] == 400


def test_adapted_v1_names(server) -> None:
    # send + toWebRequest + defineRequestMiddleware + defineResponseMiddleware + setHeader + getMethod
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}/v1-names")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.read().decode() == "url=/v1-names"
        assert resp.headers["content-type"] == "text/x-custom"
        assert resp.headers["x-method"] == "GET"
    # sendError throws the error it is given
    assert server.request("GET", "/v1-names?fail=1") == (418, {"statusCode": 418, "message": "teapot"})


def test_send_redirect_answers_302_with_location(server) -> None:
    class NoFollow(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
            return None

    opener = urllib.request.build_opener(NoFollow)
    try:
        opener.open(f"http://127.0.0.1:{server.port}/v1-names?go=1", timeout=10)
        raise AssertionError("expected a redirect")
    except urllib.error.HTTPError as err:
        assert err.code == 302 and err.headers["location"] == "/elsewhere"


def test_runtime_config_import_from_nitro_runtime_config(server) -> None:
    assert server.request("GET", "/config") == (
        200,
        {"apiBase": "https://api.example.com", "secretSet": True, "retry": {"backoffMS": 100, "count": 3}},
    )


def test_fetch_to_our_own_route_stays_in_process(tmp_path: Path) -> None:
    root = project(tmp_path, "node_server", storage=None)
    run = run_task(root, "node_server", "fetch-local")  # no server is listening: only in-process works
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"result": {"hello": "task"}}


def test_h3_route_and_fetch_on_workerd(tmp_path: Path) -> None:
    root = project(tmp_path, "cloudflare_module", storage=None)
    app = worker(root, bindings={"NITRO_TASKS_TOKEN": "tok"})
    out = run_workers(
        [app],
        [
            {
                "type": "fetch",
                "url": "http://app/nitro2/9?x=1",
                "method": "POST",
                "body": '{"a": 1}',
                "headers": {"content-type": "application/json"},
            },
            {
                "type": "fetch",
                "url": "http://app/_nitro/tasks/fetch-local",
                "headers": {"authorization": "Bearer tok"},
            },
        ],
    )
    first, second = out["results"]
    assert first["status"] == 201
    assert json.loads(first["body"]) == {"id": "9", "query": {"x": "1"}, "body": {"a": 1}}
    assert json.loads(second["body"]) == {"result": {"hello": "task"}}
