"""Projects outside the usual layout: serverDir elsewhere, symlinks, odd or moved folders."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from conftest import (
    NODE_BUNDLE,
    TASK,
    TASKS_ON,
    Server,
    build_project,
    bundled_sources,
    cli_env,
    copy_fixture,
    free_port,
    run_cli,
    run_task_cli,
    write_project,
)
from test_build_errors import fail, tree_digest


def test_server_dir_outside_the_project_builds_summarises_and_runs(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"nitro.config.toml": 'serverDir = "../shared"\n' + TASKS_ON})
    write_project(tmp_path / "shared", {"tasks/ext.ts": TASK})
    proc = build_project(project)
    assert "../shared/tasks/ext.ts [scan]" in proc.stdout
    data = json.loads(run_cli("build", "--dir", str(project), "--json").stdout)
    assert data["tasks"][0]["handler"] == "../shared/tasks/ext.ts"
    assert json.loads(run_task_cli(NODE_BUNDLE, project, "run", "ext").stdout) == {"result": "ok"}


def test_symlinked_folder_under_tasks_is_scanned_once_even_with_a_link_cycle(tmp_path: Path) -> None:
    shared = write_project(tmp_path / "shared", {"reports/daily.ts": TASK})
    (shared / "reports" / "again").symlink_to("..", target_is_directory=True)  # a cycle
    project = write_project(tmp_path / "app", {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    (project / "tasks" / "shared").symlink_to(shared / "reports", target_is_directory=True)
    build_project(project)
    assert json.loads(run_task_cli(NODE_BUNDLE, project, "run", "shared:daily").stdout) == {"result": "ok"}
    names = json.loads(run_task_cli(NODE_BUNDLE, project, "list").stdout)["tasks"]
    assert sorted(names) == ["a", "shared:daily"]


def test_dangling_symlink_in_tasks_is_a_clear_error(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON})
    (project / "tasks").mkdir()
    (project / "tasks" / "gone.ts").symlink_to(tmp_path / "missing.ts")
    assert "tasks/gone.ts: cannot be read (No such file or directory)" in fail(project)


def test_bundle_is_byte_identical_when_the_project_moves_to_another_depth(tmp_path: Path) -> None:
    """Runtime modules used to be named in the bundle by their path from the project to nitro-build."""
    near = copy_fixture("basic", tmp_path / "one")
    far = copy_fixture("basic", tmp_path / "a" / "b" / "c")
    build_project(near)
    build_project(far)
    assert tree_digest(far / ".output") == tree_digest(near / ".output")
    assert "templates/runtime" not in bundled_sources(near / ".output/server")


def test_project_under_a_folder_with_an_equals_sign_builds(tmp_path: Path) -> None:
    """esbuild reads an entry point argument `a=b/...` as `outname=path`, so the build failed."""
    project = copy_fixture("basic", tmp_path / "date=2026-11-28")
    build_project(project)
    assert json.loads(run_task_cli(NODE_BUNDLE, project, "run", "db:migrate").stdout) == {"result": "Success"}


def test_nitro_dev_with_a_server_dir_builds_and_starts_once(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "nitro.config.toml": 'serverDir = "server"\n[experimental]\ntasks = true\n',
            "server/tasks/a.ts": TASK,
        },
    )
    port = free_port()
    argv = [sys.executable, "-m", "nitro_build", "dev", "--dir", str(project), "--port", str(port)]
    run = Server(argv, tmp_path, cli_env(), port)
    try:
        run.wait_for("[nitro dev] ready:", timeout=30)
        time.sleep(2)  # several watch ticks: nothing changed, so nothing is rebuilt
        assert run.output.count("[nitro dev] ready:") == 1, run.output
        assert "rebuilding" not in run.output, run.output
    finally:
        assert run.stop(signal.SIGTERM) == 0, run.output
