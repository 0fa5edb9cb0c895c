"""Minified Node bundles leave out esbuild's --keep-names (its `__name` calls) only where nothing can
tell (compiler/keep_names.py): runtime/stack_maps.mjs names each stack frame's function from the
source map, and no bundled code but our runtime could read a function's or class's name. Under
real Node: the bench's 10-task project ships no keep-names helper and a failing task's stack still
names its .ts file, line and original functions (runtime frames included, with and without
--enable-source-maps); a project reading names, importing an npm package, using an auto-import
that bundles a library, or importing a file the build does not read keeps them and gets its own
names back. The rule's patterns on both sides, without a build."""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path

import nitro_build.templates
import pytest
from conftest import NODE, NODE_BUNDLE, REPO, TASKS_ON, build_project, run_task_cli, write_project
from nitro_build.keep_names import foreign_inputs, npm_backed_words, observes_names
from nitro_build.libs import project_sources

sys.path.insert(0, str(REPO / "bench"))
from bench_build import make_project  # noqa: E402

RUNTIME = Path(nitro_build.templates.__file__).parent / "runtime"
# esbuild's keep-names helper: `var n=(t,e)=>o(t,"name",{value:e,configurable:!0})`.
HELPER = re.compile(r"""["']name["'],\{value:""")
TOKEN = "t0ken-keep-names"
FAILING = (
    "function failDeep(n: number): never {\n"
    '  throw new Error("deep " + n);\n'
    "}\n"
    "const viaArrow = (n: number) => failDeep(n);\n"
    "export default defineTask({ run() {\n"
    "  viaArrow(7);\n"
    "} });\n"
)


def _keeps_names(project: Path) -> bool:
    files = sorted((project / ".output" / "server").rglob("*.mjs"))
    assert files
    return any(HELPER.search(f.read_text()) for f in files)


@pytest.fixture(scope="module")
def bench_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("keep-names") / "bench", 10)
    (root / "tasks" / "fail.ts").write_text(FAILING)
    build_project(root, "node_server")
    return root


def test_bench_project_drops_keep_names(bench_project: Path) -> None:
    assert not _keeps_names(bench_project)
    proc = run_task_cli(NODE_BUNDLE, bench_project, "run", "group3:task3", "--payload", '{"a":1}')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"result": {"n": 3, "payload": {"a": 1}}}


@pytest.mark.parametrize("node_options", ["", "--enable-source-maps"])
def test_failing_task_stack_names_ts_lines_and_original_functions(
    bench_project: Path, start_server, node_options: str
) -> None:
    env = {"NITRO_TASKS_TOKEN": TOKEN, "NODE_OPTIONS": node_options}
    server = start_server(NODE_BUNDLE, bench_project, env=env)
    status, body = server.request("POST", "/_nitro/tasks/fail", {}, {"authorization": f"Bearer {TOKEN}"})
    assert (status, body["message"]) == (500, "deep 7")
    source = bench_project / "tasks" / "fail.ts"
    server.wait_for(f"at failDeep ({source}:2:9)")
    server.wait_for(f"at viaArrow ({source}:4:33)")
    server.wait_for(f"at Object.run ({source}:6:3)")
    # The runtime's own frames name its functions as written, not as minified (`at v (...)`).
    frames = re.findall(r"at (?:async )?(?:new )?(\S+) \(\S+/runtime/([\w-]+\.mjs):\d+:\d+\)", server.output)
    assert frames, server.output
    for name, file in frames:
        short = name.rsplit(".", 1)[-1]
        assert len(short) > 2 and re.search(rf"\b{re.escape(short)}\b", (RUNTIME / file).read_text()), (
            name,
            file,
        )


@pytest.mark.parametrize("preset", ["node_cluster", "node_middleware"])
def test_other_node_servers_drop_keep_names(tmp_path: Path, preset: str) -> None:
    project = write_project(tmp_path / "p", {"nitro.config.toml": TASKS_ON, "tasks/fail.ts": FAILING})
    build_project(project, preset)
    assert not _keeps_names(project)


def test_a_symlinked_tasks_folder_is_read_by_its_target(tmp_path: Path) -> None:
    """esbuild names a linked file by its target; the build read it there: names still go."""
    project = write_project(tmp_path / "p", {"nitro.config.toml": TASKS_ON})
    write_project(tmp_path / "elsewhere", {"fail.ts": FAILING})
    (project / "tasks").symlink_to(tmp_path / "elsewhere")
    build_project(project, "node_server")
    assert not _keeps_names(project)
    proc = run_task_cli(NODE_BUNDLE, project, "run", "fail")
    assert proc.returncode == 1 and "deep 7" in proc.stderr + proc.stdout


NAMES_TASK = (
    "class Foo {}\n"
    "function bar() {}\n"
    "export default defineTask({ run() {\n"
    "  return { result: [new Foo().constructor.name, bar.name] };\n"
    "} });\n"
)
NPM_TASK = (
    'import nameOf from "name-of";\n'
    "function myJob() {}\n"
    "export default defineTask({ run() { return { result: nameOf(myJob) }; } });\n"
)
NPM_PACKAGE = {
    "node_modules/name-of/package.json": '{ "name": "name-of", "main": "index.js" }\n',
    "node_modules/name-of/index.js": "module.exports = (fn) => fn.name;\n",
}
UNREAD_TASK = (
    'import { nameOf } from "{where}";\n'
    "function myJob() {}\n"
    "export default defineTask({ run() { return { result: nameOf(myJob) }; } });\n"
)
NAME_OF = "export const nameOf = (fn) => fn.name;\n"
KEPT = {
    "class-and-name": ({"tasks/names.ts": NAMES_TASK}, ["Foo", "bar"]),
    "npm-package": ({"tasks/names.ts": NPM_TASK, **NPM_PACKAGE}, "myJob"),
    # Files the build does not read (dist/, a folder outside the project): found in the maps.
    "dist-folder": (
        {
            "tasks/names.ts": UNREAD_TASK.replace("{where}", "../dist/name-of.mjs"),
            "dist/name-of.mjs": NAME_OF,
        },
        "myJob",
    ),
    "outside-project": (
        {
            "tasks/names.ts": UNREAD_TASK.replace("{where}", "../../shared/name-of.mjs"),
            "../shared/name-of.mjs": NAME_OF,
        },
        "myJob",
    ),
}


@pytest.mark.parametrize("case", sorted(KEPT))
def test_code_that_may_read_names_keeps_them(tmp_path: Path, case: str) -> None:
    files, expected = KEPT[case]
    project = write_project(tmp_path / "w" / "p", {"nitro.config.toml": TASKS_ON, **files})
    build_project(project, "node_server")
    assert _keeps_names(project)
    proc = run_task_cli(NODE_BUNDLE, project, "run", "names")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"result": expected}


def test_auto_import_bundling_a_library_keeps_names(tmp_path: Path) -> None:
    task = 'export default defineTask({ async run() { return { result: await useStorage().getItem("x") }; } });\n'
    project = write_project(tmp_path / "p", {"nitro.config.toml": TASKS_ON, "tasks/names.ts": task})
    build_project(project, "node_server")
    assert _keeps_names(project)  # unstorage is bundled, and its code is not read
    proc = run_task_cli(NODE_BUNDLE, project, "run", "names")
    assert (proc.returncode, json.loads(proc.stdout)) == (0, {"result": None}), proc.stderr


@pytest.mark.parametrize("preset", ["deno_server", "cloudflare_module", "vercel"])
def test_other_minified_presets_keep_names(tmp_path: Path, preset: str) -> None:
    project = write_project(tmp_path / "p", {"nitro.config.toml": TASKS_ON, "tasks/fail.ts": FAILING})
    build_project(project, preset)
    out = {"vercel": ".vercel/output", "cloudflare_module": ".output"}.get(preset, ".output/server")
    files = [f for f in (project / out).rglob("*.mjs")]
    assert files and any(HELPER.search(f.read_text()) for f in files)


OBSERVING = [
    "fn.name",
    "fn?.name",
    "x. name === 'a'",
    'fn["name"]',
    "fn['name']",
    "fn[`name`]",
    "class Foo {}",
    "obj.constructor === Object",
    "Reflect.ownKeys(o)",
    "Object.getOwnPropertyNames(f)",
    "Object.getOwnPropertyDescriptor(f, 'x')",
    "Object.getOwnPropertyDescriptors(f)",
    "Function.prototype.call",
    "String(f.toString())",
    'import { inspect } from "node:util";',
    'import x from "left-pad";',
    'import { getQuery } from "h3";',
    "import { readBody } from 'nitro/h3';",
    'export * from "#imports";',
    'const m = await import("some-package/sub");',
    'const m = require("lodash");',
    'import { useStorage } from "nitro/storage";',
    # h3 names runtime/h3.mjs does not define itself bundle the library; so do whole-module imports.
    'import { defineEventHandler, getQuery } from "nitro/h3";',
    'import { defineEventHandler,\n  readBody } from "h3";',
    'import * as h3 from "h3";',
    'import h3, { defineEventHandler } from "h3";',
    'export { H3Error } from "h3";',
]
NOT_OBSERVING = [
    "const named = 1; names.push(x); rename(y);",
    "obj.names; obj.nameless; obj.name2;",
    'fn["names"]',
    "classic(); subclass(); myconstructor; reflective;",
    "value.toStr(); toString;",
    'import { readFile } from "node:fs";',
    'import path from "path";',
    'import { join } from "node:path/posix";',
    'import { helper } from "../utils/helper";',
    'import { defineTask } from "nitro/task";',
    'import { defineHandler } from "nitro";',
    "export default defineTask({ run({ payload }) { return { result: payload }; } });",
    # runtime/h3.mjs's own names (no library code) and type-only imports (erased).
    'import { defineEventHandler } from "nitro/h3";',
    'import { eventHandler as on, type H3Event } from "h3";',
    'import type { H3Event, EventHandler } from "h3";',
    'import { type H3Event } from "nitro/h3";',
    'export { defineEventHandler } from "h3";',
]


@pytest.mark.parametrize("source", OBSERVING)
def test_patterns_that_keep_names(source: str) -> None:
    assert observes_names(source.encode())


@pytest.mark.parametrize("source", NOT_OBSERVING)
def test_patterns_that_do_not(source: str) -> None:
    assert not observes_names(source.encode())


def test_auto_imports_that_bundle_a_library() -> None:
    assert npm_backed_words(frozenset({"getQuery"}))
    assert npm_backed_words(frozenset({"useStorage", "x"}))
    assert npm_backed_words(frozenset({"$fetch"}))
    assert not npm_backed_words(frozenset({"defineTask", "runTask", "defineHandler", "payload"}))
    # runtime/h3.mjs defines these itself: no h3 library code comes with them.
    assert not npm_backed_words(frozenset({"defineEventHandler", "eventHandler", "send", "sendError"}))
    assert npm_backed_words(frozenset({"defineEventHandler", "readBody"}))


def test_inputs_the_build_did_not_read(tmp_path: Path) -> None:
    root, runtime = tmp_path / "p", str(tmp_path / "rt")
    generated = str(root / ".nitro" / "build" / "x")
    (root / "tasks" / "deep").mkdir(parents=True)
    (tmp_path / "linked").mkdir()
    (root / "tasks" / "linked").symlink_to(tmp_path / "linked")
    read: set[str] = set()
    assert list(project_sources(root, (), read)) == []  # no files: only the folders matter here
    assert str(tmp_path / "linked") in read
    ours = [
        f"{root}/tasks",
        f"{root}/tasks/deep",
        f"{tmp_path}/linked",
        runtime,
        f"{runtime}/ui",
        generated,
        f"{generated}/lazy",
    ]
    assert not foreign_inputs(ours, generated, runtime, read)
    others = (
        f"{root}/node_modules/x",
        f"{root}/dist",
        f"{root}/.hidden",
        f"{tmp_path}/elsewhere",
        f"{root}/tasks/nope",
    )
    for other in others:
        assert foreign_inputs([*ours, other], generated, runtime, read), other
    # h3's entry module (only imports and re-exports) is exempt; h3's code beside it is not.
    h3 = f"{root}/node_modules/h3/dist"
    assert not foreign_inputs([*ours, f"{h3}/_entries"], generated, runtime, read, (f"{h3}/_entries",))
    assert foreign_inputs([*ours, f"{h3}/_entries", h3], generated, runtime, read, (f"{h3}/_entries",))


ROUTE_TASK = "export default defineTask({ run() { return { result: 1 }; } });\n"
ROUTES = {
    # defineEventHandler is runtime/h3.mjs's own: the bundle lists h3's entry only for its init.
    "own-handler": ("export default defineEventHandler(() => ({ ok: 1 }));\n", False, '{"ok":1}'),
    "own-handler-imported": (
        'import { defineEventHandler } from "nitro/h3";\nexport default defineEventHandler(() => "hi");\n',
        False,
        "hi",
    ),
    # getQuery is h3's: its code is bundled and not read, so names are kept.
    "h3-utility": (
        "export default defineEventHandler((event) => ({ q: getQuery(event).q }));\n",
        True,
        '{"q":"x"}',
    ),
}


@pytest.mark.parametrize("case", sorted(ROUTES))
def test_routes_keep_names_only_with_h3_code(tmp_path: Path, start_server, case: str) -> None:
    source, kept, body = ROUTES[case]
    project = write_project(
        tmp_path / "p", {"nitro.config.toml": TASKS_ON, "tasks/t.ts": ROUTE_TASK, "routes/api/r.ts": source}
    )
    build_project(project, "node_server")
    assert _keeps_names(project) is kept
    server = start_server([NODE, ".output/server/index.mjs"], project)
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/r?q=x", timeout=10) as resp:
        assert resp.read().decode() == body
