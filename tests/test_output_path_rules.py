"""Where a build writes its output: output.dir, and the platforms that fix the path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import (
    TASK,
    TASKS_ON,
    build_project,
    write_project,
)
from test_build_errors import fail, tree_digest


def test_vercel_ignores_output_dir_because_vercel_deploy_prebuilt_reads_vercel_output(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {
            "nitro.config.toml": (
                '[output]\ndir = "build-out"\n[experimental]\ntasks = true\n'
                '[scheduledTasks]\n"0 3 * * *" = "a"\n'
            ),
            "tasks/a.ts": TASK,
        },
    )
    proc = build_project(project, "vercel", "--json")
    assert json.loads(proc.stdout)["output"] == ".vercel/output"
    assert (project / ".vercel/output/config.json").is_file()
    assert (project / ".vercel/output/functions/__server.func/index.mjs").is_file()
    assert not (project / "build-out").exists()
    # Server presets still honour output.dir.
    build_project(project, "node_server")
    assert (project / "build-out/server/index.mjs").is_file()


USER_FILES = {
    "package.json": '{"name": "app"}\n',
    "src/main.ts": "console.log('main');\n",
    "README.md": "# app\n",
}


@pytest.mark.parametrize("out_dir", ["package.json", "src/main.ts", "README.md", "README.md/out"])
def test_output_dir_naming_a_user_file_is_refused_and_the_file_kept(tmp_path: Path, out_dir: str) -> None:
    """These built with exit 0 and replaced the file with the output folder."""
    config = f'output.dir = "{out_dir}"\n' + TASKS_ON
    project = write_project(tmp_path, {**USER_FILES, "nitro.config.toml": config, "tasks/a.ts": TASK})
    before = tree_digest(project)
    stderr = fail(project)
    file = out_dir.split("/out")[0]
    assert f"nitro.config.toml: output.dir: refusing to replace output path {out_dir!r}" in stderr
    what = "is a file" if file == out_dir else f"is inside {file!r}, which is a file"
    assert what in stderr and "choose a folder name that is free" in stderr, stderr
    assert _without_work_folder(tree_digest(project)) == _without_work_folder(before)


@pytest.mark.parametrize("out_dir", [".nitro", ".nitro/build.lock", ".nitro/build/node_server", ".nitro/out"])
def test_output_dir_inside_the_work_folder_is_refused(tmp_path: Path, out_dir: str) -> None:
    """`.nitro/build.lock` made every later build crash (IsADirectoryError); `.nitro/build/<preset>`
    was wiped at the start of each build."""
    project = write_project(
        tmp_path, {"nitro.config.toml": f'output.dir = "{out_dir}"\n' + TASKS_ON, "tasks/a.ts": TASK}
    )
    stderr = fail(project)
    assert f"nitro.config.toml: output.dir: refusing to replace output path {out_dir!r}" in stderr
    assert "it is inside .nitro/, where nitro-build keeps its build lock" in stderr
    assert not (project / out_dir / "nitro.json").exists()
    (project / "nitro.config.toml").write_text(TASKS_ON)
    build_project(project)  # and the next build with a good output.dir still works
    assert (project / ".output/server/index.mjs").is_file()


def test_build_lock_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    """What an earlier version left after `output.dir = ".nitro/build.lock"`."""
    project = write_project(
        tmp_path, {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK, ".nitro/build.lock/nitro.json": "{}"}
    )
    stderr = fail(project)
    assert "cannot open .nitro/build.lock" in stderr and "make it a writable folder" in stderr


def test_folder_with_a_foreign_nitro_json_is_not_taken_for_an_output(tmp_path: Path) -> None:
    """Any file called nitro.json used to mark a folder as ours; now it must be a build's."""
    project = write_project(
        tmp_path,
        {
            "nitro.config.toml": 'output.dir = "config"\n' + TASKS_ON,
            "tasks/a.ts": TASK,
            "config/nitro.json": '{"name": "mine"}\n',
            "config/app.json": "{}\n",
        },
    )
    stderr = fail(project)
    assert "nitro.config.toml: output.dir: refusing to replace output path 'config'" in stderr
    assert "was not written by nitro-build" in stderr
    assert (project / "config/app.json").read_text() == "{}\n"


def test_an_earlier_output_and_an_empty_folder_are_replaced(tmp_path: Path) -> None:
    config = 'output.dir = "out"\n' + TASKS_ON
    project = write_project(tmp_path, {"nitro.config.toml": config, "tasks/a.ts": TASK})
    (project / "out").mkdir()
    build_project(project)
    marker = json.loads((project / "out/nitro.json").read_text())
    assert marker["preset"] == "node_server" and marker["framework"]["name"] == "nitro-build"
    build_project(project)
    assert (project / "out/server/index.mjs").is_file()


def _without_work_folder(digest: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in digest.items() if not k.startswith(".nitro/")}
