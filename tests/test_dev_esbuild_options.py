"""compiler/dev/esbuild_options.py: the dev build's esbuild command line as JS API options (the
dev session's esbuild service bundles a changed task with them), checked against a real build's
command line; an unknown flag is refused so the session falls back to full rebuilds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import build_project, write_project
from nitro_build.bundle import ARGS_FILE
from nitro_build.dev.esbuild_options import UnsupportedFlag, api_options


def test_a_dev_builds_command_line_becomes_api_options(tmp_path: Path):
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": "[experimental]\ntasks = true\n",
            "tasks/hello.ts": 'export default defineTask({ run() { return { result: "hi" } } });\n',
        },
    )
    build_project(project, "dev")
    args = json.loads((project / ".nitro" / "build" / "dev" / ARGS_FILE).read_text())
    opts = api_options(args, project, "/a:/b")
    assert opts["absWorkingDir"] == str(project) and opts["nodePaths"] == ["/a", "/b"]
    assert opts["entryPoints"] == [".nitro/build/dev/entry.mjs"]
    assert opts["bundle"] is True and opts["format"] == "esm" and opts["platform"] == "node"
    assert opts["outExtension"] == {".js": ".mjs"} and opts["entryNames"] == "index"
    assert opts["alias"]["#nitro-runtime"].endswith("/.nitro/build/dev/runtime")
    assert opts["alias"]["nitro/task"].endswith("/runtime/task.mjs")
    assert opts["inject"] == [str(project / ".nitro/build/dev/_auto_imports.mjs")]
    assert opts["define"]["import.meta.dev"] == "true"
    assert opts["banner"]["js"].startswith("import { createRequire as __nitroRequire }")
    assert opts["resolveExtensions"][:2] == [".ts", ".mts"]
    assert opts["sourcemap"] is True and opts["sourcesContent"] is False
    assert "metafile" not in opts and "logLevel" not in opts  # the service's own choice


def test_values_keep_their_equals_signs_and_unknown_flags_are_refused():
    opts = api_options(
        ["esbuild", "e.ts", "--define:X=a==b", "--inject:/p/a=b.mjs", "--external:x", "--conditions=a,b"],
        Path("/r"),
        "",
    )
    assert opts["define"] == {"X": "a==b"} and opts["inject"] == ["/p/a=b.mjs"]
    assert opts["external"] == ["x"] and opts["conditions"] == ["a", "b"] and opts["nodePaths"] == []
    with pytest.raises(UnsupportedFlag, match="--minify"):
        api_options(["esbuild", "e.ts", "--minify"], Path("/r"), "")
