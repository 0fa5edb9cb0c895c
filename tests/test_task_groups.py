"""The task table split into groups by name (compiler/lazy_tasks.py, runtime/task_table.mjs):
the compiler (Python's zlib CRC-32) and the runtime (its own CRC-32 over TextEncoder bytes) must
put every name in the same group, or a task would answer 404. Names here are non-ASCII, astral,
and Object.prototype's keys; a config task without a handler still answers 501, an unknown name 404,
and the listing still names every task with its description. Run on a node_server bundle.
"""

from __future__ import annotations

import json
import re
import subprocess
import zlib
from pathlib import Path
from urllib.parse import quote

import nitro_build.templates
from conftest import NODE, NODE_BUNDLE, build_project, run_task_cli, write_project
from nitro_build.lazy_tasks import GROUP_SIZE, group_of

FOLDERS = ["ünïcödé", "emoji😀", "plain", "日本"]
COUNT = 2 * GROUP_SIZE + 30  # three groups


def names() -> list[str]:
    return [f"{FOLDERS[i % 4]}:t{i}" for i in range(COUNT)] + ["constructor", "toString"]


def project(root: Path) -> Path:
    files = {
        "nitro.config.toml": (
            '[experimental]\ntasks = true\n[tasks.hasOwnProperty]\ndescription = "no handler"\n'
        ),
        "api/run-all.ts": (
            "export default defineHandler(async (event) => {\n"
            "  const names = JSON.parse(new URL(event.req.url).searchParams.get('names'));\n"
            "  const results = await Promise.all(names.map((n) => runTask(n).then((r) => r.result, (e) => e.statusCode)));\n"
            "  return names.flatMap((name, i) => (results[i] === name ? [] : [{ name, got: results[i] }]));\n"
            "});\n"
        ),
    }
    for name in names():
        path = name.replace(":", "/")
        files[f"tasks/{path}.ts"] = (
            f"export default defineTask({{ meta: {{ description: {json.dumps('d ' + name)} }},"
            f" run() {{ return {{ result: {json.dumps(name)} }}; }} }});\n"
        )
    return write_project(root, files)


def test_every_name_is_found_in_its_group_by_the_runtime(tmp_path: Path, start_server) -> None:
    root = project(tmp_path)
    build_project(root)
    assert len({group_of(n, 3) for n in names()}) == 3, "the names spread over every group"
    server = start_server(NODE_BUNDLE, root)
    query = quote(json.dumps([*names(), "hasOwnProperty", "missing", "plain:t99999"]))
    # Every task answers its own name; the others answer their status code.
    assert server.request("GET", f"/api/run-all?names={query}") == (
        200,
        [
            {"name": "hasOwnProperty", "got": 501},
            {"name": "missing", "got": 404},
            {"name": "plain:t99999", "got": 404},
        ],
    )
    # The loaders are one array per group: esbuild's --keep-names wrapped an `export const tN`
    # loader in __name(fn, "tN") (heap and time at each group's first load, bench/README.md).
    chunks = sorted((root / ".output" / "server" / "chunks").glob("tasks-*.mjs"))
    assert len(chunks) == 3 and not [c.name for c in chunks if re.search(r'"t\d+"', c.read_text())]


def test_listing_names_every_task_with_its_description(tmp_path: Path) -> None:
    root = project(tmp_path)
    build_project(root)
    proc = run_task_cli(NODE_BUNDLE, root, "list")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)["tasks"]
    expected = {n: {"description": f"d {n}"} for n in names()}
    expected["hasOwnProperty"] = {"description": "no handler"}
    assert listed == expected


def test_a_task_with_top_level_await_runs_from_a_minified_bundle(tmp_path: Path) -> None:
    """A group `require()`s its tasks, which cannot wait for a module's top-level await: such a
    task (or one importing such a helper) gets a dynamic import of its own, also when the bundle
    is minified (esbuild's readable `async` initialiser is then gone; bundle.py looks first)."""
    root = write_project(
        tmp_path,
        {
            "nitro.config.toml": "[experimental]\ntasks = true\n",
            "tasks/slow.ts": (
                "await new Promise((resolve) => setTimeout(resolve, 50));\n"
                'export default defineTask({ run() { return { result: "slow" }; } });\n'
            ),
            "lib/config.ts": "export const value = await Promise.resolve(new Promise((r) => setTimeout(() => r(7), 50)));\n",
            "tasks/uses-helper.ts": (
                'import { value } from "../lib/config";\n'
                "export default defineTask({ run() { return { result: value }; } });\n"
            ),
            "tasks/plain.ts": 'export default defineTask({ run() { return { result: "plain" }; } });\n',
        },
    )
    build_project(root)
    for name, result in (("slow", "slow"), ("uses-helper", 7), ("plain", "plain")):
        proc = run_task_cli(NODE_BUNDLE, root, "run", name)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == {"result": result}


def test_a_utils_helper_with_top_level_await_reaches_every_task_and_route(
    tmp_path: Path, start_server
) -> None:
    """A `utils/` helper is auto-imported into every module that names it, and every task imports
    the auto-import module: esbuild refused the groups' `require()` of each task ("the transitive
    dependency ... contains a top-level await") and no build succeeded. Nitro imports tasks with
    import(), so such a project builds there; here the refused tasks get import() too."""
    root = write_project(
        tmp_path,
        {
            "nitro.config.toml": "[experimental]\ntasks = true\n",
            "utils/settings.ts": (
                'export const settings = await new Promise((r) => setTimeout(() => r({ greeting: "hi" }), 20));\n'
                "export const greet = (who: string) => `${settings.greeting} ${who}`;\n"
            ),
            "tasks/hello.ts": 'export default defineTask({ run() { return { result: greet("task") }; } });\n',
            "tasks/plain.ts": 'export default defineTask({ run() { return { result: "plain" }; } });\n',
            "routes/index.ts": 'export default defineHandler(() => greet("route"));\n',
        },
    )
    build_project(root)
    for name, result in (("hello", "hi task"), ("plain", "plain")):
        proc = run_task_cli(NODE_BUNDLE, root, "run", name)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == {"result": result}
    server = start_server(NODE_BUNDLE, root)
    assert server.request("GET", "/") == (200, "hi route")


def test_runtime_crc32_equals_zlibs(tmp_path: Path) -> None:
    """runtime/task_table.mjs's crc32 (bit by bit, no table) against Python's zlib.crc32 on the
    UTF-8 bytes, a lone surrogate being U+FFFD as TextEncoder writes it."""
    samples = [
        "",
        "a",
        "group0:task0",
        "ünïcödé:t1",
        "emoji😀:t2",
        "日本:t3",
        "x" * 5000,
        "lone\ud800",
        "\x00\xff",
    ]
    module = Path(nitro_build.templates.__file__).parent / "runtime" / "task_table.mjs"
    script = (
        f"const {{ crc32 }} = await import({json.dumps(module.as_uri())});"
        "const names = JSON.parse(process.argv[1]);"
        "console.log(JSON.stringify(names.map((n) => crc32(n))));"
    )
    sent = json.dumps(samples)  # \\ud800 stays an escape, so Node reads the lone surrogate
    proc = subprocess.run(
        [NODE, "--input-type=module", "-e", script, sent], capture_output=True, text=True, check=True
    )
    expected = [zlib.crc32(s.replace("\ud800", "\ufffd").encode()) for s in samples]
    assert json.loads(proc.stdout) == expected


ONE_FILE_PROJECT = {
    "nitro.config.toml": "[experimental]\ntasks = true\n",
    "utils/settings.ts": (
        'export const settings = await new Promise((r) => setTimeout(() => r({ greeting: "hi" }), 20));\n'
        "export const greet = (who: string) => `${settings.greeting} ${who}`;\n"
    ),
    "utils/text.ts": "export const twice = (s: string) => s + s;\n",
    # An await at the top level of an arrow's body, and a brace in a regular expression: no
    # top-level await, so this helper stays auto-imported.
    "utils/later.ts": "export const later = async (s: string) => await Promise.resolve(s + /[{]/.source);\n",
    "tasks/direct.ts": (
        'import { greet } from "../utils/settings";\n'
        'export default defineTask({ run() { return { result: greet("direct") }; } });\n'
    ),
    "tasks/auto.ts": 'export default defineTask({ async run() { return { result: twice(await later("a")) }; } });\n',
}


def test_a_utils_helper_with_top_level_await_in_a_one_file_bundle(tmp_path: Path) -> None:
    """nitro dev bundles the server as one file, where esbuild imports the auto-import module into
    every module, those it re-exports included: a utils/ helper that awaits at its top level made
    that cycle wait on itself and the server never started (Node's exit code 13, no message).
    Such a helper is not auto-imported there (the build warns, naming it and its exports);
    imported by path it works, the other helpers stay auto-imported, and a use without an import
    fails with an error naming the helper's file and what to do."""
    root = write_project(tmp_path / "p", ONE_FILE_PROJECT)
    (root / "tasks" / "unimported.ts").write_text(
        'export default defineTask({ run() { return greet("x"); } });\n'
    )
    proc = build_project(root, "dev")
    assert "warning: utils/settings.ts awaits at its top level" in proc.stderr, proc.stderr
    assert "(greet, settings)" in proc.stderr, proc.stderr
    dev_bundle = [NODE, ".nitro/dev/server/index.mjs"]
    assert "later" not in proc.stderr, proc.stderr
    for name, result in (("direct", "hi direct"), ("auto", "a[{]a[{]")):
        proc = run_task_cli(dev_bundle, root, "run", name)
        assert proc.returncode == 0, (proc.returncode, proc.stderr)
        assert json.loads(proc.stdout) == {"result": result}
    proc = run_task_cli(dev_bundle, root, "run", "unimported")
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "utils/settings.ts awaits at its top level" in proc.stderr and "'greet'" in proc.stderr


INDIRECT_PROJECT = {
    "nitro.config.toml": "[experimental]\ntasks = true\n",
    # No await of its own: the module it imports (outside utils/) awaits at its top level.
    "lib/db.ts": ('export const db = await new Promise((r) => setTimeout(() => r({ name: "db" }), 20));\n'),
    "utils/users.ts": (
        'import { db } from "../lib/db";\nexport const userOf = (id: string) => `${id}@${db.name}`;\n'
    ),
    "utils/text.ts": "export const twice = (s: string) => s + s;\n",
    "tasks/direct.ts": (
        'import { userOf } from "../utils/users";\n'
        'export default defineTask({ run() { return { result: twice(userOf("t")) }; } });\n'
    ),
    "routes/index.ts": (
        'import { userOf } from "../utils/users";\nexport default defineHandler(() => twice(userOf("r")));\n'
    ),
    "tasks/unimported.ts": 'export default defineTask({ run() { return userOf("x"); } });\n',
}


def test_a_utils_helper_importing_a_module_with_top_level_await_in_a_one_file_bundle(
    tmp_path: Path, start_server
) -> None:
    """A utils/ helper that does not await itself but imports a module that does (lib/db.ts) made
    the same cycle through the auto-import module: the dev server exited with code 13 and no
    message. The detection follows imports: such a helper is left out of the auto-imports with the
    same warning (naming the module that awaits); imported by path it works, in a task and in the
    running dev server's route."""
    root = write_project(tmp_path / "p", INDIRECT_PROJECT)
    proc = build_project(root, "dev")
    assert "warning: utils/users.ts awaits at its top level" in proc.stderr, proc.stderr
    assert "lib/db.ts" in proc.stderr and "(userOf)" in proc.stderr, proc.stderr
    assert "utils/text.ts" not in proc.stderr, proc.stderr
    dev_bundle = [NODE, ".nitro/dev/server/index.mjs"]
    proc = run_task_cli(dev_bundle, root, "run", "direct")
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert json.loads(proc.stdout) == {"result": "t@dbt@db"}
    proc = run_task_cli(dev_bundle, root, "run", "unimported")
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "utils/users.ts awaits at its top level" in proc.stderr and "'userOf'" in proc.stderr
    server = start_server(dev_bundle, root)
    assert server.request("GET", "/") == (200, "r@dbr@db")


def test_node_loads_a_group_chunk_with_require_and_falls_back_to_import(tmp_path: Path) -> None:
    """On Node the entry loads a task group's chunk with require() (chunk_banner.py: no module
    loader round trips on the thread pool, a first run's p99 at 10,000 tasks 9.6 -> 3.8 ms), and
    with import() where Node cannot require an ES module (`--no-experimental-require-module`, as
    Node before 20.19 behaves). Both give every task, one with top-level await included."""
    root = write_project(
        tmp_path,
        {
            "nitro.config.toml": "[experimental]\ntasks = true\n",
            "tasks/plain.ts": 'export default defineTask({ run() { return { result: "plain" }; } });\n',
            "tasks/slow.ts": (
                "await new Promise((resolve) => setTimeout(resolve, 20));\n"
                'export default defineTask({ run() { return { result: "slow" }; } });\n'
            ),
        },
    )
    build_project(root)
    for flags in ([], ["--no-experimental-require-module"]):
        for name in ("plain", "slow"):
            proc = run_task_cli([NODE, *flags, *NODE_BUNDLE[1:]], root, "run", name, NODE_DEBUG="module")
            assert proc.returncode == 0, proc.stderr
            assert json.loads(proc.stdout) == {"result": name}
            # Node's CommonJS loader logs each require() it is asked for.
            assert re.search(r"Module\._load REQUEST \./chunks/tasks-0-\w+\.mjs", proc.stderr), proc.stderr
