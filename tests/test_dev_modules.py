"""compiler/dev_modules.py: the dev bundle lists the modules task files import (a shared helper, a
package, a runtime module; not the auto-imports, not Node built-ins), learning them from esbuild's metafile: a second
esbuild run only when the list of the last build (.nitro/dev/modules.json) lacked one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, write_project
from nitro_build import bundle, pipeline

FILES = {
    "nitro.config.toml": "[experimental]\ntasks = true\n",
    "lib/shared.ts": "export const shared = 1;\n",
    "tasks/a.ts": 'import { shared } from "../lib/shared";\nimport { hostname } from "node:os";\n'
    "export default defineTask({ run() { return { result: [shared, typeof hostname] } } });\n",
    "tasks/b.ts": 'import { useStorage } from "nitro/storage";\n'
    "export default defineTask({ run() { return { result: typeof useStorage } } });\n",
}


def test_modules_task_files_import_are_listed_and_learnt_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NITRO_ESBUILD", str(BIN / "esbuild"))
    runs: list[int] = []
    real = bundle._run

    def counted(*args: Any) -> None:
        runs.append(1)
        real(*args)

    monkeypatch.setattr(bundle, "_run", counted)
    project = write_project(tmp_path / "project", FILES)
    listing = project / ".nitro" / "build" / "dev" / "_dev_modules.mjs"

    pipeline.build(project, "dev")
    assert len(runs) == 2  # the first build learns the list, then bundles with it
    storage = ".nitro/build/dev/runtime/storage.mjs"
    assert json.loads((project / ".nitro" / "dev" / "modules.json").read_text()) == [storage, "lib/shared.ts"]
    assert '  "lib/shared.ts": () => import("../../../lib/shared.ts"),' in listing.read_text()

    runs.clear()
    pipeline.build(project, "dev")
    assert len(runs) == 1  # the same imports: one esbuild run

    # A module no task imports any more is dropped from the list of the next build.
    (project / "tasks" / "a.ts").write_text(
        "export default defineTask({ run() { return { result: 1 } } });\n"
    )
    pipeline.build(project, "dev")
    assert json.loads((project / ".nitro" / "dev" / "modules.json").read_text()) == [storage]
    runs.clear()
    pipeline.build(project, "dev")
    assert len(runs) == 1 and "lib/shared.ts" not in listing.read_text()
