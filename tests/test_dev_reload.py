"""The `nitro dev` loop: a change rebuilds and restarts the server, a broken build keeps the last
good server answering and prints the error, the fix recovers, all without restarting `nitro dev`.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import test_dev
from conftest import run_cli, wait_until, write_project
from test_dev import DevRun, assert_stopped, process_exists

dev_runs = test_dev.dev_runs  # the fixture, shared with test_dev

CONFIG = '[experimental]\ntasks = true\n\n[tasks.hello]\ndescription = "Says hello"\n'
HELLO = 'export default defineTask({ run() { return { result: "hello" } } });\n'
ADDED = 'export default defineTask({ meta: { description: "Added while running" }, run() { return { result: "added" } } });\n'
BROKEN = "export default defineTask({ run() { return { result: 'oops' } ;\n"  # unbalanced braces
FIXED = 'export default defineTask({ run() { return { result: "fixed" } } });\n'


def names(run: DevRun) -> set[str]:
    status, body = run.request("GET", "/_nitro/tasks")
    assert status == 200, body
    return set(body["tasks"])


def restarted(run: DevRun, ready_before: int, timeout: float = 20) -> int:
    """Wait for the next `ready` line; return the new server's pid (the old one must be gone)."""
    old = run.info()["serverPid"]
    wait_until(lambda: run.ready_count() > ready_before, timeout, f"a restart (output so far:\n{run.output})")
    new = run.info()["serverPid"]
    assert new != old
    wait_until(lambda: not process_exists(old), 5, f"old server {old} to exit")
    return new


def test_change_rebuilds_broken_build_keeps_old_server_and_fix_recovers(tmp_path: Path, dev_runs):
    project = write_project(tmp_path / "project", {"nitro.config.toml": CONFIG, "tasks/hello.ts": HELLO})
    run = dev_runs(project)
    assert names(run) == {"hello"}

    # A new task file: rebuilt, restarted, listed.
    ready = run.ready_count()
    write_project(project, {"tasks/more/added.ts": ADDED})
    restarted(run, ready)
    assert (
        run.request("GET", "/_nitro/tasks")[1]["tasks"]["more:added"]["description"] == "Added while running"
    )
    assert run.request("POST", "/_nitro/tasks/more:added") == (200, {"result": "added"})

    # A syntax error: the error is printed, the old server keeps answering.
    server = run.info()["serverPid"]
    ready, failures = run.ready_count(), run.output.count("[nitro dev] build failed")
    write_project(project, {"tasks/broken.ts": BROKEN})
    wait_until(lambda: run.output.count("[nitro dev] build failed") > failures, 20, "the build failure")
    assert "tasks/broken.ts" in run.output and "error: esbuild failed" in run.output
    assert "the previous server keeps running" in run.output
    assert run.ready_count() == ready and run.info()["serverPid"] == server and process_exists(server)
    assert names(run) == {"hello", "more:added"}
    assert run.request("GET", "/_nitro/tasks/hello") == (200, {"result": "hello"})

    # The fix: recovered without restarting nitro dev.
    write_project(project, {"tasks/broken.ts": FIXED})
    restarted(run, ready)
    assert names(run) == {"hello", "more:added", "broken"}
    assert run.request("GET", "/_nitro/tasks/broken") == (200, {"result": "fixed"})
    assert run.proc.poll() is None

    assert_stopped(run, signal.SIGINT)


def test_config_changes_and_new_watched_folders_rebuild(tmp_path: Path, dev_runs):
    project = write_project(tmp_path / "project", {"nitro.config.toml": CONFIG, "tasks/hello.ts": HELLO})
    run = dev_runs(project)

    # The config is not in a watched folder: it is checked on every tick.
    ready = run.ready_count()
    (project / "nitro.config.toml").write_text(CONFIG.replace("Says hello", "Says hello, edited"))
    restarted(run, ready)
    assert run.request("GET", "/_nitro/tasks")[1]["tasks"]["hello"]["description"] == "Says hello, edited"

    # api/ did not exist at start: creating it starts watching it, and its route is served.
    ready = run.ready_count()
    write_project(project, {"api/ping.ts": "export default defineHandler(() => ({ pong: 1 }));\n"})
    restarted(run, ready)
    assert run.request("GET", "/api/ping") == (200, {"pong": 1})
    ready = run.ready_count()
    (project / "api" / "ping.ts").write_text("export default defineHandler(() => ({ pong: 2 }));\n")
    restarted(run, ready)
    assert run.request("GET", "/api/ping") == (200, {"pong": 2})

    # An invalid config is a failed build too: named file and key, old server kept.
    failures = run.output.count("[nitro dev] build failed")
    (project / "nitro.config.toml").write_text(CONFIG + '\n[scheduledTasks]\n"* * * * *" = 5\n')
    wait_until(lambda: run.output.count("[nitro dev] build failed") > failures, 20, "the config error")
    assert "error: nitro.config.toml: scheduledTasks" in run.output
    assert run.request("GET", "/_nitro/tasks/hello") == (200, {"result": "hello"})

    assert_stopped(run, signal.SIGTERM)


def test_first_build_failure_waits_for_the_fix(tmp_path: Path, dev_runs):
    project = write_project(tmp_path / "project", {"nitro.config.toml": CONFIG, "tasks/hello.ts": BROKEN})
    run = dev_runs(project, ready="[nitro dev] build failed")
    assert "no server is running yet" in run.output and "tasks/hello.ts" in run.output
    assert run.info()["serverPid"] is None and run.proc.poll() is None
    proc = run_cli("task", "list", "--dir", str(project))
    assert proc.returncode == 1 and "is running but not serving" in proc.stderr

    (project / "tasks" / "hello.ts").write_text(HELLO)
    wait_until(lambda: run.ready_count() == 1, 20, f"the first server (output:\n{run.output})")
    assert run.request("GET", "/_nitro/tasks/hello") == (200, {"result": "hello"})
    assert_stopped(run, signal.SIGTERM)


def test_a_server_that_dies_is_reported_and_restarted_by_the_next_change(tmp_path: Path, dev_runs):
    project = write_project(tmp_path / "project", {"nitro.config.toml": CONFIG, "tasks/hello.ts": HELLO})
    run = dev_runs(project)
    os.kill(run.info()["serverPid"], signal.SIGKILL)
    wait_until(lambda: "the dev server exited unexpectedly" in run.output, 10, "the crash report")
    assert run.info()["serverPid"] is None
    proc = run_cli("task", "run", "hello", "--dir", str(project))
    assert proc.returncode == 1 and "is running but not serving" in proc.stderr

    ready = run.ready_count()
    (project / "tasks" / "hello.ts").write_text(HELLO.replace('"hello"', '"hello again"'))
    wait_until(lambda: run.ready_count() > ready, 20, "the restart")
    assert run.request("GET", "/_nitro/tasks/hello") == (200, {"result": "hello again"})
    assert_stopped(run, signal.SIGTERM)


STUBBORN = """export default defineTask({ run() {
  // Make this server ignore SIGTERM, as a hung process would.
  process.removeAllListeners("SIGTERM");
  process.on("SIGTERM", () => {});
  return { result: "stubborn" };
} });
"""


def test_a_server_that_ignores_sigterm_is_killed_after_the_bound(tmp_path: Path, dev_runs):
    project = write_project(
        tmp_path / "project", {"nitro.config.toml": CONFIG, "tasks/stubborn.ts": STUBBORN}
    )
    run = dev_runs(project)
    assert run.request("GET", "/_nitro/tasks/stubborn") == (200, {"result": "stubborn"})
    old, ready = run.info()["serverPid"], run.ready_count()
    (project / "tasks" / "hello.ts").write_text(HELLO)
    wait_until(lambda: run.ready_count() > ready, 30, f"the restart (output:\n{run.output})")
    assert "[nitro dev] server did not stop within 5s, killing it" in run.output
    assert not process_exists(old)
    assert run.request("GET", "/_nitro/tasks/hello") == (200, {"result": "hello"})
    assert_stopped(run, signal.SIGTERM)


def test_helper_module_and_config_handler_outside_watched_folders_rebuild(tmp_path: Path, dev_runs):
    """Files the bundle imports from elsewhere (utils/, a config task's handler) are watched too."""
    config = CONFIG + '\n[tasks.custom]\nhandler = "./handlers/custom.ts"\n'
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": config,
            "tasks/hello.ts": 'import { word } from "../utils/word";\n'
            "export default defineTask({ run() { return { result: word } } });\n",
            "utils/word.ts": 'export const word = "first";\n',
            "handlers/custom.ts": 'export default defineTask({ run() { return { result: "custom 1" } } });\n',
        },
    )
    run = dev_runs(project)
    assert run.request("GET", "/_nitro/tasks/hello") == (200, {"result": "first"})

    ready = run.ready_count()
    write_project(project, {"utils/word.ts": 'export const word = "second";\n'})
    restarted(run, ready)
    assert "utils/word.ts changed" in run.output
    assert run.request("GET", "/_nitro/tasks/hello") == (200, {"result": "second"})

    ready = run.ready_count()
    write_project(
        project,
        {"handlers/custom.ts": 'export default defineTask({ run() { return { result: "custom 2" } } });\n'},
    )
    restarted(run, ready)
    assert run.request("GET", "/_nitro/tasks/custom") == (200, {"result": "custom 2"})
    assert_stopped(run, signal.SIGINT)
