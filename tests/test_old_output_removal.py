"""The previous output is not deleted by the build that replaces it (compiler/swap.py): it is
renamed into `.nitro/trash-*/`, and the next build deletes that while it scans and bundles. That
deletion removes only nitro-build's old output (a link in it, never what the link points to),
nothing the user sees outside `.nitro/`, and also what a killed or failed build left."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import TASKS_ON, build_project, run_cli, write_project
from nitro_build.swap import move_to_trash
from test_build_errors import tree_digest


def version(n: int) -> dict[str, str]:
    return {
        "nitro.config.toml": TASKS_ON,
        "tasks/a.ts": f"export default defineTask({{ run() {{ return {{ result: {n} }} }} }});\n",
        "notes/user.txt": "the user's own file\n",
        "notes/keep/inside.txt": "a file in a folder of the user's\n",
    }


def trash(project: Path) -> list[Path]:
    return sorted((project / ".nitro").glob("trash-*"))


def visible(project: Path) -> dict[str, str]:
    """Every file of the project outside .nitro/ and the output: what the user sees as theirs."""
    return {k: v for k, v in tree_digest(project).items() if not k.startswith((".nitro/", ".output/"))}


def test_the_previous_output_goes_to_the_trash_and_the_next_build_deletes_it(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", version(1))
    build_project(project)
    # Links in the live output to the user's file and folder: deleting the old output must
    # remove the links only.
    os.symlink(project / "notes" / "user.txt", project / ".output" / "link-to-file")
    os.symlink(project / "notes" / "keep", project / ".output" / "link-to-folder")
    mine, previous = visible(project), tree_digest(project / ".output")
    top = sorted(p.name for p in project.iterdir())

    write_project(project, version(2))
    build_project(project)
    first = trash(project)  # the previous output; the previous generated sources
    (kept,) = [p for t in first for p in t.glob("staging-*.old")]  # the swap's `.old`, moved whole
    assert tree_digest(kept / ".output") == previous
    assert tree_digest(project / ".output") != previous
    assert sorted(p.name for p in project.iterdir()) == top, "a folder beside the user's files"
    assert visible(project) == {**mine, "tasks/a.ts": visible(project)["tasks/a.ts"]}

    write_project(project, version(3))
    build_project(project)
    assert not any(t.exists() for t in first)
    assert len(list(project.glob(".nitro/trash-*/staging-*.old"))) == 1  # build 2's output now
    assert (project / "notes" / "user.txt").read_text() == "the user's own file\n"
    assert (project / "notes" / "keep" / "inside.txt").is_file()
    assert sorted(p.name for p in project.iterdir()) == top
    assert not list((project / ".nitro").glob("staging-*"))


def test_a_failed_build_deletes_leftover_trash_but_keeps_the_output(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", version(1))
    build_project(project)
    output = tree_digest(project / ".output")
    # What a build killed during the trash's deletion leaves: a half-deleted old output.
    left = project / ".nitro" / "trash-killed" / "staging-node_server-7.old" / ".output" / "server"
    left.mkdir(parents=True)
    (left / "index.mjs").write_text("old")
    os.symlink(project / "notes" / "keep", left / "link")
    (project / "nitro.config.toml").write_text("[broken\n")
    proc = run_cli("build", "--dir", str(project))
    assert proc.returncode == 1 and "invalid TOML" in proc.stderr, proc.stderr
    assert trash(project) == []
    assert tree_digest(project / ".output") == output
    assert (project / "notes" / "keep" / "inside.txt").is_file()


def test_a_trash_folder_that_cannot_be_made_does_not_fail_the_build(tmp_path: Path) -> None:
    """move_to_trash after the swap: deleted in place, as before, rather than failing a build
    whose new output is already in place."""
    work = tmp_path / ".nitro"
    old = work / "staging-node_server-1.old"
    (old / ".output").mkdir(parents=True)
    (old / ".output" / "index.mjs").write_text("old")
    move_to_trash([old], tmp_path / "not-a-folder")  # its parent is missing: mkdir fails
    assert not old.exists() and not (tmp_path / "not-a-folder").exists()
    move_to_trash([work / "missing"], work)  # nothing to move: no trash folder made
    assert sorted(p.name for p in work.iterdir()) == []


def test_rebuilding_in_place_gives_the_same_bytes(tmp_path: Path) -> None:
    """The path a repeated build takes (previous output and sources to the trash, the earlier
    trash deleted while esbuild runs, each file read once) gives the bytes of a fresh build."""
    files = {"nitro.config.toml": TASKS_ON + '[scheduledTasks]\n"0 3 * * *" = ["g1:t1", "g2:t7"]\n'}
    for i in range(120):
        files[f"tasks/g{i % 3}/t{i}.ts"] = (
            f'export default defineTask({{ meta: {{ description: "task {i}" }}, '
            f"run() {{ return {{ result: {i} }} }} }});\n"
        )
    project = write_project(tmp_path / "p", files)
    fresh = write_project(tmp_path / "fresh", files)
    build_project(fresh)
    expected = tree_digest(fresh / ".output")
    for _ in range(3):
        build_project(project)
        assert tree_digest(project / ".output") == expected
