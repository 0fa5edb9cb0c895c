"""10,000 tasks: the server starts without running (or reading) task code, and every task runs.

Task modules load a group at a time from esbuild chunks (compiler/lazy_tasks.py), a task's group
found from its name. Each generated
task records in a global, at its top level, that its module was evaluated; routes read that
record and run every task in-process, so one request covers all 10,000 runs. The 10,000-task
project is built once per test session; Bun and Deno run a 250-task build (five groups).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, NODE_BUNDLE, build_project, preview_argv, run_task_cli, write_project
from nitro_build.lazy_tasks import GROUP_SIZE

COUNT = 10_000
LOADED = "globalThis.__loadedTasks ??= []; globalThis.__loadedTasks.push({name});\n"


def task_name(i: int) -> str:
    return f"g{i % 50}:t{i}"


def many_tasks(root: Path, count: int) -> Path:
    """`count` tasks in 50 folders, plus routes that list evaluated task modules and run them all."""
    files = {"nitro.config.toml": "[experimental]\ntasks = true\n"}
    for i in range(count):
        name = f'"{task_name(i)}"'
        files[f"tasks/g{i % 50}/t{i}.ts"] = (
            LOADED.format(name=name)
            + "export default defineTask({ run({ payload }) {\n"
            + f"  return {{ result: {name}, loaded: payload.loaded ? globalThis.__loadedTasks : undefined }};\n"
            + "} });\n"
        )
    files["api/loaded.ts"] = "export default defineHandler(() => globalThis.__loadedTasks ?? []);\n"
    files["api/run-all.ts"] = (
        f"const names = Array.from({{ length: {count} }}, (_, i) => `g${{i % 50}}:t${{i}}`);\n"
        "export default defineHandler(async () => {\n"
        "  const results = await Promise.all(names.map((name) => runTask(name)));\n"
        "  return { wrong: names.filter((name, i) => results[i].result !== name),"
        " loaded: globalThis.__loadedTasks.length };\n"
        "});\n"
    )
    return write_project(root, files)


@pytest.fixture(scope="session")
def big_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = many_tasks(tmp_path_factory.mktemp("many-tasks"), COUNT)
    build_project(project)
    return project


def check_lazy_then_all_run(server: Any, count: int) -> None:
    assert server.request("GET", "/api/loaded") == (200, []), "no task module ran at start"
    status, body = server.request("POST", "/api/run-all")
    assert status == 200 and body == {"wrong": [], "loaded": count}


def test_10000_tasks_start_without_task_code_and_every_task_runs(big_project: Path, start_server) -> None:
    server = start_server(NODE_BUNDLE, big_project)
    check_lazy_then_all_run(server, COUNT)
    # The start-up file holds neither the task table nor the task modules: those sit in group chunks.
    index = (big_project / ".output/server/index.mjs").read_text()
    assert "globalThis.__loadedTasks" not in index and task_name(4321) not in index
    chunks = list((big_project / ".output/server/chunks").glob("tasks-*.mjs"))
    assert len(chunks) == COUNT // GROUP_SIZE


def test_first_run_evaluates_only_that_task(big_project: Path) -> None:
    name = task_name(4321)
    proc = run_task_cli(NODE_BUNDLE, big_project, "run", name, "--payload", '{"loaded": true}')
    assert proc.returncode == 0, proc.stderr
    # Its group's chunk holds more task modules: none of them ran.
    assert json.loads(proc.stdout) == {"result": name, "loaded": [name]}


@pytest.mark.parametrize("preset", ["bun", "deno_server"])
def test_bun_and_deno_load_task_groups_lazily(tmp_path: Path, start_server, preset: str) -> None:
    project = many_tasks(tmp_path, 250)
    build_project(project, preset)
    assert len(list((project / ".output/server/chunks").glob("tasks-*.mjs"))) == 250 // GROUP_SIZE
    # Each with the command nitro.json documents (Deno's: lazy dynamic imports, narrow permissions).
    argv = preview_argv(project)
    server = start_server([str(BIN / argv[0]), *argv[1:]], project)
    check_lazy_then_all_run(server, 250)
