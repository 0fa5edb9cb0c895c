"""`nitro dev` swaps a changed task into the running server (compiler/dev/hot.py): same server
process, the new code answers, the task's top level runs again, the runtime's state (storage) is
the server's own. What the fast path cannot take (a syntax error, a new description, a task that
imports a project module, a config change) goes through the full rebuild and restart as before.
Everything runs the real `nitro dev` under Node with the project's esbuild.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import test_dev
from conftest import BIN, cli_env, wait_until, write_project
from test_dev import DevRun, assert_stopped, process_exists
from test_dev_reload import restarted

dev_runs = test_dev.dev_runs  # the fixture, shared with test_dev

CONFIG = '[experimental]\ntasks = true\n\n[tasks.count]\ndescription = "Counts its runs"\n'
KEPT = " (server kept running)"


def counter(version: str) -> str:
    """A task with module state: `runs` counts the runs since its module was loaded."""
    return (
        "let runs = 0;\n"
        "const loaded = Date.now();\n"
        f'export default defineTask({{ run() {{ runs++; return {{ result: {{ version: "{version}", runs, loaded }} }}; }} }});\n'
    )


PUT = 'export default defineTask({ async run({ payload }) { await useStorage().setItem("shared", payload.value); return { result: "stored" }; } });\n'
GET = 'export default defineTask({ async run() { return { result: { %s: await useStorage().getItem("shared") } }; } });\n'


def swaps(run: DevRun) -> int:
    return run.output.count(KEPT)


def swapped(run: DevRun, before: int, server: int) -> None:
    """Wait for the next swap; the server must be the same process, not restarted."""
    wait_until(lambda: swaps(run) > before, 20, f"a swap (output so far:\n{run.output})")
    assert run.info()["serverPid"] == server and process_exists(server)


def result(run: DevRun, task: str) -> Any:
    status, body = run.request("POST", f"/_nitro/tasks/{task}")
    assert status == 200, body
    return body["result"]


def service_pids(project: Path) -> list[int]:
    """The esbuild service processes (templates/dev/esbuild_hot.mjs) working in `project`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
            if b"esbuild_hot.mjs" in argv and os.readlink(entry / "cwd") == str(project):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_changed_task_is_swapped_in_without_restart_and_its_top_level_runs_again(tmp_path: Path, dev_runs):
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": CONFIG,
            "tasks/count.ts": counter("one"),
            "tasks/put.ts": PUT,
            "tasks/get.ts": GET % "first",
        },
    )
    run = dev_runs(project)
    server, ready = run.info()["serverPid"], run.ready_count()
    first = result(run, "count")
    assert (first["version"], first["runs"]) == ("one", 1)
    assert result(run, "count")["runs"] == 2  # the module's state lives on between runs

    before = swaps(run)
    (project / "tasks" / "count.ts").write_text(counter("two"))
    swapped(run, before, server)
    assert "tasks/count.ts changed: reloading" in run.output
    second = result(run, "count")
    assert (second["version"], second["runs"]) == ("two", 1), "the old module's state leaked"
    assert second["loaded"] >= first["loaded"]

    # The same text as before: still a new module (a new import URL), its top level runs again.
    before = swaps(run)
    (project / "tasks" / "count.ts").write_text(counter("one"))
    swapped(run, before, server)
    assert (result(run, "count")["version"], result(run, "count")["runs"]) == ("one", 2)

    # A swapped-in task uses the server's storage instance: it reads what another task stored.
    assert run.request("POST", "/_nitro/tasks/put", {"payload": {"value": 42}}) == (200, {"result": "stored"})
    before = swaps(run)
    # An explicit import of a provided module (not exposed: no task imported it) reads the
    # server's auto-import names.
    (project / "tasks" / "get.ts").write_text(
        'import { useStorage } from "nitro/storage";\n' + GET % "second"
    )
    swapped(run, before, server)
    assert result(run, "get") == {"second": 42}
    # Still the configured description, listing unchanged, no restart at any point.
    assert run.request("GET", "/_nitro/tasks")[1]["tasks"]["count"]["description"] == "Counts its runs"
    assert run.ready_count() == ready

    # A config change still rebuilds and restarts, and the new server runs the latest code.
    (project / "nitro.config.toml").write_text(CONFIG.replace("Counts its runs", "Counts"))
    new_server = restarted(run, ready)
    assert new_server != server
    assert run.request("GET", "/_nitro/tasks")[1]["tasks"]["count"]["description"] == "Counts"
    assert result(run, "count")["version"] == "one" and result(run, "get") == {"second": None}

    # After the restart the new server takes swaps too.
    before = swaps(run)
    (project / "tasks" / "count.ts").write_text(counter("three"))
    swapped(run, before, new_server)
    assert result(run, "count")["version"] == "three"
    assert_stopped(run, signal.SIGTERM)


def test_syntax_error_in_a_changed_task_keeps_the_old_code_answering(tmp_path: Path, dev_runs):
    project = write_project(
        tmp_path / "project", {"nitro.config.toml": CONFIG, "tasks/count.ts": counter("one")}
    )
    run = dev_runs(project)
    server, ready = run.info()["serverPid"], run.ready_count()
    failures = run.output.count("[nitro dev] build failed")
    (project / "tasks" / "count.ts").write_text(counter("two").replace("runs++;", "runs++; {"))
    wait_until(lambda: run.output.count("[nitro dev] build failed") > failures, 20, "the build failure")
    assert "tasks/count.ts" in run.output and "the previous server keeps running" in run.output
    assert run.info()["serverPid"] == server and run.ready_count() == ready
    assert result(run, "count")["version"] == "one"

    # The fix is swapped in as usual.
    before = swaps(run)
    (project / "tasks" / "count.ts").write_text(counter("fixed"))
    swapped(run, before, server)
    assert result(run, "count")["version"] == "fixed"

    # A swapped-in task's stack trace names its own file and line (the chunk's source map).
    before = swaps(run)
    (project / "tasks" / "count.ts").write_text(
        '\n\nexport default defineTask({ run() {\n  throw new Error("boom here");\n} });\n'
    )
    swapped(run, before, server)
    assert run.request("POST", "/_nitro/tasks/count") == (500, {"statusCode": 500, "message": "boom here"})
    wait_until(lambda: f"({project}/tasks/count.ts:4:" in run.output, 5, f"the stack trace in:\n{run.output}")
    assert_stopped(run, signal.SIGINT)


def test_what_the_fast_path_cannot_take_restarts_the_server(tmp_path: Path, dev_runs):
    """A new description (the registry changes), a task newly importing a module only a route
    imported (no task did, so the bundle does not expose it, and a second instance would split
    its state) and a task module a route imports take the full rebuild."""
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": CONFIG,
            "tasks/count.ts": counter("one"),
            "tasks/word.ts": 'export default defineTask({ meta: { description: "First" }, run() { return { result: "a" } } });\n',
            "lib/word.ts": 'export const word = "from lib";\n',
            "api/word.ts": 'import { word } from "../lib/word";\nexport default defineHandler(() => ({ word }));\n',
            # A route that imports a task module: that module must change for both at once.
            "tasks/shared.ts": 'export const greeting = "hi";\nexport default defineTask({ run() { return { result: greeting } } });\n',
            "api/greet.ts": 'import { greeting } from "../tasks/shared";\nexport default defineHandler(() => ({ greeting }));\n',
        },
    )
    run = dev_runs(project)
    swaps_before, ready = swaps(run), run.ready_count()
    (project / "tasks" / "word.ts").write_text(
        'export default defineTask({ meta: { description: "Second" }, run() { return { result: "b" } } });\n'
    )
    restarted(run, ready)
    assert "rebuilding everything: tasks/word.ts: its description or default export changed" in run.output
    assert run.request("GET", "/_nitro/tasks")[1]["tasks"]["word"]["description"] == "Second"
    assert result(run, "word") == "b"

    ready = run.ready_count()
    (project / "tasks" / "count.ts").write_text(
        'import { word } from "../lib/word";\nexport default defineTask({ run() { return { result: word } } });\n'
    )
    restarted(run, ready)
    assert "tasks/count.ts imports lib/word.ts, shared with the server" in run.output
    assert run.request("GET", "/api/word") == (200, {"word": "from lib"})
    assert result(run, "count") == "from lib"

    ready = run.ready_count()
    (project / "tasks" / "shared.ts").write_text(
        'export const greeting = "hello";\nexport default defineTask({ run() { return { result: greeting } } });\n'
    )
    restarted(run, ready)
    assert run.request("GET", "/api/greet") == (200, {"greeting": "hello"})
    assert result(run, "shared") == "hello"

    # A namespace import of a runtime module the bundle does not expose: `storage.useStorage` is
    # no word the auto-imports were chosen by.
    ready = run.ready_count()
    (project / "tasks" / "count.ts").write_text(
        'import * as storage from "nitro/storage";\n'
        "export default defineTask({ run() { return { result: typeof storage.useStorage } } });\n"
    )
    restarted(run, ready)
    assert "`import * as` of nitro/storage" in run.output
    assert result(run, "count") == "function"

    # Top-level await: require() cannot wait for it; the full build gives it an import() (lazy_tasks).
    ready = run.ready_count()
    (project / "tasks" / "count.ts").write_text(
        'const value = await Promise.resolve("awaited");\n'
        "export default defineTask({ run() { return { result: value } } });\n"
    )
    restarted(run, ready)
    assert "rebuilding everything: tasks/count.ts: top-level await" in run.output
    assert result(run, "count") == "awaited"
    assert swaps(run) == swaps_before
    assert_stopped(run, signal.SIGTERM)


def test_the_esbuild_service_stops_with_nitro_dev_even_when_it_is_killed(tmp_path: Path, dev_runs):
    project = write_project(
        tmp_path / "project", {"nitro.config.toml": CONFIG, "tasks/count.ts": counter("one")}
    )
    run = dev_runs(project)
    services = wait_until(lambda: service_pids(project), 10, "the esbuild service")
    assert len(services) == 1
    assert_stopped(run, signal.SIGTERM)
    wait_until(lambda: not process_exists(services[0]), 5, "the service to stop with nitro dev")

    killed = dev_runs(project)
    server = killed.info()["serverPid"]
    service = wait_until(lambda: service_pids(project), 10, "the esbuild service")[0]
    before = swaps(killed)
    (project / "tasks" / "count.ts").write_text(counter("two"))
    swapped(killed, before, server)  # the service has started esbuild's own process by now
    esbuild = children(service)
    assert esbuild, "esbuild's process under the service"
    killed.stop(signal.SIGKILL)  # no cleanup: the parent-death signal takes them all down
    gone = [service, server, *esbuild]
    wait_until(lambda: not any(process_exists(pid) for pid in gone), 5, f"{gone} to stop")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_a_module_only_the_changed_task_imports_is_bundled_with_it_and_then_watched(tmp_path: Path, dev_runs):
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": CONFIG,
            "tasks/count.ts": counter("one"),
            "lib/mine.ts": 'export const mine = "v1";\n',
        },
    )
    run = dev_runs(project)
    server, before = run.info()["serverPid"], swaps(run)
    (project / "tasks" / "count.ts").write_text(
        'import { mine } from "../lib/mine";\nexport default defineTask({ run() { return { result: mine } } });\n'
    )
    swapped(run, before, server)
    assert result(run, "count") == "v1"

    # lib/mine.ts is now part of the server: saving it rebuilds (it is not a task file).
    ready = run.ready_count()
    (project / "lib" / "mine.ts").write_text('export const mine = "v2";\n')
    restarted(run, ready)
    assert "lib/mine.ts changed" in run.output
    assert result(run, "count") == "v2"
    assert_stopped(run, signal.SIGTERM)


SHARED = "export const state = { runs: 0 };\nexport default function bump() { return ++state.runs; }\n"


def test_a_swapped_in_task_shares_the_servers_instance_of_a_module_other_tasks_import(
    tmp_path: Path, dev_runs
):
    """lib/shared.ts is imported by two tasks: the dev bundle exposes it (dev_modules.py), and the
    swapped-in task reads and changes the same state as the task that was not swapped."""
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": CONFIG,
            "lib/shared.ts": SHARED,
            # An explicit import: the dev bundle exposes runtime/storage.mjs for a swapped-in task.
            "tasks/put.ts": 'import { useStorage } from "nitro/storage";\n' + PUT,
            "tasks/a.ts": 'import bump from "../lib/shared";\nexport default defineTask({ run() { return { result: ["a", bump()] } } });\n',
            "tasks/b.ts": 'import bump from "../lib/shared";\nexport default defineTask({ run() { return { result: ["b", bump()] } } });\n',
        },
    )
    run = dev_runs(project)
    server = run.info()["serverPid"]
    assert (result(run, "a"), result(run, "b")) == (["a", 1], ["b", 2])
    before = swaps(run)
    (project / "tasks" / "a.ts").write_text(
        'import bump, { state } from "../lib/shared";\n'
        'export default defineTask({ run() { return { result: ["a2", bump(), state.runs] } } });\n'
    )
    swapped(run, before, server)
    assert result(run, "a") == ["a2", 3, 3]
    assert result(run, "b") == ["b", 4]

    # Namespace imports too, of a helper and of the runtime (useStorage is the server's).
    assert run.request("POST", "/_nitro/tasks/put", {"payload": {"value": "kept"}})[0] == 200
    before = swaps(run)
    (project / "tasks" / "a.ts").write_text(
        'import * as shared from "../lib/shared";\nimport * as storage from "nitro/storage";\n'
        "export default defineTask({ async run() {\n"
        '  return { result: ["a3", shared.default(), await storage.useStorage().getItem("shared")] };\n'
        "} });\n"
    )
    swapped(run, before, server)
    assert result(run, "a") == ["a3", 5, "kept"]
    assert_stopped(run, signal.SIGTERM)


def test_a_bare_esbuild_binary_keeps_the_full_rebuild(tmp_path: Path, dev_runs, monkeypatch):
    """NITRO_ESBUILD naming a binary without its npm package (no JavaScript API): no esbuild
    service, every change rebuilds and restarts, as before the swap existed."""
    bare = tmp_path / "bin" / "esbuild"
    bare.parent.mkdir()
    shutil.copy(BIN / "esbuild", bare)
    monkeypatch.setattr(test_dev, "cli_env", lambda: cli_env(NITRO_ESBUILD=str(bare)))
    project = write_project(
        tmp_path / "project", {"nitro.config.toml": CONFIG, "tasks/count.ts": counter("one")}
    )
    run = dev_runs(project)
    ready = run.ready_count()
    (project / "tasks" / "count.ts").write_text(counter("two"))
    restarted(run, ready)
    assert "rebuilding everything: no build to swap tasks into" in run.output
    assert result(run, "count")["version"] == "two" and not service_pids(project)
    assert_stopped(run, signal.SIGTERM)
