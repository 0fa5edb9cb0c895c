"""Which files under routes/ and api/ become routes, and the names that are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import (
    NODE_BUNDLE,
    build_project,
    write_project,
)
from test_build_errors import fail


def handler(label: str) -> str:
    """A route module answering which file served the request, with the params it got."""
    body = f"({{ file: {json.dumps(label)}, params: event.params }})"
    return f"export default defineHandler((event) => {body});\n"


def test_anonymous_catch_all_and_dashed_param_names_route_like_nitro(tmp_path: Path, start_server) -> None:
    """`routes/[...].ts` is Nitro's catch-all and `[user-id]` a param; both used to be static text."""
    project = write_project(
        tmp_path,
        {
            "routes/index.get.ts": handler("index.get"),
            "routes/[...].ts": handler("catch-all"),
            "routes/users/[user-id].get.ts": handler("user-id.get"),
            "routes/users/[id].ts": handler("id"),
        },
    )
    build_project(project)
    server = start_server(NODE_BUNDLE, project)
    assert server.request("GET", "/")[1] == {"file": "index.get", "params": {}}
    caught = {"file": "catch-all", "params": {"_": "no/such/page"}}
    assert server.request("GET", "/no/such/page") == (200, caught)
    assert server.request("GET", "/users/5")[1] == {"file": "user-id.get", "params": {"user-id": "5"}}
    assert server.request("POST", "/users/7")[1] == {"file": "id", "params": {"id": "7"}}


ROUTE_ERRORS = {
    "same place, other param name": (
        {"routes/users/[id].ts": handler("a"), "routes/users/[name].ts": handler("b")},
        ["routes/users/[id].ts and routes/users/[name].ts both handle ANY METHOD"],
    ),
    "catch-all before another segment": (
        {"routes/[...slug]/edit.ts": handler("edit")},
        ["routes/[...slug]/edit.ts: a catch-all [...name] must be the last part"],
    ),
    "param mixed with text": (
        {"api/[id].json.ts": handler("json")},
        ["api/[id].json.ts: path segment '[id].json' mixes [param] brackets", "rename the file"],
    ),
}


@pytest.mark.parametrize("case", sorted(ROUTE_ERRORS))
def test_route_files_that_would_match_the_wrong_requests_are_errors(tmp_path: Path, case: str) -> None:
    files, expected = ROUTE_ERRORS[case]
    stderr = fail(write_project(tmp_path, files))
    for fragment in expected:
        assert fragment in stderr, stderr


def test_route_order_is_decided_by_the_build_and_kept_by_the_runtime(tmp_path: Path, start_server) -> None:
    """The registry lists routes in match order (compiler/scan.py route_sort_key) and the runtime
    takes the first match: an exact route beats a catch-all that also matches the path, even when
    the catch-all is method-specific, and static beats param beats catch-all position by position."""
    project = write_project(
        tmp_path,
        {
            "routes/a.ts": handler("a"),
            "routes/a/[...rest].get.ts": handler("a/catch-all.get"),
            "routes/[id]/edit.ts": handler("id/edit"),
            "routes/new/[what].ts": handler("new/what"),
        },
    )
    build_project(project)
    registry = (project / ".nitro/build/node_server/registry.mjs").read_text()
    order = [line.split('route: "')[1].split('"')[0] for line in registry.splitlines() if 'route: "' in line]
    assert order == ["/a", "/a/[...rest]", "/new/[what]", "/[id]/edit"], order
    server = start_server(NODE_BUNDLE, project)
    assert server.request("GET", "/a")[1]["file"] == "a"
    assert server.request("GET", "/a/b/c")[1] == {"file": "a/catch-all.get", "params": {"rest": "b/c"}}
    assert server.request("GET", "/new/edit")[1]["file"] == "new/what"
