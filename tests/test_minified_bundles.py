"""Minified server bundles (esbuild --minify --keep-names beside their source maps, issue #14) under
real Node and Deno: a failing task's stack still names its .ts file, line and function; code reading
a function's or class's `.name` sees its own; a lazily loaded chunk with bundled CommonJS that calls
`require` keeps the preset's banner, the chunks without it lose it and keep their line numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import BIN, NODE_BUNDLE, build_project, write_project
from nitro_build.presets.base import Preset
from test_node_fast_path import get

TOKEN = "t0ken-minified"
FILES = {
    "nitro.config.toml": "[experimental]\ntasks = true\n",
    "tasks/boom.ts": (
        "function explodeHere(n: number): never {\n"
        '  throw new Error("boom " + n);\n'
        "}\n"
        "export default defineTask({\n"
        '  meta: { description: "fails" },\n'
        "  run() {\n"
        "    explodeHere(4);\n"
        "  },\n"
        "});\n"
    ),
    "tasks/names.ts": (
        "class WidgetMaker {}\n"
        "function makeWidget() {}\n"
        "export default defineTask({ run() {\n"
        "  return { result: [WidgetMaker.name, makeWidget.name, new WidgetMaker().constructor.name] };\n"
        "} });\n"
    ),
    "tasks/cjs.ts": (
        'import joined from "cjs-joiner";\n'
        'export default defineTask({ run() { return { result: joined("a", "b") }; } });\n'
    ),
    "node_modules/cjs-joiner/package.json": '{ "name": "cjs-joiner", "main": "index.js" }\n',
    "node_modules/cjs-joiner/index.js": (
        'const path = require("node:path");\nmodule.exports = (a, b) => path.posix.join(a, b);\n'
    ),
}
COMMANDS = {
    "node_server": NODE_BUNDLE,
    "deno_server": [str(BIN / "deno"), "run", "-A", ".output/server/index.mjs"],
}
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("preset", sorted(COMMANDS))
def test_minified_bundle_keeps_stacks_names_and_require(tmp_path: Path, start_server, preset: str) -> None:
    project = write_project(tmp_path / "p", FILES)
    proc = build_project(project, preset)
    assert proc.returncode == 0, proc.stderr
    entry = project / ".output" / "server" / "index.mjs"
    assert entry.read_text().startswith(Preset.bundle_options.banner + "\n")
    assert len(entry.read_text().splitlines()) < 40, "the entry is not minified"
    server = start_server(COMMANDS[preset], project, env={"NITRO_TASKS_TOKEN": TOKEN})

    resp, data = get(server.port, "/_nitro/tasks/names", "POST", b"{}", AUTH)
    assert (resp.status, json.loads(data)) == (200, {"result": ["WidgetMaker", "makeWidget", "WidgetMaker"]})
    resp, data = get(server.port, "/_nitro/tasks/cjs", "POST", b"{}", AUTH)
    assert (resp.status, json.loads(data)) == (200, {"result": "a/b"})

    resp, data = get(server.port, "/_nitro/tasks/boom", "POST", b"{}", AUTH)
    assert (resp.status, json.loads(data)["message"]) == (500, "boom 4")
    boom = project / "tasks" / "boom.ts"
    server.wait_for(f"at explodeHere ({'file://' if preset == 'deno_server' else ''}{boom}:2:")
    server.wait_for(f"{boom}:7:")

    chunks = sorted((project / ".output" / "server" / "chunks").glob("*.mjs"))
    # esbuild's __require helper (which reads `require`) sits in a shared chunk.
    with_require = [c for c in chunks if re.search(r"\brequire\b", c.read_text().partition("\n")[2])]
    assert with_require and all(c.read_text().startswith(Preset.bundle_options.banner) for c in with_require)
    others = [c for c in chunks if c not in with_require]
    assert others and all(c.read_text().startswith("\n") for c in others)
