"""Editor support: every build writes .nitro/types and .nitro/tsconfig.json, and the TypeScript
pinned in package-lock.json (node_modules/.bin/tsc) type-checks projects that extend it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import (
    BIN,
    FIXTURES,
    TASKS_ON,
    build_project,
    copy_fixture,
    normalize_paths,
    run_cli,
    write_project,
)
from nitro_build.config import CONFIG_NAMES
from nitro_build.provided import AUTO_IMPORTS, MODULES

TSC = BIN / "tsc"
EXTENDS = '{ "extends": "./.nitro/tsconfig.json" }\n'
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.iterdir() if (p / "tsconfig.json").is_file())
EDITOR_FILES = (
    "types/nitro.d.ts",
    "types/nitro-runtime.d.ts",
    "types/nitro-config.d.ts",
    "types/nitro-modules.d.ts",
    "types/nitro-imports.d.ts",
    "tsconfig.json",
    "types/tsconfig.json",
)


def tsc(project: Path, *args: str) -> subprocess.CompletedProcess:
    """`tsc --noEmit -p PROJECT`, as a user runs it."""
    return subprocess.run(
        [str(TSC), "--noEmit", "-p", str(project), "--pretty", "false", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def with_node_modules(project: Path) -> Path:
    """The project as a user has it after `npm install` (@types/node for `process`, `setTimeout`)."""
    (project / "node_modules").symlink_to(BIN.parent, target_is_directory=True)
    return project


def configured_preset(project: Path) -> str:
    text = "".join(p.read_text() for p in project.glob("nitro.config.*") if p.suffix in (".toml", ".json"))
    found = re.search(r'"?preset"?\s*[=:]\s*"([a-z_-]+)"', text)
    return found.group(1) if found else "node_server"


def test_every_fixture_has_a_tsconfig_that_extends_ours() -> None:
    fixtures = sorted(p.name for p in FIXTURES.iterdir() if any((p / n).exists() for n in CONFIG_NAMES))
    assert FIXTURE_NAMES == fixtures
    for name in FIXTURE_NAMES:
        assert json.loads((FIXTURES / name / "tsconfig.json").read_text()) == {
            "extends": "./.nitro/tsconfig.json"
        }


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_type_checks_after_a_build(tmp_path: Path, name: str) -> None:
    project = with_node_modules(copy_fixture(name, tmp_path))
    assert tsc(project).returncode != 0, "before a build the base tsconfig does not exist"
    build_project(project, configured_preset(project))
    for rel in EDITOR_FILES:
        assert (project / ".nitro" / rel).is_file(), rel
    proc = tsc(project)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "extends", [EXTENDS, '{ "extends": "./.nitro/types/tsconfig.json" }\n'], ids=["ours", "nitro2"]
)
def test_a_task_whose_run_returns_a_number_fails_the_type_check(tmp_path: Path, extends: str) -> None:
    """Also through Nitro 2's `.nitro/types/tsconfig.json`, which a Nitro 2 project extends."""
    project = with_node_modules(
        write_project(
            tmp_path / "p",
            {
                "nitro.config.toml": TASKS_ON,
                "tsconfig.json": extends,
                "tasks/good.ts": "export default defineTask({ run: () => ({ result: 42 }) });\n",
                "tasks/bad.ts": "export default defineTask({\n  run() {\n    return 42;\n  },\n});\n",
            },
        )
    )
    build_project(project)
    proc = tsc(project)
    assert proc.returncode == 2
    errors = [line for line in proc.stdout.splitlines() if ": error " in line]
    assert len(errors) == 1, proc.stdout
    assert errors[0].endswith(
        "tasks/bad.ts(2,3): error TS2322: Type '() => number' is not assignable to type "
        "'(event: TaskEvent) => MaybePromise<{ result?: unknown; }>'."
    )
    assert "Type 'number' is not assignable to type 'MaybePromise<{ result?: unknown; }>'." in proc.stdout


def test_every_provided_name_is_declared_where_it_is_provided(tmp_path: Path) -> None:
    """Each specifier of compiler/provided.py exports exactly its names' types; each auto-import
    is a global. Checked without skipLibCheck, so our own .d.ts files are checked too."""
    files = {"nitro.config.toml": TASKS_ON, "tsconfig.json": EXTENDS}
    for i, (spec, module) in enumerate(MODULES.items()):
        uses = "".join(f"console.log(typeof {name});\n" for name in module.exports)
        names = ", ".join(module.exports)
        head = f"import {{ {names} }} from {json.dumps(spec)};\n" if names else ""
        # Our types come with every specifier but h3's own (Nitro's nitro/h3 is h3 itself).
        types = (
            ""
            if module.file == "h3.mjs"
            else (
                f"import type {{ TaskEvent }} from {json.dumps(spec)};\n"
                "export const e: TaskEvent | null = null;\n"
            )
        )
        files[f"utils/m{i}.ts"] = head + types + uses
    uses = "".join(f"console.log(typeof {name});\n" for name in AUTO_IMPORTS)
    files["utils/globals.ts"] = uses + "export {};\n"
    project = with_node_modules(write_project(tmp_path / "p", files))
    build_project(project)
    proc = tsc(project, "--skipLibCheck", "false")
    ours = [line for line in proc.stdout.splitlines() if "node_modules" not in line]
    assert ours == [], proc.stdout


def test_a_name_we_do_not_provide_is_a_type_error_as_it_is_a_build_error(tmp_path: Path) -> None:
    project = with_node_modules(
        write_project(
            tmp_path / "p",
            {
                "nitro.config.toml": TASKS_ON,
                "tsconfig.json": EXTENDS,
                "tasks/a.ts": "export default defineTask({ run: () => ({ result: 1 }) });\n",
            },
        )
    )
    build_project(project)
    (project / "utils").mkdir()
    (project / "utils" / "s.ts").write_text('import { runTask } from "nitro/h3";\nrunTask("a");\n')
    proc = tsc(project)
    assert proc.stdout.strip().endswith(
        "utils/s.ts(1,10): error TS2305: Module '\"nitro/h3\"' has no exported member 'runTask'."
    ), proc.stdout


def test_route_handler_event_and_task_types(tmp_path: Path) -> None:
    """Handlers see the event's shape; runTask's result and the payload are typed."""
    project = with_node_modules(
        write_project(
            tmp_path / "p",
            {
                "nitro.config.toml": TASKS_ON,
                "tsconfig.json": EXTENDS,
                "tasks/sum.ts": (
                    "export default defineTask<number>({\n"
                    "  meta: { description: 'adds' },\n"
                    "  run({ payload, context }) {\n"
                    "    context.waitUntil?.(Promise.resolve());\n"
                    "    return { result: Number(payload.a) + Number(payload.scheduledTime ?? 0) };\n"
                    "  },\n});\n"
                ),
                "api/[id].get.ts": (
                    'import { getQuery } from "nitro/h3";\n'
                    "export default defineHandler(async (event) => {\n"
                    "  const { result } = await runTask<number>('sum', { payload: { a: event.params.id } });\n"
                    "  event.res.headers.set('x-sum', String(result));\n"
                    "  if (!result) throw new HTTPError({ status: 404, message: 'none' });\n"
                    "  const n: number = result;\n"
                    "  return { n, q: getQuery(event), url: event.url.pathname, m: event.req.method };\n"
                    "});\n"
                ),
                "api/wrong.ts": "export default defineHandler((event) => event.params.id.toFixed(2));\n",
            },
        )
    )
    build_project(project)
    proc = tsc(project)
    errors = [line for line in proc.stdout.splitlines() if ": error " in line]
    assert len(errors) == 1 and "api/wrong.ts" in errors[0] and "toFixed" in errors[0], proc.stdout


def test_runtime_apis_are_typed_from_the_config_and_their_libraries(tmp_path: Path) -> None:
    """useRuntimeConfig() has the config's runtimeConfig shape; useStorage is unstorage's Storage,
    nitroApp.hooks hookable's, $fetch ofetch's: each misuse below is one error on its own line."""
    project = with_node_modules(
        write_project(
            tmp_path / "p",
            {
                "nitro.config.json": json.dumps(
                    {
                        "experimental": {"tasks": True},
                        "runtimeConfig": {"apiBase": "https://x", "retry": {"count": 3}},
                    }
                ),
                "tsconfig.json": EXTENDS,
                "plugins/hooks.ts": (
                    "export default defineNitroPlugin((nitroApp) => {\n"
                    "  nitroApp.hooks.hook('task:end', ({ name, duration }) => console.log(name, duration));\n"
                    "  nitroApp.hooks.hook('nope', () => {});\n"  # line 3: unknown hook
                    "});\n"
                ),
                "tasks/apis.ts": (
                    "export default defineTask({\n"
                    "  async run() {\n"
                    "    const count: number = useRuntimeConfig().retry.count;\n"
                    "    const wrong: number = useRuntimeConfig().apiBase;\n"  # line 4
                    "    await useStorage('data').setItem('k', { count });\n"
                    "    const keys: string[] = await useStorage().getKeys();\n"
                    "    const n: number = await useStorage().getKeys();\n"  # line 7
                    "    const body = await $fetch<{ ok: boolean }>('/api/x');\n"
                    "    const ok: string = body.ok;\n"  # line 9
                    "    return { result: { keys, wrong, n, ok } };\n"
                    "  },\n});\n"
                ),
            },
        )
    )
    build_project(project)
    config = (project / ".nitro" / "types" / "nitro-config.d.ts").read_text()
    assert '"retry": {\n      "count": number;\n    };' in config
    proc = tsc(project)
    errors = sorted(re.findall(r"(\w+/\w+\.ts)\((\d+),\d+\): error (TS\d+)", proc.stdout))
    assert errors == [
        ("plugins/hooks.ts", "3", "TS2345"),
        ("tasks/apis.ts", "4", "TS2322"),
        ("tasks/apis.ts", "7", "TS2322"),
        ("tasks/apis.ts", "9", "TS2322"),
    ], proc.stdout


def test_editor_files_snapshot(tmp_path: Path, snapshot_file) -> None:
    project = with_node_modules(copy_fixture("basic", tmp_path))  # `paths` point into it
    build_project(project)
    for rel in EDITOR_FILES:
        text = normalize_paths((project / ".nitro" / rel).read_text(), project)
        assert text == snapshot_file(name=rel.replace("/", "__"))


def test_tsconfig_excludes_every_output_and_includes_an_outside_server_dir(tmp_path: Path) -> None:
    project = with_node_modules(
        write_project(
            tmp_path / "app",
            {
                "nitro.config.toml": 'serverDir = "../server"\n[output]\ndir = "out"\n' + TASKS_ON,
                "tsconfig.json": EXTENDS,
            },
        )
    )
    write_project(tmp_path / "server", {"tasks/t.ts": "export default defineTask({ run: () => ({}) });\n"})
    build_project(project)
    config = json.loads((project / ".nitro" / "tsconfig.json").read_text())
    assert config["include"] == ["../**/*", "../../server/**/*"]
    assert "../out" in config["exclude"] and "../.output" in config["exclude"]
    listed = tsc(project, "--listFilesOnly").stdout.splitlines()
    assert str(tmp_path / "server" / "tasks" / "t.ts") in listed
    assert not [f for f in listed if f.startswith(str(project / "out")) or "/.nitro/build/" in f]


def test_failed_and_dry_run_builds_leave_the_editor_files_alone(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "nitro.config.toml": TASKS_ON,
            "tasks/a.ts": "export default defineTask({ run: () => ({}) });\n",
        },
    )
    assert not (project / ".nitro" / "types").exists()
    assert run_cli("build", "--dir", str(project), "--dry-run").returncode == 0
    assert not (project / ".nitro" / "types").exists()
    build_project(project)
    stamp = {rel: (project / ".nitro" / rel).stat().st_mtime_ns for rel in EDITOR_FILES}
    (project / "tasks" / "b.ts").write_text("export default defineTask({ run: () => ({}) ")  # syntax error
    assert run_cli("build", "--dir", str(project)).returncode == 1
    assert {rel: (project / ".nitro" / rel).stat().st_mtime_ns for rel in EDITOR_FILES} == stamp
    os.remove(project / "tasks" / "b.ts")
    build_project(project)  # unchanged content: files not rewritten (an open editor sees no churn)
    assert {rel: (project / ".nitro" / rel).stat().st_mtime_ns for rel in EDITOR_FILES} == stamp


def test_utils_exports_are_typed_globals_as_they_are_auto_imported(tmp_path: Path) -> None:
    project = with_node_modules(
        write_project(
            tmp_path / "p",
            {
                "nitro.config.toml": TASKS_ON,
                "tsconfig.json": EXTENDS,
                "utils/math.ts": 'export function double(n: number) { return n * 2; }\nexport const label = "x";\n',
                "routes/index.ts": (
                    "export default defineHandler(() => {\n"
                    "  const s: string = double(2);\n"  # line 2: double returns a number
                    "  return { s, label, d: double(3) };\n"
                    "});\n"
                ),
            },
        )
    )
    build_project(project)
    imports = (project / ".nitro" / "types" / "nitro-imports.d.ts").read_text()
    assert '  const double: typeof import("../../utils/math.ts")["double"];' in imports
    proc = tsc(project)
    errors = [line for line in proc.stdout.splitlines() if ": error " in line]
    assert len(errors) == 1 and errors[0].endswith(
        "routes/index.ts(2,9): error TS2322: Type 'number' is not assignable to type 'string'."
    ), proc.stdout
