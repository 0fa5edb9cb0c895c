"""nitro.config.ts / .mts / .js / .mjs: evaluated at build time by esbuild + Node, validated like
TOML; every bad config is a clear error naming the file that leaves the previous output as it was.
"""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path

import pytest
import test_dev
from conftest import NODE_BUNDLE, build_project, run_cli, run_task_cli, write_project
from test_dev_reload import restarted

dev_runs = test_dev.dev_runs  # the fixture, shared with test_dev

TASK = 'export default defineTask({ meta: { description: "From the module" }, run: () => ({ result: "ok" }) });\n'

# The seed's (shared/spec/nitro-tasks.md) nitro.config.ts blocks, verbatim.
SEED_OPT_IN = """import { defineConfig } from "nitro";

export default defineConfig({
  experimental: {
    tasks: true
  }
})
"""
SEED_MIGRATE = """export default defineTask({
  meta: {
    name: "db:migrate",
    description: "Run database migrations",
  },
  run({ payload, context }) {
    console.log("Running DB migration task...");
    return { result: "Success" };
  },
});
"""
SEED_CONFIG_TASKS = """import { defineConfig } from "nitro";

export default defineConfig({
  experimental: {
    tasks: true
  },
  tasks: {
    "db:migrate": {
      handler: "./tasks/custom-migrate.ts",
      description: "Run database migrations"
    }
  }
})
"""
SEED_SCHEDULED = """import { defineConfig } from "nitro";

export default defineConfig({
  scheduledTasks: {
    // Run `cms:update` task every minute
    '* * * * *': ['cms:update'],
    // Run a single task (string shorthand)
    '0 * * * *': 'db:cleanup'
  }
})
"""


def listed(project: Path) -> dict:
    return json.loads(run_task_cli(NODE_BUNDLE, project, "list").stdout)


def ran(project: Path, name: str) -> dict:
    proc = run_task_cli(NODE_BUNDLE, project, "run", name)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_seed_opt_in_block_builds_and_runs_the_seed_task(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.ts": SEED_OPT_IN, "tasks/db/migrate.ts": SEED_MIGRATE})
    build_project(project)
    assert listed(project)["tasks"] == {"db:migrate": {"description": "Run database migrations"}}
    assert ran(project, "db:migrate") == {"result": "Success"}


def test_seed_config_tasks_block_makes_the_config_handler_win(tmp_path: Path) -> None:
    custom = 'export default defineTask({ run: () => ({ result: "custom" }) });\n'
    project = write_project(
        tmp_path,
        {
            "nitro.config.ts": SEED_CONFIG_TASKS,
            "tasks/db/migrate.ts": SEED_MIGRATE,
            "tasks/custom-migrate.ts": custom,
        },
    )
    proc = build_project(project, "node_server", "--json")
    db = next(t for t in json.loads(proc.stdout)["tasks"] if t["name"] == "db:migrate")
    assert (db["handler"], db["source"]) == ("tasks/custom-migrate.ts", "config")
    assert ran(project, "db:migrate") == {"result": "custom"}
    assert listed(project)["tasks"]["db:migrate"] == {"description": "Run database migrations"}


def test_seed_scheduled_block_without_the_opt_in_says_tasks_are_off(tmp_path: Path) -> None:
    # As the seed says under "Opt-in": without experimental.tasks nothing is compiled (Nitro too).
    project = write_project(tmp_path, {"nitro.config.ts": SEED_SCHEDULED})
    proc = build_project(project)
    assert "experimental.tasks is not true" in proc.stderr and "nitro.config.ts" in proc.stderr


def test_seed_scheduled_block_with_the_opt_in_schedules_both_forms(tmp_path: Path) -> None:
    config = SEED_SCHEDULED.replace("defineConfig({\n", "defineConfig({\n  experimental: { tasks: true },\n")
    project = write_project(
        tmp_path, {"nitro.config.ts": config, "tasks/cms/update.ts": TASK, "tasks/db/cleanup.ts": TASK}
    )
    build_project(project)
    assert listed(project)["scheduledTasks"] == [
        {"cron": "* * * * *", "tasks": ["cms:update"]},
        {"cron": "0 * * * *", "tasks": ["db:cleanup"]},
    ]


@pytest.mark.parametrize(
    "name, head",
    [
        ("nitro.config.ts", 'import { defineConfig } from "nitro";\n'),
        ("nitro.config.mts", 'import { defineConfig } from "nitro/config";\n'),
        ("nitro.config.js", 'import { defineNitroConfig as defineConfig } from "nitropack";\n'),
        ("nitro.config.mjs", 'import { defineNitroConfig as defineConfig } from "nitropack/config";\n'),
        ("nitro.config.ts", ""),  # used without an import
    ],
)
def test_define_config_is_the_identity_from_every_source(tmp_path: Path, name: str, head: str) -> None:
    config = head + "export default defineConfig({ experimental: { tasks: true } });\n"
    project = write_project(tmp_path, {name: config, "tasks/a.ts": TASK})
    build_project(project)
    assert ran(project, "a") == {"result": "ok"}


def test_config_reads_builtins_npm_packages_local_modules_and_env(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {
            "node_modules/cfg-helper/package.json": '{"name": "cfg-helper", "type": "module", "exports": "./i.js"}',
            "node_modules/cfg-helper/i.js": 'export const cron = "0 3 * * *";\n',
            "config/names.ts": 'export const names: string[] = ["a"];\n',
            "nitro.config.ts": (
                'import { join } from "node:path";\nimport { cron } from "cfg-helper";\n'
                'import { names } from "./config/names";\n'
                "export default async () => defineNitroConfig({\n"
                "  experimental: { tasks: true },\n  scheduledTasks: { [cron]: names },\n"
                '  output: { dir: join(".out", process.env.OUT_NAME ?? "none") },\n'
                '  vercel: { cronHandlerRoute: () => "dropped, as JSON drops functions" },\n'
                "});\n"
            ),
            "tasks/a.ts": TASK,
        },
    )
    proc = run_cli("build", "--dir", str(project), "--json", OUT_NAME="env")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schedules"][0]["cron"] == "0 3 * * *"
    assert (project / ".out" / "env" / "server" / "index.mjs").is_file()


def output_digest(project: Path) -> dict[str, str]:
    """Every file under .output, hashed: the previous build must survive a failed one."""
    files = sorted(p for p in (project / ".output").rglob("*") if p.is_file())
    return {p.relative_to(project).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


GOOD = "export default defineConfig({ experimental: { tasks: true } });\n"


@pytest.mark.parametrize(
    "config, message",
    [
        (
            'throw new Error("no config today");\n',
            "nitro.config.ts: evaluating the config threw Error: no config today (nitro.config.ts:1:7)",
        ),
        (
            "while (true) {}\nexport default {};\n",
            "nitro.config.ts: evaluating the config did not finish within 1 s",
        ),
        (
            'export default "settings";\n',
            "nitro.config.ts: the default export must be an object of settings (got string)",
        ),
        (
            "export default [1];\n",
            "nitro.config.ts: the default export must be an object of settings (got an array)",
        ),
        (
            "export default () => null;\n",
            "nitro.config.ts: the default export must be an object of settings (got null)",
        ),
        ("export const experimental = { tasks: true };\n", "nitro.config.ts: has no default export"),
        (
            'import x from "not-installed-anywhere";\nexport default { x };\n',
            "nitro.config.ts: evaluating the config failed: it imports 'not-installed-anywhere', which Node cannot "
            "find from the project folder; install it (npm install not-installed-anywhere) or remove the import",
        ),
        (
            "export default { serverDri: 'src' };\n",
            "nitro.config.ts: serverDri: unknown key; did you mean 'serverDir'?",
        ),
        (
            "export default { routeRule: {} };\n",
            "nitro.config.ts: routeRule: unknown key; did you mean 'routeRules'?",
        ),
        (
            "export default { experimental: { tasks: 'yes' } };\n",
            "nitro.config.ts: experimental.tasks: input should be a valid boolean",
        ),
        ("export default { big: 1n };\n", "nitro.config.ts: the config cannot be turned into JSON"),
        ("export default { experimental: { tasks: true }\n", "nitro.config.ts: cannot be bundled"),
        (
            'export default { compatibilityDate: "soon" };\n',
            "nitro.config.ts: compatibilityDate: 'soon' is not a date; write it as YYYY-MM-DD",
        ),
        (
            'import { createNitro } from "nitro";\nexport default { a: createNitro };\n',
            "nitro.config.ts:1: 'createNitro' is not available to a config nitro-build evaluates: it provides "
            "defineConfig and defineNitroConfig",
        ),
    ],
)
def test_bad_config_is_a_clear_error_and_keeps_the_previous_output(
    tmp_path: Path, config: str, message: str
) -> None:
    project = write_project(tmp_path, {"nitro.config.ts": GOOD, "tasks/a.ts": TASK})
    build_project(project)
    before = output_digest(project)
    (project / "nitro.config.ts").write_text(config)
    proc = run_cli("build", "--dir", str(project), NITRO_CONFIG_TIMEOUT="1")
    assert proc.returncode == 1
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert output_digest(project) == before


def test_two_config_files_is_an_error_naming_both(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.ts": GOOD, "tasks/a.ts": TASK})
    build_project(project)
    before = output_digest(project)
    write_project(project, {"nitro.config.toml": "[experimental]\ntasks = true\n"})
    proc = run_cli("build", "--dir", str(project))
    assert proc.returncode == 1
    assert "nitro.config.toml and nitro.config.ts are both present" in proc.stderr
    assert output_digest(project) == before


def test_what_the_config_prints_is_shown(tmp_path: Path) -> None:
    config = 'console.log("configuring");\n' + GOOD
    project = write_project(tmp_path, {"nitro.config.ts": config, "tasks/a.ts": TASK})
    assert "configuring" in build_project(project).stderr


def test_nitro_dev_rebuilds_when_the_config_or_a_module_it_imports_changes(tmp_path: Path, dev_runs) -> None:
    project = write_project(
        tmp_path / "project",
        {
            "config/describe.ts": 'export const description = "first";\n',
            "nitro.config.ts": 'import { description } from "./config/describe";\n'
            "export default defineConfig({ experimental: { tasks: true },"
            " tasks: { extra: { description } } });\n",
            "tasks/a.ts": TASK,
        },
    )
    run = dev_runs(project)

    def description() -> str:
        return run.request("GET", "/_nitro/tasks")[1]["tasks"]["extra"]["description"]

    assert description() == "first"
    ready = run.ready_count()
    write_project(project, {"config/describe.ts": 'export const description = "second";\n'})
    restarted(run, ready)
    assert "config/describe.ts changed" in run.output
    assert description() == "second"
    ready = run.ready_count()
    text = (project / "nitro.config.ts").read_text().replace("description } }", 'description: "third" } }')
    write_project(project, {"nitro.config.ts": text})
    restarted(run, ready)
    assert description() == "third"
    run.stop(signal.SIGTERM)


def test_a_reused_result_follows_the_code_and_the_environment(tmp_path: Path) -> None:
    # A plain config's result is reused between builds (config_cache.py): never a stale one.
    config = (
        "export default defineConfig({ experimental: { tasks: true },"
        ' output: { dir: process.env.OUT_DIR ?? ".first" } });\n'
    )
    project = write_project(tmp_path, {"nitro.config.ts": config, "tasks/a.ts": TASK})
    for out, env in ((".first", {}), (".second", {"OUT_DIR": ".second"}), (".first", {})):
        proc = run_cli("build", "--dir", str(project), "--json", **env)
        assert json.loads(proc.stdout)["output"] == out, proc.stderr
    write_project(project, {"nitro.config.ts": config.replace(".first", ".third")})
    assert json.loads(run_cli("build", "--dir", str(project), "--json").stdout)["output"] == ".third"
    # Printing, the clock: Node runs it on every build.
    write_project(project, {"nitro.config.ts": 'console.log("each time");\n' + GOOD})
    for _ in range(2):
        assert "each time" in build_project(project).stderr


def test_other_nitro_subpaths_and_tsconfig_paths_resolve_from_the_project(tmp_path: Path) -> None:
    # Only defineConfig's specifiers are ours; `nitropack/kit` is the project's installed package.
    project = write_project(
        tmp_path,
        {
            "node_modules/nitropack/package.json": '{"name": "nitropack", "type": "module",'
            ' "exports": {"./kit": "./kit.js"}}',
            "node_modules/nitropack/kit.js": 'export const presetName = "bun";\n',
            "tsconfig.json": '{\n  // comments are allowed here\n  "compilerOptions": { "paths": { "~/*": ["./src/*"] } }\n}\n',
            "src/tasks.ts": "export const enabled = true;\n",
            "nitro.config.ts": 'import { defineNitroConfig } from "nitropack/config";\n'
            'import { presetName } from "nitropack/kit";\nimport { enabled } from "~/tasks";\n'
            "export default defineNitroConfig({ preset: presetName, experimental: { tasks: enabled } });\n",
            "tasks/a.ts": TASK,
        },
    )
    proc = run_cli("build", "--dir", str(project), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["preset"], [t["name"] for t in data["tasks"]]) == ("bun", ["a"])
