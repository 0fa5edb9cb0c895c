"""How a build runs: finding esbuild, one build at a time per project, the atomic output swap."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    BIN,
    TASK,
    TASKS_ON,
    build_project,
    copy_fixture,
    run_cli,
    wait_until,
    write_project,
)
from test_build_errors import tree_digest


def test_a_second_build_waits_for_the_first_so_outputs_stay_consistent(tmp_path: Path) -> None:
    """Builds used to share .nitro/build/<preset> unguarded: a second build started while the first
    was in esbuild replaced its sources, so the first shipped the second's Worker with its own
    wrangler.toml crons (a trigger the Worker no longer knows runs nothing)."""
    marker = tmp_path / "first-build-in-esbuild"
    slow = tmp_path / "slow-esbuild"
    slow.write_text(f'#!/bin/sh\ntouch "{marker}"\nsleep 2\nexec "{BIN / "esbuild"}" "$@"\n')
    slow.chmod(0o755)
    config = TASKS_ON + '[scheduledTasks]\n"{}" = "a"\n'
    files = {"nitro.config.toml": config.format("0 3 * * *"), "tasks/a.ts": TASK}
    project = write_project(tmp_path / "p", files)
    argv = [
        sys.executable,
        "-m",
        "nitro_build",
        "build",
        "--preset",
        "cloudflare_module",
        "--dir",
        str(project),
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    first = subprocess.Popen(argv, env={**env, "NITRO_ESBUILD": str(slow)}, **pipes)
    wait_until(marker.exists, 30, "the first build to reach esbuild")
    (project / "nitro.config.toml").write_text(config.format("0 4 * * *"))  # the user saves a change
    second = subprocess.Popen(argv, env={**env, "NITRO_ESBUILD": str(BIN / "esbuild")}, **pipes)
    results = [(p.wait(timeout=60), *p.communicate()) for p in (first, second)]
    assert [r[0] for r in results] == [0, 0], results
    wrangler = (project / ".output/server/wrangler.toml").read_text()
    worker = (project / ".output/server/index.mjs").read_text()
    assert 'crons = ["0 4 * * *"]' in wrangler
    assert re.search(r'"0 4 \* \* \*": ?\["a"\]', worker) and "0 3 * * *" not in worker
    assert "waiting for another build" in results[1][2]
    assert not list((project / ".nitro").glob("staging-*"))


def test_nitro_esbuild_may_be_a_command_name_and_a_folder_is_explained(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": ""})
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = run_cli("build", "--dir", str(project), NITRO_ESBUILD="esbuild", PATH=path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("build", "--dir", str(project), NITRO_ESBUILD=str(BIN))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"NITRO_ESBUILD={BIN} is a folder" in proc.stderr
    assert f"set it to {BIN / 'esbuild'}" in proc.stderr
    assert shutil.which("esbuild", path=str(BIN))  # the case above really had a binary inside


def test_interrupt_between_the_swap_renames_puts_the_previous_output_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after the old output was moved aside but before the new one moved in used to leave no
    output at all (the old one stranded in .nitro/staging-*.old). In-process: the window is two
    renames wide, too narrow to hit with a real signal."""
    import nitro_build.emit as emit
    from nitro_build import build

    project = copy_fixture("basic", tmp_path)
    build_project(project)
    before = tree_digest(project / ".output")
    monkeypatch.setenv("NITRO_ESBUILD", str(BIN / "esbuild"))
    real, calls = os.replace, []

    def interrupted_second_rename(src: str, dst: str) -> None:
        if str(src).endswith(".tmp"):  # the swap journal, written before the swap starts
            return real(src, dst)
        calls.append(src)
        if len(calls) == 2:  # the first moved .output aside; the second would move the new one in
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(emit.os, "replace", interrupted_second_rename)
    with pytest.raises(KeyboardInterrupt):
        build(project)
    assert tree_digest(project / ".output") == before
    assert not list((project / ".nitro").glob("staging-*"))


def test_a_rebuild_keeps_a_faithful_runtime_copy_and_replaces_any_other(tmp_path: Path) -> None:
    """The runtime copy in .nitro/build/<preset>/runtime is kept from one build to the next
    (compiler/emit.py clear_sources) only while it holds exactly our files: an edited or added
    file, or a folder left by someone else, is copied afresh; the bundle is the same bytes."""
    project = write_project(tmp_path / "p", {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    build_project(project)
    runtime = project / ".nitro/build/node_server/runtime"
    bundle = (project / ".output/server/index.mjs").read_bytes()
    kept = (runtime / "app.mjs").stat().st_ino
    (runtime.parent / "stale.mjs").write_text("left by an older build\n")
    build_project(project)
    assert (runtime / "app.mjs").stat().st_ino == kept  # not copied again
    assert not (runtime.parent / "stale.mjs").exists()  # the rest of the sources were cleared
    assert (project / ".output/server/index.mjs").read_bytes() == bundle
    original = (runtime / "app.mjs").read_text()
    for damage in ("edit", "add", "remove"):
        if damage == "edit":
            (runtime / "app.mjs").write_text(original + "throw new Error('edited');\n")
        elif damage == "add":
            (runtime / "extra.mjs").write_text("export {};\n")
        else:
            (runtime / "app.mjs").unlink()
        build_project(project)
        assert (runtime / "app.mjs").read_text() == original and not (runtime / "extra.mjs").exists()
        assert (project / ".output/server/index.mjs").read_bytes() == bundle
