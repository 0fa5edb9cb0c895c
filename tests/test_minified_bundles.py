"""Minified server bundles (esbuild --minify --keep-names beside their source maps, issue #14)
under real Node and Deno, and under workerd, whose frames Cloudflare maps with the uploaded .map:
a failing task's stack still names its .ts file, line and function; code reading a function's or
class's `.name` sees its own; a task whose module waits at its top level runs; a lazily loaded
chunk with bundled CommonJS that calls `require` keeps the preset's banner, the chunks without it
lose it and keep their line numbers."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, NODE, NODE_BUNDLE, build_project, write_project
from nitro_build.chunk_banner import LOADER_LINE
from nitro_build.presets.base import Preset
from test_cloudflare import run_workers, toml, worker
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
    # Top-level await in a helper: esbuild's minified initialisers name no module, the map does.
    "lib/awaited.ts": "export const answer = await Promise.resolve(42);\n",
    "tasks/slow.ts": (
        'import { answer } from "../lib/awaited";\n'
        "export default defineTask({ run() { return { result: answer }; } });\n"
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
    # The entry defines `require` only when its code names it (compiler/chunk_banner.py): here it
    # does not, and its banner line holds only, on Node, the task groups' loader (the lines below
    # keep their place in the map).
    first, _, rest = entry.read_text().partition("\n")
    assert first == (f" {LOADER_LINE}" if preset == "node_server" else "")
    assert not re.search(r"\brequire\b", rest)
    assert len(entry.read_text().splitlines()) < 40, "the entry is not minified"
    server = start_server(COMMANDS[preset], project, env={"NITRO_TASKS_TOKEN": TOKEN})

    # The task with top-level await gets its own import(), so its first run finds its handler.
    resp, data = get(server.port, "/_nitro/tasks/slow", "POST", b"{}", AUTH)
    assert (resp.status, json.loads(data)) == (200, {"result": 42})
    groups = (project / ".nitro" / "build" / preset / "lazy").glob("tasks-*.mjs")
    assert any('import("../../../../tasks/slow.ts")' in g.read_text() for g in groups)
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


def test_cloudflare_module_stack_maps_to_the_ts_file_through_its_map(tmp_path: Path) -> None:
    """workerd does not map stacks itself; Cloudflare does, with the map wrangler uploads
    (upload_source_maps). The frames workerd logs, looked up in index.mjs.map by Node's own
    source-map reader, name the task's .ts file and lines."""
    project = write_project(tmp_path / "p", FILES)
    proc = build_project(project, "cloudflare_module")
    assert proc.returncode == 0, proc.stderr
    server = project / ".output" / "server"
    config = toml(server / "wrangler.toml")
    assert config["upload_source_maps"] is True
    entry = (server / "index.mjs").read_text()
    assert entry.rstrip().endswith("//# sourceMappingURL=index.mjs.map") and len(entry.splitlines()) < 40
    out = run_workers(
        [worker("w", server / "index.mjs", config, bindings={"NITRO_TASKS_TOKEN": TOKEN})],
        [
            {"type": "fetch", "url": "http://localhost/_nitro/tasks/boom", "method": "POST", "headers": AUTH},
            {"type": "waitLog", "contains": "at Object.run", "timeoutMs": 5000},
        ],
    )
    assert out["results"][0]["status"] == 500 and out["results"][1] == {"found": True}
    frames = [re.search(r"index\.mjs:(\d+):(\d+)\)$", line) for line in out["logs"] if "    at " in line]
    positions = [[int(m[1]), int(m[2])] for m in frames[:2] if m]
    script = (
        'import { SourceMap } from "node:module"; import { readFileSync } from "node:fs";'
        f"const map = new SourceMap(JSON.parse(readFileSync({json.dumps(str(server / 'index.mjs.map'))}, 'utf8')));"
        f"console.log(JSON.stringify({json.dumps(positions)}.map(([l, c]) => map.findEntry(l - 1, c - 1))));"
    )
    found = json.loads(
        subprocess.run(
            [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, check=True
        ).stdout
    )
    assert [(e["originalSource"], e["originalLine"] + 1) for e in found] == [
        ("../../tasks/boom.ts", 2),
        ("../../tasks/boom.ts", 7),
    ]


def test_a_users_upload_source_maps_is_kept(tmp_path: Path) -> None:
    files = {**FILES, "wrangler.toml": 'name = "mine"\nupload_source_maps = false\n'}
    project = write_project(tmp_path / "p", files)
    assert build_project(project, "cloudflare_module").returncode == 0
    assert toml(project / ".output" / "server" / "wrangler.toml")["upload_source_maps"] is False
