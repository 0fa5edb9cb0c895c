"""Which files under tasks/ (and config tasks) become runnable tasks, by name and export."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import (
    NODE,
    NODE_BUNDLE,
    TASK,
    TASKS_ON,
    build_project,
    last_line,
    run_task_cli,
    write_project,
)
from test_build_errors import fail


@pytest.mark.parametrize(
    "files, where",
    [
        ({"tasks/__proto__.ts": TASK}, "tasks/__proto__.ts"),
        ({"nitro.config.toml": TASKS_ON + '[tasks."__proto__"]\ndescription = "x"\n'}, 'tasks."__proto__"'),
    ],
)
def test_a_task_named_proto_is_an_error_not_a_task_that_vanishes(tmp_path: Path, files, where) -> None:
    """`{"__proto__": ...}` in the generated registry set its prototype: the task was not listed
    and answered 404."""
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON, **files})
    assert f"{where}: '__proto__' cannot name a task" in fail(project)


def test_task_module_without_a_default_export_is_warned_about(tmp_path: Path) -> None:
    """Such a module is registered but answers 501; the build said nothing (a helper in tasks/,
    an empty file, `export function run`)."""
    project = write_project(
        tmp_path,
        {
            "nitro.config.toml": TASKS_ON,
            "tasks/empty.ts": "",
            "tasks/named.ts": "export function run() { return 1 }\n",
            "tasks/ok.ts": TASK,
            "tasks/reexported.ts": 'export { default } from "./ok";\n',
            "tasks/aliased.ts": "const task = defineTask({ run: () => 2 });\nexport { task as default };\n",
            "tasks/common.cjs": "module.exports = { run: () => 3 };\n",
        },
    )
    stderr = build_project(project).stderr
    warned = sorted(line.split(":")[1].strip() for line in stderr.splitlines() if "no default export" in line)
    assert warned == ["tasks/empty.ts", "tasks/named.ts"], stderr
    failed = run_task_cli(NODE_BUNDLE, project, "run", "named")
    assert failed.returncode == 1
    assert last_line(failed.stderr) == 'error: Task "named" has no handler implementation (501)'
    assert json.loads(run_task_cli(NODE_BUNDLE, project, "run", "aliased").stdout) == 2


def test_task_cli_runs_a_task_whose_name_starts_with_a_dash(tmp_path: Path) -> None:
    """`task run -- -lead` (a bare `-lead` reads as a flag, so it prints the usage)."""
    project = write_project(
        tmp_path,
        {
            "nitro.config.toml": "[experimental]\ntasks = true\n",
            "tasks/-lead.ts": "export default defineTask({ run({ payload }) { return { result: payload } } });\n",
        },
    )
    build_project(project)
    argv = [NODE, ".output/server/index.mjs", "task", "run", "--", "-lead", "--payload", '{"x": 1}']
    run = subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"result": {"x": 1}}
    bare = subprocess.run(
        [NODE, ".output/server/index.mjs", "task", "run", "-lead"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bare.returncode == 1 and "task run [--] NAME" in bare.stderr
