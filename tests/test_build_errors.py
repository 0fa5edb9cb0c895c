"""Bad input: each error names the file, the key and what to do; nothing previous is lost."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import NODE_BUNDLE, build_project, run_cli, run_task_cli, write_project

TASK = 'export default defineTask({ run() { return { result: "ok" } } });\n'
BASE = {
    "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"* * * * *" = "a"\n',
    "tasks/a.ts": TASK,
}


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file below `folder` with the hash of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def fail(project: Path, *args: str) -> str:
    """Build, expect exit code 1 and no traceback; return stderr."""
    proc = run_cli("build", "--dir", str(project), *args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


BAD_INPUTS = {
    "invalid toml": (
        {"nitro.config.toml": "[experimental\ntasks = true\n"},
        ["nitro.config.toml: invalid TOML", "line 1"],
    ),
    "invalid json": (
        {"nitro.config.json": '{"experimental": {"tasks": true,}}'},
        ["nitro.config.json: invalid JSON at line 1"],
    ),
    "unknown key with did-you-mean": (
        {"nitro.config.toml": "[experimental]\ntasks = true\n[scheduledTask]\n"},
        ["nitro.config.toml: scheduledTask: unknown key", "did you mean 'scheduledTasks'?"],
    ),
    "unknown nested key": (
        {"nitro.config.toml": '[experimental]\ntasks = true\n[tasks."db:migrate"]\nhandlr = "x.ts"\n'},
        ['nitro.config.toml: tasks."db:migrate".handlr: unknown key', "did you mean 'handler'?"],
    ),
    "wrong type": (
        {"nitro.config.toml": '[experimental]\ntasks = "yes"\n'},
        ["nitro.config.toml: experimental.tasks:", "valid boolean", "'yes'"],
    ),
    "wrong schedule value": (
        {"nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"* * * * *" = 5\n'},
        ['nitro.config.toml: scheduledTasks."* * * * *": must be a task name or an array'],
    ),
    "invalid cron": (
        {
            "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"61 * * * *" = "a"\n',
            "tasks/a.ts": TASK,
        },
        ['nitro.config.toml: scheduledTasks."61 * * * *":', "61", "0-59"],
    ),
    "never-firing cron": (
        {
            "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"0 0 31 2 *" = "a"\n',
            "tasks/a.ts": TASK,
        },
        ['nitro.config.toml: scheduledTasks."0 0 31 2 *":', "never"],
    ),
    "missing handler file": (
        {
            "nitro.config.toml": '[experimental]\ntasks = true\n[tasks."db:migrate"]\nhandler = "./tasks/nope.ts"\n',
        },
        [
            'nitro.config.toml: tasks."db:migrate".handler:',
            "'./tasks/nope.ts'",
            "'db:migrate'",
            "does not exist",
        ],
    ),
    "duplicate task names": (
        {
            "nitro.config.toml": "[experimental]\ntasks = true\n",
            "tasks/db.ts": TASK,
            "tasks/db/index.mjs": TASK,
        },
        ["tasks/db.ts and tasks/db/index.mjs both define the task 'db'"],
    ),
    "both config files": (
        {"nitro.config.toml": "", "nitro.config.json": "{}"},
        ["nitro.config.toml and nitro.config.json are both present", "keep one"],
    ),
    "unknown preset": ({"nitro.config.toml": 'preset = "heroku_x"\n'}, ["unknown preset 'heroku_x'"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_error(tmp_path: Path, case: str) -> None:
    files, expected = BAD_INPUTS[case]
    stderr = fail(write_project(tmp_path, files))
    for fragment in expected:
        assert fragment in stderr, f"{fragment!r} not in:\n{stderr}"


def test_failed_build_leaves_previous_output_untouched(tmp_path: Path) -> None:
    project = write_project(tmp_path, BASE)
    build_project(project)
    before = tree_digest(project / ".output")
    assert "server/index.mjs" in before
    (project / "nitro.config.toml").write_text(
        '[experimental]\ntasks = true\n[scheduledTasks]\n"* * 32 * *" = "a"\n'
    )
    fail(project)
    assert tree_digest(project / ".output") == before
    # A failure while bundling (after staging started) must not touch the output either.
    (project / "nitro.config.toml").write_text(BASE["nitro.config.toml"])
    (project / "tasks/a.ts").write_text('import "./missing-module";\n' + TASK)
    assert "esbuild failed" in fail(project)
    assert tree_digest(project / ".output") == before
    assert not list((project / ".nitro").glob("staging-*")), "staging folder left behind"


def test_unknown_task_in_schedule_warns_and_strict_fails(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {
            "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"* * * * *" = ["a", "ghost"]\n',
            "tasks/a.ts": TASK,
        },
    )
    proc = build_project(project)
    assert "warning: nitro.config.toml: scheduledTasks.\"* * * * *\": unknown task 'ghost'" in proc.stderr
    registry = (project / ".nitro/build/node_server/registry.mjs").read_text()
    assert '"ghost"' not in registry
    listed = run_task_cli(NODE_BUNDLE, project, "list")  # the bundle's own schedule table
    assert json.loads(listed.stdout)["scheduledTasks"] == [{"cron": "* * * * *", "tasks": ["a"]}]
    stderr = fail(project, "--strict")
    assert "unknown task 'ghost'" in stderr and "--strict" in stderr


def test_tasks_without_experimental_flag_warn(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"tasks/a.ts": TASK})
    proc = build_project(project)
    assert "experimental.tasks" in proc.stderr and "warning:" in proc.stderr
    registry = (project / ".nitro/build/node_server/registry.mjs").read_text()
    assert '"a"' not in registry


def test_debug_shows_traceback(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": "[bad\n"})
    proc = run_cli("build", "--dir", str(project), "--debug")
    assert proc.returncode == 1 and "Traceback" in proc.stderr


@pytest.mark.parametrize(
    ("out_dir", "fragment"),
    [
        (".", "output.dir: '.' is not a folder inside the project"),
        ("..", "output.dir: '..' is not a folder inside the project"),
        ("tasks", "overlaps the project's own 'tasks'"),
        ("tasks/out", "overlaps the project's own 'tasks'"),
        ("node_modules/.cache/out", "overlaps the project's own 'node_modules'"),
        ("frontend-dist", "was not written by nitro-build"),
    ],
)
def test_output_dir_that_would_lose_user_files_is_refused(
    tmp_path: Path, out_dir: str, fragment: str
) -> None:
    """A build replaces its output folder wholesale: never one that holds the user's files."""
    project = write_project(tmp_path / "p", {**BASE, "frontend-dist/app.js": "user file\n"})
    (project / "nitro.config.toml").write_text(f'output.dir = "{out_dir}"\n' + BASE["nitro.config.toml"])
    before = tree_digest(tmp_path)
    stderr = fail(project)
    assert fragment in stderr, stderr
    assert "output.dir" in fragment or "refusing to replace output path" in stderr
    after = {k: v for k, v in tree_digest(tmp_path).items() if "/.nitro/" not in f"/{k}"}
    assert after == {k: v for k, v in before.items() if "/.nitro/" not in f"/{k}"}


def test_output_dir_inside_project_works_and_is_replaced_on_rebuild(tmp_path: Path) -> None:
    project = write_project(tmp_path, BASE)
    (project / "nitro.config.toml").write_text('output.dir = "build/out"\n' + BASE["nitro.config.toml"])
    build_project(project)
    assert (project / "build/out/server/index.mjs").is_file()
    (project / "build/out/stale.txt").write_text("from an old build")
    build_project(project)
    assert not (project / "build/out/stale.txt").exists()
