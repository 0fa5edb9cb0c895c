"""The README's example project (fixtures/basic) does what the README and the spec say."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import NODE_BUNDLE, built_fixture, run_task_cli

TOKEN = "example-token"


def test_spec_api_migrate_example_runs_the_task(tmp_path: Path, start_server) -> None:
    """The spec's api/migrate.ts: a route that passes its query string to runTask."""
    project = built_fixture("basic", tmp_path)
    server = start_server(NODE_BUNDLE, project, env={"NITRO_TASKS_TOKEN": TOKEN})
    assert server.request("GET", "/api/migrate?dry=1") == (200, {"result": "Success"})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, listing = server.request("GET", "/_nitro/tasks", headers=auth)
    assert status == 200
    # The listing also carries each task's run history (`runs`); the spec's part is the description.
    assert listing["tasks"]["db:migrate"]["description"] == "Run database migrations"
    assert {"cron": "0 3 * * *", "tasks": ["db:migrate"]} in listing["scheduledTasks"]
    # The spec's echo:payload example: query arrays, body payload overriding query keys.
    status, answer = server.request(
        "POST",
        "/_nitro/tasks/echo:payload?field=value&array=1&array=2&answer=0",
        body={"payload": {"answer": 42, "nested": {"value": True}}},
        headers=auth,
    )
    assert status == 200
    assert answer == {
        "result": {"field": "value", "array": ["1", "2"], "answer": 42, "nested": {"value": True}}
    }
    assert "Running echo task..." in server.output


def test_readme_main_job_task_run(tmp_path: Path) -> None:
    """`node .output/server/index.mjs task run db:migrate` prints the result and exits 0."""
    proc = run_task_cli(NODE_BUNDLE, built_fixture("basic", tmp_path), "run", "db:migrate")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"result": "Success"}
