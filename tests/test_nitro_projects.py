"""Nitro projects as people bring them: Nitro 2 / Nuxt layouts (server/), nitropack imports and
h3 v1 handlers, Nitro's module specifiers, `import.meta` flags, and honest build errors for
anything the bundle would not provide (instead of a green build answering 500 at run time).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import NODE_BUNDLE, build_project, run_cli, run_task_cli, write_project

TASKS_ON = "export default defineConfig({ experimental: { tasks: true } });\n"
TASK = 'export default defineTask({ run: () => ({ result: "ok" }) });\n'


def output_digest(project: Path) -> dict[str, str]:
    files = sorted(p for p in (project / ".output").rglob("*") if p.is_file())
    return {p.relative_to(project).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def run_task(project: Path, name: str, *args: str) -> dict:
    proc = run_task_cli(NODE_BUNDLE, project, "run", name, *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---- layouts -------------------------------------------------------------------------------


def test_server_folder_is_scanned_when_the_root_has_no_server_files_and_the_summary_says_so(
    tmp_path: Path,
) -> None:
    project = write_project(tmp_path, {"nitro.config.ts": TASKS_ON, "server/tasks/db/migrate.ts": TASK})
    proc = build_project(project)
    assert "Layout: scanned server/ (Nitro 2 / Nuxt layout" in proc.stdout
    assert "server/tasks/db/migrate.ts [scan]" in proc.stdout
    data = json.loads(run_cli("build", "--dir", str(project), "--json").stdout)
    assert data["layout"].startswith("scanned server/")
    assert run_task(project, "db:migrate") == {"result": "ok"}


def test_root_server_files_win_and_an_explicit_server_dir_has_no_fallback(tmp_path: Path) -> None:
    project = write_project(
        tmp_path, {"nitro.config.ts": TASKS_ON, "tasks/a.ts": TASK, "server/tasks/b.ts": TASK}
    )
    proc = build_project(project, "node_server", "--json")
    assert [t["name"] for t in json.loads(proc.stdout)["tasks"]] == ["a"]
    config = "export default defineConfig({ serverDir: false, experimental: { tasks: true } });\n"
    project = write_project(tmp_path / "explicit", {"nitro.config.ts": config, "server/tasks/b.ts": TASK})
    assert json.loads(build_project(project, "node_server", "--json").stdout)["tasks"] == []


@pytest.mark.parametrize("key", ["serverDir: true", 'serverDir: "server"', 'srcDir: "server"'])
def test_server_dir_true_and_nitro2_src_dir_name_the_server_folder(tmp_path: Path, key: str) -> None:
    config = f"export default defineConfig({{ {key}, experimental: {{ tasks: true }} }});\n"
    project = write_project(tmp_path, {"nitro.config.ts": config, "server/tasks/b.ts": TASK})
    proc = build_project(project)
    assert "Layout:" not in proc.stdout and "server/tasks/b.ts [scan]" in proc.stdout


def test_middleware_folder_is_named_in_a_warning(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {
            "nitro.config.ts": TASKS_ON,
            "server/tasks/a.ts": TASK,
            "server/middleware/auth.ts": "export default defineEventHandler(() => {});\n",
        },
    )
    proc = build_project(project)
    assert (
        "warning: server/middleware/: not supported by nitro-build, so its files are not built" in proc.stderr
    )
    assert run_cli("build", "--dir", str(project), "--strict").returncode == 1


# ---- a Nitro 2 project -----------------------------------------------------------------------

NITRO2 = {
    "nitro.config.ts": 'import { defineNitroConfig } from "nitropack/config";\n\n'
    "export default defineNitroConfig({\n"
    '  compatibilityDate: "2025-01-15",\n  experimental: { tasks: true },\n'
    '  scheduledTasks: { "0 3 * * *": ["db:migrate"] },\n'
    '  routeRules: { "/api/**": { cors: true } },\n});\n',
    "server/tasks/db/migrate.ts": 'import { defineTask } from "nitropack/runtime";\n\n'
    "export default defineTask({\n"
    '  meta: { name: "db:migrate", description: "Run database migrations" },\n'
    '  run({ payload }) { return { result: "Success", payload }; },\n});\n',
    "server/api/hello.ts": "export default defineEventHandler((event) => {\n"
    "  const query = getQuery(event);\n"
    "  return { hello: greet(query.name) };\n});\n",
    # Nitro auto-imports the exports of utils/ (here without an import in api/hello.ts).
    "server/utils/greet.ts": "export function greet(name?: string) { return name ?? 'world'; }\n",
    "server/api/users/[id].get.ts": 'import { defineEventHandler, getRouterParam } from "h3";\n\n'
    "export default defineEventHandler((event) => ({ id: getRouterParam(event, 'id') }));\n",
    "server/api/migrate.post.ts": 'import { eventHandler, readBody } from "#imports";\n\n'
    "export default eventHandler(async (event) => {\n"
    "  const body = await readBody(event);\n"
    '  return await runTask("db:migrate", { payload: body });\n});\n',
}


def test_nitro2_project_builds_and_runs(tmp_path: Path, start_server) -> None:
    project = write_project(tmp_path, NITRO2)
    proc = build_project(project)
    assert "Layout: scanned server/" in proc.stdout
    assert "not used by nitro-build: routeRules" in proc.stderr
    server = start_server(["node", ".output/server/index.mjs"], project)
    assert server.request("GET", "/api/hello?name=nitro") == (200, {"hello": "nitro"})
    assert server.request("GET", "/api/users/42") == (200, {"id": "42"})
    assert server.request("POST", "/api/migrate", body={"dry": True}) == (
        200,
        {"result": "Success", "payload": {"dry": True}},
    )
    assert run_task(project, "db:migrate") == {"result": "Success", "payload": {}}


def test_an_auto_import_named_only_after_a_spread_is_provided(tmp_path: Path, start_server) -> None:
    """`{ ...useRuntimeConfig() }` and `[...helpers()]`: the words the build looks for to decide
    which auto-imports to inject skipped a name right after `...` (read as `a.b`'s property), so
    a file naming one only there answered 500 with "useRuntimeConfig is not defined"."""
    project = write_project(
        tmp_path,
        {
            "nitro.config.json": '{"runtimeConfig": {"region": "eu"}}',
            "utils/helpers.ts": "export const helpers = () => [1, 2];\n",
            "routes/index.ts": (
                "export default defineHandler(() => ({ ...useRuntimeConfig(), list: [...helpers()] }));\n"
            ),
        },
    )
    build_project(project)
    server = start_server(["node", ".output/server/index.mjs"], project)
    status, body = server.request("GET", "/")
    assert (status, body["region"], body["list"]) == (200, "eu", [1, 2]), body


def test_nitro2_compatibility_date_becomes_the_workers_compatibility_date(tmp_path: Path) -> None:
    project = write_project(tmp_path, NITRO2)
    build_project(project, "cloudflare_module")
    assert 'compatibility_date = "2025-01-15"' in (project / ".output/server/wrangler.toml").read_text()


# ---- what the bundle does not provide: build errors, never a 500 at run time ---------------


@pytest.mark.parametrize(
    "file, source, message",
    [
        (
            "tasks/db.ts",
            'import { useDatabase } from "nitro/database";\nexport default defineTask({ run: useDatabase });\n',
            "tasks/db.ts:1: 'nitro/database' is not provided by nitro-build. Available modules: nitro, nitro/task",
        ),
        (
            "tasks/db.ts",
            "export default defineTask({\n  run() { return { result: useDatabase() }; },\n});\n",
            "tasks/db.ts:2: 'useDatabase' is used without an import, but nitro-build does not provide it",
        ),
        (
            "api/cached.ts",
            "export default defineCachedEventHandler(() => 1);\n",
            "api/cached.ts:1: 'defineCachedEventHandler' is used without an import, but nitro-build does not provide it",
        ),
        (
            "tasks/db.ts",
            'import { useDatabase } from "nitro";\nexport default defineTask({ run: () => useDatabase() });\n',
            "tasks/db.ts:1: 'useDatabase' is not provided by nitro-build's 'nitro'. It exports: ",
        ),
        (
            "tasks/pad.ts",
            'import pad from "left-pad-not-installed";\nexport default defineTask({ run: () => pad });\n',
            'Could not resolve "left-pad-not-installed"',
        ),
    ],
)
def test_what_the_bundle_does_not_provide_is_a_build_error_naming_file_line_and_name(
    tmp_path: Path,
    file: str,
    source: str,
    message: str,
) -> None:
    project = write_project(tmp_path, {"nitro.config.ts": TASKS_ON, "tasks/a.ts": TASK})
    build_project(project)
    before = output_digest(project)
    write_project(project, {file: source})
    proc = run_cli("build", "--dir", str(project))
    assert proc.returncode == 1
    assert message in proc.stderr, proc.stderr
    # esbuild's advice about its own flags does not apply to someone running nitro-build.
    assert "as external" not in proc.stderr and "alias feature" not in proc.stderr
    assert output_digest(project) == before


def test_nitro_module_specifiers_resolve_to_what_we_provide(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {
            "nitro.config.ts": TASKS_ON,
            "tasks/mods.ts": 'import { defineTask as a } from "nitro";\nimport { runTask } from "nitro/task";\n'
            'import { getQuery } from "nitro/h3";\nimport { useRuntimeConfig } from "nitro/runtime-config";\n'
            'import { useStorage } from "nitro/storage";\nimport { useNitroApp } from "nitro/app";\n'
            'import type { Task } from "nitro/types";\n'
            'import { defineEventHandler } from "nitropack/runtime";\n'
            'import { useStorage as u2 } from "#imports";\nimport { H3 } from "h3";\n'
            'import { useRuntimeConfig as c2 } from "#internal/nitro";\n'
            "export default a({ run: () => ({ result: [runTask, getQuery, useRuntimeConfig, useStorage,"
            " useNitroApp, defineEventHandler, u2, H3, c2].map((f) => typeof f) }) });\n",
        },
    )
    build_project(project)
    assert run_task(project, "mods") == {"result": ["function"] * 9}


# ---- Nitro's runtime semantics -----------------------------------------------------------------


def test_import_meta_flags_are_nitros(tmp_path: Path) -> None:
    task = (
        "export default defineTask({ run: () => ({ result: [import.meta._tasks, import.meta.dev,"
        " import.meta.preset, import.meta.server, import.meta.client] }) });\n"
    )
    project = write_project(tmp_path, {"nitro.config.ts": TASKS_ON, "tasks/meta.ts": task})
    build_project(project)
    assert run_task(project, "meta") == {"result": [True, False, "node-server", True, False]}
    build_project(project, "node_cluster")
    assert run_task(project, "meta")["result"][2] == "node-cluster"


def test_listing_reads_a_computed_module_description_over_the_configs(tmp_path: Path) -> None:
    config = (
        "export default defineConfig({ experimental: { tasks: true },"
        ' tasks: { computed: { description: "config" }, plain: { description: "config" } } });\n'
    )
    project = write_project(
        tmp_path,
        {
            "nitro.config.ts": config,
            "tasks/computed.ts": 'const what = "module";\n'
            "export default defineTask({ meta: { description: `from ${what}` }, run: () => ({}) });\n",
            "tasks/plain.ts": TASK,
        },
    )
    build_project(project)
    tasks = json.loads(run_task_cli(NODE_BUNDLE, project, "list").stdout)["tasks"]
    assert tasks == {"computed": {"description": "from module"}, "plain": {"description": "config"}}


def test_vercel_config_crons_are_added_as_nitro_does_and_checked(tmp_path: Path) -> None:
    config = (
        'export default defineConfig({ experimental: { tasks: true }, scheduledTasks: { "0 3 * * *": "a" },\n'
        '  vercel: { config: { crons: [{ path: "/api/cleanup", schedule: "0 5 * * 1" }] } } });\n'
    )
    project = write_project(tmp_path, {"nitro.config.ts": config, "tasks/a.ts": TASK})
    build_project(project, "vercel")
    crons = json.loads((project / ".vercel/output/config.json").read_text())["crons"]
    assert [c["schedule"] for c in crons] == ["0 3 * * *", "0 5 * * 1"]
    assert crons[1]["path"] == "/api/cleanup"
    write_project(project, {"nitro.config.ts": config.replace("0 5 * * 1", "0 5 L * *")})
    proc = run_cli("build", "--dir", str(project), "--preset", "vercel")
    assert proc.returncode == 1
    assert (
        "nitro.config.ts: vercel.config.crons[0].schedule: Vercel Cron Jobs do not support L" in proc.stderr
    )
