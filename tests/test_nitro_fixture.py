"""Nitro's own task fixture (fixtures/nitro-fixture, copied unchanged from nitrojs/nitro: see its
NOTE.md) builds as it is, and Nitro's five task tests from `test/presets/nitro-dev.test.ts` pass
against the production node_server bundle (with NITRO_TASKS_TOKEN) and against `nitro dev`.

The fixture's nitro.config.ts imports `defineConfig` from "nitro" and node:path / node:fs, holds
functions (rollupConfig, virtual) and reads process.env; it is evaluated by Node as it is.
"""

from __future__ import annotations

import os
import signal
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, Server, build_project, copy_fixture, free_port, run_cli
from test_dev import running_dev

TOKEN = "nitro-fixture-token"
Call = Callable[..., tuple[int, Any]]


@pytest.fixture(scope="module", params=["production", "dev"])
def call(request, tmp_path_factory) -> Iterator[Call]:
    """`call(url, method="GET", body=None)` against the built bundle or a running `nitro dev`."""
    project = copy_fixture("nitro-fixture", tmp_path_factory.mktemp(request.param))
    if request.param == "dev":
        with running_dev(project) as run:
            yield lambda url, method="GET", body=None: run.request(method, url, raw=body)
            run.stop(signal.SIGTERM)
        return
    build_project(project)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "NITRO_TASKS_TOKEN": TOKEN}
    server = Server(["node", ".output/server/index.mjs"], project, env, port)
    try:
        server.wait_for("Listening")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        yield lambda url, method="GET", body=None: server.request(method, url, raw=body, headers=auth)
    finally:
        server.stop()


# ---- Nitro's five task tests (test/presets/nitro-dev.test.ts, describe("tasks")) ----------


def test_get_nitro_tasks_lists_tasks(call: Call) -> None:
    status, data = call("/_nitro/tasks")
    assert status == 200
    assert isinstance(data["tasks"], dict)
    # Nitro compares with toMatchObject: a task entry may carry more (our `runs` history).
    assert data["tasks"]["test"]["description"] == "task to debug"
    # The module's meta.description, not the config's "Migrate database" (Nitro's listing).
    assert data["tasks"]["db:migrate"]["description"] == "Run database migrations"
    assert {"cron": "* * * * *", "tasks": ["test"]} in data["scheduledTasks"]


def test_get_nitro_tasks_name_runs_a_task(call: Call) -> None:
    status, data = call("/_nitro/tasks/db:migrate")
    assert status == 200
    assert data["result"] == "Success"


def test_post_nitro_tasks_name_runs_a_task(call: Call) -> None:
    status, data = call("/_nitro/tasks/db:migrate", method="POST")
    assert status == 200
    assert data["result"] == "Success"


def test_post_nitro_tasks_name_accepts_payload(call: Call) -> None:
    status, data = call("/_nitro/tasks/test", method="POST", body=b'{"payload": {"key": "value"}}')
    assert status == 200
    assert data["result"]["payload"]["key"] == "value"


def test_get_nitro_tasks_name_accepts_query_params_as_payload(call: Call) -> None:
    status, data = call("/_nitro/tasks/test?key=value")
    assert status == 200
    assert data["result"]["payload"]["key"] == "value"


# ---- beyond Nitro's five: the fixture's own route, the config's other keys ------------------


def test_the_fixtures_route_runs_tasks_through_nitro_h3_and_nitro_task(call: Call) -> None:
    # server/routes/tasks/[...name].ts: defineHandler + getQuery from "nitro/h3", runTask.
    status, data = call("/tasks/db:migrate?dry=1")
    assert (status, data) == (200, {"name": "db:migrate", "payload": {"dry": "1"}, "result": "Success"})


def test_fixture_files_are_nitros_unchanged() -> None:
    note = (FIXTURES / "nitro-fixture" / "NOTE.md").read_text()
    assert "https://github.com/nitrojs/nitro at commit" in note
    config = (FIXTURES / "nitro-fixture" / "nitro.config.ts").read_text()
    # A few of its keys, as Nitro wrote them: nothing was removed to please nitro-build.
    for text in (
        'builder: (process.env.NITRO_BUILDER as any) || "rolldown"',
        "sourcemapPathTransform",
        '"#virtual-route": () =>',
        'compatibilityDate: "latest"',
        "routeRules: {",
    ):
        assert text in config


def test_unused_nitro_keys_are_one_warning_and_strict_refuses_them(tmp_path: Path) -> None:
    project = copy_fixture("nitro-fixture", tmp_path)
    proc = build_project(project)
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, proc.stderr
    assert warnings[0].startswith("warning: nitro.config.ts: not used by nitro-build: ")
    for key in (
        "routeRules",
        "devProxy",
        "handlers",
        "imports",
        "experimental.openAPI",
        "vercel.functionRules",
        "cloudflare.pages",
        "rollupConfig",
    ):
        assert key in warnings[0]
    before = (project / ".output" / "server" / "index.mjs").read_bytes()
    proc = run_cli("build", "--dir", str(project), "--strict")
    assert proc.returncode == 1
    assert "error: nitro.config.ts: not used by nitro-build: " in proc.stderr
    assert "--strict turns warnings into errors" in proc.stderr
    assert (project / ".output" / "server" / "index.mjs").read_bytes() == before


def test_cloudflare_wrangler_and_compatibility_date_reach_the_worker(tmp_path: Path) -> None:
    project = copy_fixture("nitro-fixture", tmp_path)
    build_project(project, "cloudflare_module")
    wrangler = tomllib.loads((project / ".output" / "server" / "wrangler.toml").read_text())
    # cloudflare.wrangler.compatibility_date wins over compatibilityDate: "latest".
    assert wrangler["compatibility_date"] == "2024-01-01"
    assert wrangler["triggers"]["crons"] == ["* * * * *"]
