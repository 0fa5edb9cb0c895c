"""Node bundles map stack traces with each .map read only when a stack needs it
(templates/runtime/stack_maps.mjs, issue #18: Node's own source-map support read, parsed and kept
the map of every task-group chunk a first run loaded). Under real Node: a task's own stack and a
failing task's logged stack name its .ts file and line while Node's map cache stays off, also
under --enable-source-maps; and the formatter alone, on esbuild output with a linked and an inline
map, a file without a map, a broken map, a formatter set before it, and names the minifier
shortened (no --keep-names), which come back from the map."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nitro_build.templates
import pytest
from conftest import BIN, NODE, NODE_BUNDLE, build_project, write_project

STACK_MAPS = Path(nitro_build.templates.__file__).parent / "runtime" / "stack_maps.mjs"
TOKEN = "t0ken-stack-maps"
AUTH = {"authorization": f"Bearer {TOKEN}"}
FILES = {
    "nitro.config.toml": "[experimental]\ntasks = true\n",
    "tasks/where.ts": (
        "export default defineTask({\n"
        "  run() {\n"
        '    const lines = new Error("here").stack!.split("\\n");\n'
        "    return { result: { enabled: process.sourceMapsEnabled, frame: lines[1] } };\n"
        "  },\n"
        "});\n"
    ),
    "tasks/boom.ts": (
        "function failDeep(n: number): never {\n"
        '  throw new Error("boom " + n);\n'
        "}\n"
        "export default defineTask({ run() {\n"
        "  failDeep(3);\n"
        "} });\n"
    ),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("stack-maps") / "p", FILES)
    proc = build_project(root, "node_server")
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.mark.parametrize("node_options", ["", "--enable-source-maps"])
def test_task_stacks_name_the_ts_file(project: Path, start_server, node_options: str) -> None:
    env = {"NITRO_TASKS_TOKEN": TOKEN, "NODE_OPTIONS": node_options}
    server = start_server(NODE_BUNDLE, project, env=env)
    status, body = server.request("POST", "/_nitro/tasks/where", {}, AUTH)
    assert status == 200, body
    # Without the flag Node keeps no map (its cache is filled only while enabled); with it, the
    # runtime's formatter still maps the frames. Either way the frame is the task's own line.
    assert body["result"]["enabled"] is bool(node_options)
    assert body["result"]["frame"].endswith(f"({project / 'tasks' / 'where.ts'}:3:19)")
    status, body = server.request("POST", "/_nitro/tasks/boom", {}, AUTH)
    assert (status, body["message"]) == (500, "boom 3")
    server.wait_for(f"at failDeep ({project / 'tasks' / 'boom.ts'}:2:9)")
    server.wait_for(f"({project / 'tasks' / 'boom.ts'}:5:3)")


# Compiled by esbuild below: once with a .map beside it, once with the map inline.
LIB = (
    "export function explode(n: number): never {\n"
    '  throw new TypeError("bad " + n);\n'
    "}\n"
    "export async function later(): Promise<void> {\n"
    "  await null;\n"
    "  explode(2);\n"
    "}\n"
    "export async function outer(): Promise<void> {\n"
    "  await later();\n"
    "}\n"
)
DRIVER = """
const [stackMaps, linked, inline, plain, broken, preset] = process.argv.slice(1);
if (preset) Error.prepareStackTrace = function mine(error) { return "mine: " + error.message; };
await import(stackMaps);
const stack = async (fn) => { try { await fn(); } catch (e) { return e.stack.split("\\n"); } };
const out = {};
for (const [key, file] of Object.entries({ linked, inline, plain, broken })) {
  const mod = await import(file);
  out[key] = { sync: await stack(() => mod.explode(1)), async: await stack(() => mod.outer()) };
}
const mine = new RangeError("x"); mine.code = "ERR_MINE";
out.code = [mine.stack, (() => { try { Buffer.alloc("x"); } catch (e) { return e.stack; } })()].map((s) => s.split("\\n")[0]);
console.log(JSON.stringify(out));
"""


def _esbuild(source: Path, out: Path, sourcemap: str) -> None:
    argv = [str(BIN / "esbuild"), str(source), f"--outfile={out}", "--format=esm", "--minify", "--keep-names"]
    subprocess.run([*argv, f"--sourcemap={sourcemap}"], check=True, capture_output=True)


def _drive(tmp_path: Path, preset: bool = False) -> dict:
    src = tmp_path / "src" / "lib.ts"
    src.parent.mkdir()
    src.write_text(LIB)
    out = tmp_path / "out"
    _esbuild(src, out / "linked.mjs", "linked")
    _esbuild(src, out / "inline.mjs", "inline")
    _esbuild(src, out / "plain.mjs", "linked")
    (out / "plain.mjs.map").unlink()  # a map comment whose file is gone
    _esbuild(src, out / "broken.mjs", "linked")
    (out / "broken.mjs.map").write_text("{ not json")
    files = [STACK_MAPS, out / "linked.mjs", out / "inline.mjs", out / "plain.mjs", out / "broken.mjs"]
    argv = [NODE, "--input-type=module", "-e", DRIVER, *(f.as_uri() for f in files), "1" if preset else ""]
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_frames_map_through_linked_and_inline_maps_read_on_demand(tmp_path: Path) -> None:
    out = _drive(tmp_path)
    lib = tmp_path / "src" / "lib.ts"
    for key in ("linked", "inline"):
        sync, later = out[key]["sync"], out[key]["async"]
        assert sync[0] == "TypeError: bad 1"
        # As Node's own --enable-source-maps writes them (the caller's `Module.` included).
        assert sync[1] == f"    at Module.explode ({lib}:2:9)"
        assert later[0] == "TypeError: bad 2"
        assert later[1:4] == [
            f"    at explode ({lib}:2:9)",
            f"    at later ({lib}:6:3)",
            f"    at async Module.outer ({lib}:9:3)",
        ]
    # No map to read, or one that does not parse: the frames stay as V8 writes them.
    for key in ("plain", "broken"):
        sync = out[key]["sync"]
        assert sync[0] == "TypeError: bad 1"
        assert f"{key}.mjs:" in sync[1] and "lib.ts" not in "\n".join(sync)
    # Node's own errors name their code, as Node writes them; others do not.
    assert out["code"] == [
        "RangeError: x",
        "TypeError [ERR_INVALID_ARG_TYPE]: The \"size\" argument must be of type number. Received type string ('x')",
    ]


def test_a_formatter_set_before_is_kept(tmp_path: Path) -> None:
    out = _drive(tmp_path, preset=True)
    assert out["linked"]["sync"] == ["mine: bad 1"]


# Minified without --keep-names: every kind of declaration esbuild renames.
SHORTENED = """
function failDeep(n: number): never {
  throw new Error("boom " + n);
}
const arrowHelper = (n: number) => failDeep(n);
const obj = { method(n: number) { return arrowHelper(n); } };
class Klass { go(n: number) { return obj.method(n); } static make() { return new Klass(); } }
class Other extends Klass {}
function Old(this: unknown) { throw new Error("old"); }
export async function outer(n: number) { await null; return Klass.make().go(n); }
export function sub() { return new Other().go(2); }
export function ctor() { return new (Old as any)(); }
"""
SHORTENED_DRIVER = """
const [stackMaps, file] = process.argv.slice(1);
await import(stackMaps);
const mod = await import(file);
const out = [];
for (const fn of [mod.outer, mod.sub, mod.ctor]) {
  try { await fn(1); } catch (e) { out.push(e.stack.split("\\n").slice(1).filter((l) => l.includes("lib.ts"))); }
}
console.log(JSON.stringify(out));
"""


@pytest.mark.parametrize("node_options", ["", "--enable-source-maps"])
def test_names_the_minifier_shortened_come_back_from_the_map(tmp_path: Path, node_options: str) -> None:
    src = tmp_path / "src" / "lib.ts"
    src.parent.mkdir()
    src.write_text(SHORTENED)
    out = tmp_path / "out" / "lib.mjs"
    argv = [str(BIN / "esbuild"), str(src), f"--outfile={out}", "--format=esm", "--minify", "--sourcemap"]
    subprocess.run(argv, check=True, capture_output=True)
    assert "failDeep" not in out.read_text() and '"name"' not in out.read_text()
    argv = [
        NODE,
        *node_options.split(),
        "--input-type=module",
        "-e",
        SHORTENED_DRIVER,
        STACK_MAPS.as_uri(),
        out.as_uri(),
    ]
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    common = [
        f"    at failDeep ({src}:3:9)",
        f"    at arrowHelper ({src}:5:36)",
        f"    at Object.method ({src}:6:42)",
    ]
    assert json.loads(proc.stdout) == [
        [*common, f"    at Klass.go ({src}:7:42)", f"    at outer ({src}:10:74)"],
        [*common, f"    at Other.go ({src}:7:42)", f"    at sub ({src}:11:44)"],
        [f"    at new Old ({src}:9:37)", f"    at ctor ({src}:12:33)"],
    ]
