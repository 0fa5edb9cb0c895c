"""Where a build writes its output: output.dir, and the platforms that fix the path."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import (
    TASK,
    build_project,
    write_project,
)


def test_vercel_ignores_output_dir_because_vercel_deploy_prebuilt_reads_vercel_output(tmp_path: Path) -> None:
    project = write_project(tmp_path, {
        "nitro.config.toml": (
            '[output]\ndir = "build-out"\n[experimental]\ntasks = true\n'
            '[scheduledTasks]\n"0 3 * * *" = "a"\n'
        ),
        "tasks/a.ts": TASK,
    })
    proc = build_project(project, "vercel", "--json")
    assert json.loads(proc.stdout)["output"] == ".vercel/output"
    assert (project / ".vercel/output/config.json").is_file()
    assert (project / ".vercel/output/functions/__server.func/index.mjs").is_file()
    assert not (project / "build-out").exists()
    # Server presets still honour output.dir.
    build_project(project, "node_server")
    assert (project / "build-out/server/index.mjs").is_file()
