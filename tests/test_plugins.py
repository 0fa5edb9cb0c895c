"""Nitro plugins (`plugins/*.ts`, defineNitroPlugin) and the app's hooks, in the real runtimes.

fixtures/runtime_apis has two plugins that print `HOOK {...}` lines: the first records
task:start / task:end / request / error / close, the second only announces itself after an await.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import NODE, TASK, TASKS_ON, build_project, copy_fixture, run_cli, wait_until, write_project
from runtime_apis import BUN, command, hooks, project, run_task, run_workers, set_config, worker

EVERY_SECOND = {"scheduledTasks": {"* * * * * *": "tick"}, "storage": None}


def test_scheduled_task_hooks_and_close_on_sigterm(tmp_path: Path, start_server) -> None:
    root = project(tmp_path, "node_server", **EVERY_SECOND)
    server = start_server([NODE, ".output/server/index.mjs"], root)
    ends = wait_until(
        lambda: [h for h in hooks(server.output) if h["hook"] == "task:end"][:2] or None,
        timeout=10,
        what="two task:end hooks",
    )
    seen = hooks(server.output)
    # Both plugins ran, in file order, each awaited, before the server listened.
    assert seen[:2] == [{"hook": "plugin", "order": 1}, {"hook": "plugin", "order": 2}]
    assert server.output.index('"order":2') < server.output.index("Listening")
    start = next(h for h in seen if h["hook"] == "task:start")
    assert start["name"] == "tick" and isinstance(start["payload"]["scheduledTime"], int)
    assert ends[0]["name"] == "tick" and isinstance(ends[0]["duration"], int)
    assert ends[0]["result"] == {"result": {"tick": "number"}}
    assert server.stop(signal.SIGTERM) == 0
    assert hooks(server.output)[-1] == {"hook": "close"}  # awaited (it sleeps 100 ms) before exit 0


def test_task_end_reports_the_error_of_a_failing_task(tmp_path: Path) -> None:
    root = project(tmp_path, "node_server", storage=None)
    run = run_task(root, "node_server", "fail")
    assert run.returncode == 1
    end = [h for h in hooks(run.stderr) if h["hook"] == "task:end"]
    assert end[0]["name"] == "fail" and end[0]["error"] == "fail on purpose"


def test_request_and_error_hooks(tmp_path: Path, start_server) -> None:
    root = project(tmp_path, "node_server", storage=None)
    server = start_server([NODE, ".output/server/index.mjs"], root)
    assert server.request("GET", "/nitro2/missing")[0] == 404
    wait_until(lambda: any(h["hook"] == "error" for h in hooks(server.output)), what="error hook")
    seen = hooks(server.output)
    assert {"hook": "request", "path": "/nitro2/missing"} in seen
    assert {"hook": "error", "message": "no such item", "tags": ["request"]} in seen


@pytest.mark.parametrize("preset", ["node_cluster", "node_middleware", "bun", "deno_server"])
def test_plugins_run_before_a_task_on_every_server_runtime(tmp_path: Path, preset: str) -> None:
    root = project(tmp_path, preset, storage=None)
    run = run_task(root, preset, "tick")
    assert run.returncode == 0, run.stderr
    names = [h["hook"] for h in hooks(run.stderr)]
    assert names == ["plugin", "plugin", "task:start", "task:end"]


@pytest.mark.parametrize("preset", ["node_cluster", "bun", "deno_server"])
def test_close_hook_on_sigterm_on_other_servers(tmp_path: Path, preset: str, start_server) -> None:
    root = project(tmp_path, preset, storage=None)
    env = {"NITRO_CLUSTER_WORKERS": "1"}
    server = start_server(command(root, preset), root, env)
    assert server.stop(signal.SIGTERM) == 0
    assert {"hook": "close"} in hooks(server.output)


# A plugin still awaiting when the SIGTERM comes: the server has not listened nor armed its
# schedules yet. The handlers are in place from the start (a quick stop right after the first
# answer once ended Deno with the signal, before its close hooks ran).
SLOW_PLUGIN = """export default defineNitroPlugin(async (nitroApp) => {
  nitroApp.hooks.hook("close", () => console.error("HOOK " + JSON.stringify({ hook: "close" })));
  console.error("HOOK " + JSON.stringify({ hook: "waiting" }));
  await new Promise((resolve) => setTimeout(resolve, 10000));
});
"""


@pytest.mark.parametrize("preset", ["node_server", "bun", "deno_server"])
def test_a_sigterm_before_the_server_listens_shuts_down_gracefully(
    tmp_path: Path, preset: str, start_server
) -> None:
    files = {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK, "plugins/slow.ts": SLOW_PLUGIN}
    root = write_project(tmp_path / "p", files)
    build_project(root, preset)
    server = start_server(command(root, preset), root, ready='"waiting"')
    assert server.stop(signal.SIGTERM) == 0
    assert {"hook": "close"} in hooks(server.output)
    assert "Listening" not in server.output


def test_node_middleware_plugins_and_close_in_an_express_host(tmp_path: Path, start_server) -> None:
    root = project(tmp_path, "node_middleware", storage=None)
    host = Path(__file__).resolve().parent / "js" / "express_host.mjs"
    server = start_server([NODE, str(host), ".output/server/index.mjs"], root)
    assert server.request("GET", "/nitro2/5") == (200, {"id": "5", "query": {}})
    assert server.stop(signal.SIGTERM) == 0
    names = [h["hook"] for h in hooks(server.output)]
    assert names == ["plugin", "plugin", "request", "close"]


def test_plugins_run_on_workerd_before_the_first_firing(tmp_path: Path) -> None:
    root = project(tmp_path, "cloudflare_module", storage=None, scheduledTasks={"* * * * *": "tick"})
    out = run_workers([worker(root)], [{"type": "scheduled", "cron": "* * * * *", "scheduledTime": 0}])
    assert out["results"][0]["outcome"] == "ok"
    names = [h["hook"] for h in hooks("\n".join(out["logs"]))]
    assert names == ["plugin", "plugin", "task:start", "task:end"]


def test_plugins_run_in_the_vercel_function(tmp_path: Path, start_server) -> None:
    root = project(tmp_path, "vercel", storage=None)
    launcher = Path(__file__).resolve().parent / "js" / "vercel_launcher.mjs"
    server = start_server([NODE, str(launcher), ".vercel/output"], root)
    assert server.request("GET", "/api/hello")[1] == {"hello": "world"}
    names = [h["hook"] for h in hooks(server.output)]
    assert names == ["plugin", "plugin", "request"]


THROWING = 'export default defineNitroPlugin(() => { throw new Error("no database"); });\n'


def test_a_throwing_plugin_stops_start_up_naming_its_file(tmp_path: Path, start_server) -> None:
    root = copy_fixture("runtime_apis", tmp_path)
    (root / "plugins" / "03.broken.ts").write_text(THROWING)
    assert run_cli("build", "--preset", "node_server", "--dir", str(root)).returncode == 0
    server = start_server([NODE, ".output/server/index.mjs"], root, ready=None)
    server.proc.wait(timeout=20)
    assert server.proc.returncode == 1
    assert "plugin plugins/03.broken.ts failed at start-up: no database" in server.output
    assert "Listening" not in server.output
    run = run_task(root, "node_server", "tick")
    assert run.returncode == 1 and "plugins/03.broken.ts" in run.stderr


def test_a_throwing_plugin_fails_every_request_on_workerd(tmp_path: Path) -> None:
    root = copy_fixture("runtime_apis", tmp_path)
    (root / "plugins" / "03.broken.ts").write_text(THROWING)
    set_config(root, storage=None)
    assert run_cli("build", "--preset", "cloudflare_module", "--dir", str(root)).returncode == 0
    out = run_workers([worker(root)], [{"type": "fetch", "url": "http://app/api/hello"}] * 2)
    assert [r["status"] for r in out["results"]] == [500, 500]
    assert any("plugin plugins/03.broken.ts failed at start-up: no database" in line for line in out["logs"])


def test_bun_server_exits_1_when_a_plugin_throws(tmp_path: Path, start_server) -> None:
    root = copy_fixture("runtime_apis", tmp_path)
    (root / "plugins" / "03.broken.ts").write_text(THROWING)
    assert run_cli("build", "--preset", "bun", "--dir", str(root)).returncode == 0
    server = start_server([BUN, ".output/server/index.mjs"], root, ready=None)
    server.proc.wait(timeout=20)
    assert server.proc.returncode == 1 and "plugins/03.broken.ts" in server.output


def test_config_plugins_run_before_scanned_ones(tmp_path: Path) -> None:
    root = copy_fixture("runtime_apis", tmp_path)
    (root / "extra").mkdir()
    (root / "extra" / "first.ts").write_text(
        "export default defineNitroPlugin(() =>\n"
        '  console.error(`HOOK ${JSON.stringify({ hook: "plugin", order: 0 })}`));\n'
    )
    set_config(root, plugins=["extra/first.ts"])
    assert run_cli("build", "--preset", "node_server", "--dir", str(root)).returncode == 0
    run = run_task(root, "node_server", "tick")
    assert [h["order"] for h in hooks(run.stderr) if h["hook"] == "plugin"] == [0, 1, 2]
