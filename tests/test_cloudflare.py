"""cloudflare_module and cloudflare_pages: generated files, wrangler itself, and the bundles in workerd.

The translation of each cron expression (200 firings, Cloudflare's weekday numbering) is proven in
test_cron_conformance.py; here the emitted triggers are run: every cron string written to a
wrangler.toml is fed to the built Worker's `scheduled` in real workerd (Miniflare, pinned in
package-lock.json), and wrangler 4.86.0 reads the generated configs (`deploy --dry-run`,
`dev --test-scheduled`, `pages dev`), as a user would from the project root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import (
    BIN,
    NODE,
    REPO,
    copy_fixture,
    free_port,
    last_json_line,
    normalize_nitro_json,
    normalize_paths,
    run_cli,
    write_project,
)
from nitro_build.presets._cloudflare_node import DEFAULT_COMPATIBILITY_DATE
from test_build_errors import tree_digest

DRIVER = REPO / "tests" / "js" / "miniflare_driver.mjs"
WRANGLER = BIN / "wrangler"
SCHEMA = REPO / "node_modules" / "wrangler" / "config-schema.json"
SECRET = "cron-secret-7f3a"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a fixed scheduledTime
# What each trigger of fixtures/cloudflare runs, written out by hand from its nitro.config.toml.
MODULE_TRIGGERS = {
    "0 9 * * MON": ["db:migrate", "report"],
    "0 0 * * *": ["db:migrate", "report"],  # "@daily" and "0 0 0 * * *" share one trigger
    "*/5 * * * *": ["fail", "report"],
    "30 6 * * SUN": ["cleanup"],
}
GREETING = "hello from nitro.config.toml"


def run_build(project: Path, preset: str, *extra: str, **env: Any) -> subprocess.CompletedProcess:
    """`nitro build` through the CLI; CLOUDFLARE_ENV is empty unless given."""
    env = {"CLOUDFLARE_ENV": "", **env}
    return run_cli("build", "--preset", preset, "--dir", str(project), *extra, **env)


def build(project: Path, preset: str, *extra: str, **env: str) -> subprocess.CompletedProcess:
    """Build and expect success."""
    proc = run_build(project, preset, *extra, **env)
    assert proc.returncode == 0, f"build failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def fail(project: Path, preset: str, *extra: str, **env: str) -> str:
    """Build, expect exit code 1 without a traceback; return stderr."""
    proc = run_build(project, preset, *extra, **env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


def toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def run_workers(workers: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the workers in workerd via tests/js/miniflare_driver.mjs; return its {results, logs}."""
    spec = json.dumps({"workers": workers, "actions": actions})
    proc = subprocess.Popen(
        [NODE, str(DRIVER), spec],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    return last_json_line(out)


def worker(name: str, script: Path, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A Miniflare worker with the compatibility settings and vars of a generated wrangler config."""
    return {
        "name": name,
        "scriptPath": str(script),
        "compatibilityDate": config["compatibility_date"],
        "compatibilityFlags": config.get("compatibility_flags", []),
        "bindings": {**config.get("vars", {}), **extra.pop("bindings", {})},
        **extra,
    }


def wrangler_env(tmp_path: Path) -> dict[str, str]:
    """wrangler without a login, telemetry or a prompt; its state and logs under tmp_path."""
    home = tmp_path / "wrangler-home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "CI": "true",
        "WRANGLER_SEND_METRICS": "false",
        "CLOUDFLARE_ENV": "",
        "NO_COLOR": "1",
    }


def wrangler(tmp_path: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(WRANGLER), *args],
        cwd=cwd,
        env=wrangler_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def validate_schema(config: dict[str, Any]) -> None:
    """Validate a wrangler config against the JSON schema shipped in the pinned wrangler package."""
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(config)


# ---------------------------------------------------------------- generated files


@pytest.fixture(scope="module")
def module_build(tmp_path_factory) -> Path:
    """fixtures/cloudflare built once for cloudflare_module (the tests below only read it)."""
    project = copy_fixture("cloudflare", tmp_path_factory.mktemp("module"))
    build(project, "cloudflare_module")
    return project


def test_module_generated_files(module_build: Path, snapshot_file) -> None:
    project = module_build
    files = {
        "module.entry.mjs": project / ".nitro/build/cloudflare_module/entry.mjs",
        "module.registry.mjs": project / ".nitro/build/cloudflare_module/registry.mjs",
        "module.wrangler.toml": project / ".output/server/wrangler.toml",
        "module.deploy-config.json": project / ".wrangler/deploy/config.json",
        "module.nitro.json": project / ".output/nitro.json",
    }
    for name, path in files.items():
        assert normalize_nitro_json(path.read_text(), project) == snapshot_file(name=name), name
    config = toml(files["module.wrangler.toml"])
    assert sorted(config["triggers"]["crons"]) == sorted(MODULE_TRIGGERS)
    assert config["main"] == "index.mjs" and (project / ".output/server/index.mjs").is_file()
    redirect = json.loads(files["module.deploy-config.json"].read_text())
    assert redirect == {"configPath": "../../.output/server/wrangler.toml"}
    validate_schema(config)


def test_user_wrangler_toml_is_the_base(tmp_path: Path, snapshot_file) -> None:
    project = copy_fixture("cloudflare-toml", tmp_path)
    before = (project / "wrangler.toml").read_bytes()
    proc = build(project, "cloudflare_module")
    text = (project / ".output/server/wrangler.toml").read_text()
    assert normalize_paths(text, project) == snapshot_file(name="toml.wrangler.toml")
    assert (project / "wrangler.toml").read_bytes() == before, "the user's wrangler.toml was written"
    for comment in ("# keep this name", "# nightly backup", "# Static files, relative to this file"):
        assert comment in text
    config = toml(project / ".output/server/wrangler.toml")
    # The user's own crons first, then nitro's; "0 9 * * 1" is already there as "0 9 * * MON".
    assert config["triggers"]["crons"] == ["15 3 * * *", "0 9 * * MON", "0 0 1 * *"]
    assert config["vars"] == {"GREETING": "hello from wrangler.toml"} and "env" not in config
    assert config["observability"] == {"enabled": True}  # from cloudflare.wrangler in nitro.config.toml
    assert config["assets"]["directory"] == "../../public"  # still the project's public/ folder
    assert config["compatibility_date"] == "2025-06-01"
    assert config["compatibility_flags"] == ["nodejs_als", "nodejs_compat"]
    assert (
        'warning: wrangler.toml: main = "src/worker.ts" is overridden by the cloudflare_module preset'
    ) in proc.stderr
    assert (
        "wrangler.toml: env.staging: wrangler does not accept environments in a generated config"
    ) in proc.stderr
    assert "CLOUDFLARE_ENV=<name>" in proc.stderr
    validate_schema(config)


def test_cloudflare_env_selects_an_environment(tmp_path: Path, snapshot_file) -> None:
    project = copy_fixture("cloudflare-toml", tmp_path)
    proc = build(project, "cloudflare_module", CLOUDFLARE_ENV="staging")
    text = (project / ".output/server/wrangler.toml").read_text()
    assert normalize_paths(text, project) == snapshot_file(name="toml-staging.wrangler.toml")
    config = tomllib.loads(text)
    # As wrangler reads [env.staging]: its name, vars and triggers replace the top level's.
    assert config["name"] == "acme-cron-staging"
    assert config["vars"] == {"GREETING": "hello from staging"}
    assert config["triggers"]["crons"] == ["0 12 * * *", "0 0 1 * *", "0 9 * * MON"]
    assert "env" not in config and "env.staging" not in proc.stderr
    validate_schema(config)
    other = copy_fixture("cloudflare", project.parent / "no-envs")
    proc = build(other, "cloudflare_module", CLOUDFLARE_ENV="staging")
    assert (
        "CLOUDFLARE_ENV=staging, but nitro.config.toml: cloudflare.wrangler defines no environments; "
        "using its top level"
    ) in proc.stderr
    stderr = fail(project, "cloudflare_module", CLOUDFLARE_ENV="prod")
    assert (
        "CLOUDFLARE_ENV=prod, but wrangler.toml has no [env.prod] section (environments: staging)"
    ) in stderr


def test_user_wrangler_jsonc_is_the_base(tmp_path: Path, snapshot_file) -> None:
    project = copy_fixture("cloudflare-jsonc", tmp_path)
    before = (project / "wrangler.jsonc").read_bytes()
    build(project, "cloudflare_module")
    text = (project / ".output/server/wrangler.toml").read_text()
    assert normalize_paths(text, project) == snapshot_file(name="jsonc.wrangler.toml")
    assert (project / "wrangler.jsonc").read_bytes() == before
    config = tomllib.loads(text)
    assert config["name"] == "acme-jsonc"
    assert config["triggers"]["crons"] == ["*/30 * * * *", "0 */6 * * *", "0 0 * * SUN"]
    assert config["kv_namespaces"] == [{"binding": "CACHE", "id": "0123456789abcdef"}]
    assert config["vars"]["DOCS"] == "https://example.com/a,]//not-a-comment"  # strings untouched
    validate_schema(config)


def test_nitro_config_wrangler_section_merges_over_the_user_file(tmp_path: Path) -> None:
    project = tmp_path / "merge"
    (project / "tasks").mkdir(parents=True)
    (project / "tasks/t.ts").write_text("export default defineTask({ run() { return {} } });\n")
    (project / "wrangler.toml").write_text(
        'name = "merge-me"\nbase_dir = "src"\nworkers_dev = true\n[triggers]\ncrons = ["1 1 * * *"]\n'
    )
    (project / "nitro.config.toml").write_text(
        '[experimental]\ntasks = true\n[scheduledTasks]\n"0 12 * * 1-5" = "t"\n'
        '[cloudflare.wrangler]\nmain = "other.js"\nworkers_dev = false\n'
        '[cloudflare.wrangler.triggers]\ncrons = ["7 7 * * *", "1 1 * * *"]\n'
        '[scheduler.lock]\ndriver = "redis"\nurl = "redis://:hunter2@redis.example:6379/0"\n'
    )
    proc = build(project, "cloudflare_module")
    config = toml(project / ".output/server/wrangler.toml")
    assert config["triggers"]["crons"] == ["1 1 * * *", "7 7 * * *", "0 12 * * MON-FRI"]
    assert config["workers_dev"] is False and "base_dir" not in config and config["main"] == "index.mjs"
    assert (
        'nitro.config.toml: cloudflare.wrangler.main = "other.js" is overridden by the '
        "cloudflare_module preset"
    ) in proc.stderr
    assert "wrangler.toml: base_dir does not apply to the generated Worker and is ignored" in proc.stderr
    assert "scheduler.lock is not used by the cloudflare_module preset" in proc.stderr
    assert "hunter2" not in (project / ".output/server/index.mjs").read_text()
    validate_schema(config)


@pytest.mark.parametrize(
    ("package", "folder", "expected"),
    [
        ('{"name": "@Acme/Billing_Jobs"}', "x", "acme-billing-jobs"),
        (None, "My Project.v2", "my-project-v2"),
        ('{"version": "1.0.0"}', "-" * 3 + "a" * 70, "a" * 63),
    ],
)
def test_worker_name_without_a_user_config(
    tmp_path: Path, package: str | None, folder: str, expected: str
) -> None:
    project = tmp_path / folder
    (project / "tasks").mkdir(parents=True)
    (project / "tasks/t.ts").write_text("export default defineTask({ run() { return {} } });\n")
    config = '[experimental]\ntasks = true\n[scheduledTasks]\n"0 * * * *" = "t"\n'
    (project / "nitro.config.toml").write_text(config)
    if package:
        (project / "package.json").write_text(package)
    build(project, "cloudflare_module")
    assert toml(project / ".output/server/wrangler.toml")["name"] == expected


def test_same_input_gives_byte_identical_output(module_build: Path, tmp_path: Path) -> None:
    other = copy_fixture("cloudflare", tmp_path)
    build(other, "cloudflare_module")
    for folder in (".output", ".wrangler/deploy"):
        assert tree_digest(other / folder) == tree_digest(module_build / folder), folder


# ---------------------------------------------------------------- the Worker in workerd


def test_module_worker_runs_each_trigger_in_workerd(module_build: Path) -> None:
    server = module_build / ".output/server"
    config = toml(server / "wrangler.toml")
    actions: list[dict[str, Any]] = []
    for i, cron in enumerate(config["triggers"]["crons"]):
        actions += [
            {"type": "scheduled", "cron": cron, "scheduledTime": T0 + i * 60_000},
            {"type": "fetch", "url": "http://worker.test/api/ran"},
        ]
    actions += [
        {"type": "scheduled", "cron": "1 2 3 4 5", "scheduledTime": T0},  # a trigger this build does not know
        {"type": "fetch", "url": "http://worker.test/api/ran"},
        {"type": "fetch", "url": "http://worker.test/api/run"},
        {"type": "fetch", "url": "http://worker.test/api/ran"},
        {"type": "waitLog", "contains": '"1 2 3 4 5" has no scheduled tasks'},
    ]
    out = run_workers([worker("module", server / "index.mjs", config)], actions)
    results = out["results"]
    for i, cron in enumerate(config["triggers"]["crons"]):
        scheduled, ran = results[2 * i], json.loads(results[2 * i + 1]["body"])
        assert scheduled["outcome"] == "ok", cron
        expected = [n for n in MODULE_TRIGGERS[cron] if n != "fail"]
        assert sorted(r["name"] for r in ran if r["name"] in expected) == sorted(expected), (cron, ran)
        for record in (r for r in ran if r["name"] != "cleanup:after"):
            assert record == {
                "name": record["name"],
                "payload": {"scheduledTime": T0 + i * 60_000},
                "greeting": GREETING,
                "hasCtx": True,
                "waitUntil": "function",
            }, cron
        if cron == "30 6 * * SUN":  # work handed to context.waitUntil finished within the invocation
            assert [r["name"] for r in ran] == ["cleanup", "cleanup:after"]
    unknown, after_unknown, fetched, after_fetch, logged = results[-5:]
    assert unknown["outcome"] == "ok" and json.loads(after_unknown["body"]) == []
    assert logged == {"found": True}
    assert fetched["status"] == 200 and json.loads(fetched["body"]) == {"result": "migrated"}
    fetched_runs = [(r["name"], r["payload"]) for r in json.loads(after_fetch["body"])]
    assert fetched_runs == [("db:migrate", {"via": "fetch"})]
    assert '[nitro] scheduled task "fail" failed: fail task exploded' in out["logs"]


UTILS_PROJECT = {
    "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"0 9 * * *" = ["hello"]\n',
    "utils/settings.ts": (
        'export const settings = { greeting: "hi" };\n'
        "export const greet = (who: string) => `${settings.greeting} ${who}`;\n"
    ),
    "tasks/hello.ts": 'export default defineTask({ run() { return { result: greet("task") }; } });\n',
    "routes/index.ts": 'export default defineHandler(() => greet("route"));\n',
}


@pytest.mark.parametrize(
    ("preset", "script"),
    [("cloudflare_module", ".output/server/index.mjs"), ("cloudflare_pages", "dist/_worker.js/index.js")],
)
def test_utils_exports_are_auto_imported_in_workerd(tmp_path: Path, preset: str, script: str) -> None:
    """The named exports of utils/ are auto-imported on Workers too (README, as in Nitro): the
    Cloudflare presets bundled without them, and a route or task naming one failed in workerd
    with "greet is not defined"."""
    project = write_project(tmp_path / "p", UTILS_PROJECT)
    build(project, preset)
    config = {"compatibility_date": DEFAULT_COMPATIBILITY_DATE, "compatibility_flags": ["nodejs_compat"]}
    token = {"NITRO_TASKS_TOKEN": "t0ken"}
    actions: list[dict[str, Any]] = [
        {"type": "fetch", "url": "http://worker.test/"},
        {
            "type": "fetch",
            "url": "http://worker.test/_nitro/tasks/hello",
            "headers": {"authorization": "Bearer t0ken"},
        },
    ]
    out = run_workers([worker("w", project / script, config, bindings=token)], actions)
    route, task = out["results"]
    assert (route["status"], route["body"]) == (200, "hi route"), out["logs"]
    assert (task["status"], json.loads(task["body"])) == (200, {"result": "hi task"}), out["logs"]


def test_a_utils_helper_importing_a_module_with_top_level_await_runs_in_workerd(tmp_path: Path) -> None:
    """A Worker is one file: a utils/ helper that imports a module awaiting at its top level
    (lib/db.ts) is left out of the auto-imports (its auto-import would wait on itself and the
    Worker never start); imported by path it works in a route, and the other helpers stay
    auto-imported."""
    project = write_project(
        tmp_path / "p",
        {
            "lib/db.ts": 'export const db = await Promise.resolve({ name: "db" });\n',
            "utils/users.ts": 'import { db } from "../lib/db";\nexport const userOf = (id: string) => `${id}@${db.name}`;\n',
            "utils/text.ts": "export const twice = (s: string) => s + s;\n",
            "routes/index.ts": (
                'import { userOf } from "../utils/users";\nexport default defineHandler(() => twice(userOf("r")));\n'
            ),
        },
    )
    proc = build(project, "cloudflare_module")
    assert "utils/users.ts awaits at its top level (through lib/db.ts" in proc.stderr, proc.stderr
    config = {"compatibility_date": DEFAULT_COMPATIBILITY_DATE, "compatibility_flags": ["nodejs_compat"]}
    script = project / ".output/server/index.mjs"
    out = run_workers([worker("w", script, config)], [{"type": "fetch", "url": "http://worker.test/"}])
    (route,) = out["results"]
    assert (route["status"], route["body"]) == (200, "r@dbr@db"), out["logs"]


def test_wrangler_deploy_dry_run_uses_the_generated_config(tmp_path: Path) -> None:
    project = copy_fixture("cloudflare-toml", tmp_path)
    build(project, "cloudflare_module")
    proc = wrangler(tmp_path, project, "deploy", "--dry-run", "--outdir", str(tmp_path / "upload"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Configuration being used: ".output/server/wrangler.toml"' in proc.stdout
    assert 'Original user\'s configuration: "wrangler.toml"' in proc.stdout
    assert "--dry-run: exiting now." in proc.stdout
    # no_bundle: wrangler uploads our index.mjs byte for byte, with the user's assets and vars.
    assert (tmp_path / "upload/index.mjs").read_bytes() == (project / ".output/server/index.mjs").read_bytes()
    assert "Read 1 file from the assets directory" in proc.stdout
    assert 'env.GREETING ("hello from wrangler.toml")' in proc.stdout


def test_wrangler_dev_test_scheduled_smoke(module_build: Path, tmp_path: Path, start_server) -> None:
    project = copy_built(module_build, tmp_path)  # wrangler dev keeps its state in the project
    port = free_port()
    # no_bundle skips the bundling step that adds /__scheduled; --bundle brings it back for dev only.
    argv = [
        str(WRANGLER),
        "dev",
        "--bundle",
        "--test-scheduled",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--inspector-port",
        str(free_port()),
    ]
    server = start_server(argv, project, env=wrangler_env(tmp_path), ready="Ready on", port=port)
    status, body = server.request("GET", "/__scheduled?cron=0+9+*+*+MON")
    assert (status, body) == (200, "Ran scheduled event")
    status, ran = server.request("GET", "/api/ran")
    assert status == 200 and sorted(r["name"] for r in ran) == ["db:migrate", "report"]
    assert all(r["greeting"] == GREETING and r["hasCtx"] for r in ran)


# ---------------------------------------------------------------- cloudflare_pages


@pytest.fixture(scope="module")
def pages_build(tmp_path_factory) -> Path:
    project = copy_fixture("cloudflare", tmp_path_factory.mktemp("pages"))
    config = project / "nitro.config.toml"
    config.write_text(config.read_text() + "\n[cloudflare]\npagesCronWorker = true\n")
    proc = build(project, "cloudflare_pages")
    assert "cloudflare.wrangler is not used by the cloudflare_pages preset" in proc.stderr
    return project


def test_pages_generated_files(pages_build: Path, snapshot_file) -> None:
    project, dist = pages_build, pages_build / "dist"
    files = {
        "pages.entry.mjs": project / ".nitro/build/cloudflare_pages/entry.mjs",
        "pages.routes.json": dist / "_routes.json",
        "pages.nitro.json": dist / "nitro.json",
        "pages.cron.index.mjs": dist / "_cron/index.mjs",
        "pages.cron.wrangler.toml": dist / "_cron/wrangler.toml",
    }
    for name, path in files.items():
        assert normalize_nitro_json(path.read_text(), project) == snapshot_file(name=name), name
    assert (dist / "_worker.js/index.js").is_file()
    cron_config = toml(dist / "_cron/wrangler.toml")
    assert sorted(cron_config["triggers"]["crons"]) == sorted(MODULE_TRIGGERS)
    validate_schema(cron_config)


def test_pages_without_cron_worker_warns(tmp_path: Path) -> None:
    project = copy_fixture("cloudflare", tmp_path)
    proc = build(project, "cloudflare_pages")
    assert "Cloudflare Pages has no Cron Triggers, so these schedules will not run on Pages" in proc.stderr
    assert "cloudflare.pagesCronWorker = true" in proc.stderr
    assert not (project / "dist/_cron").exists() and (project / "dist/_worker.js/index.js").is_file()


def test_pages_cron_worker_fires_tasks_in_workerd(pages_build: Path) -> None:
    dist = pages_build / "dist"
    cron_config = toml(dist / "_cron/wrangler.toml")
    pages_config = {
        "compatibility_date": cron_config["compatibility_date"],
        "compatibility_flags": ["nodejs_compat"],
        "vars": {"GREETING": GREETING},
    }
    secret = {"NITRO_CRON_SECRET": SECRET}
    workers = [
        # The companion's fetch to NITRO_PAGES_URL is routed to the Pages worker, as the internet would.
        worker("cron", dist / "_cron/index.mjs", cron_config, bindings=secret, outboundService="pages"),
        worker("pages", dist / "_worker.js/index.js", pages_config, bindings=secret),
        worker("pages-nosecret", dist / "_worker.js/index.js", pages_config),
    ]
    url = "http://pages.test/_nitro/cron"
    post = {"type": "fetch", "worker": "pages", "url": url, "method": "POST"}
    actions: list[dict[str, Any]] = []
    for i, cron in enumerate(cron_config["triggers"]["crons"]):
        actions += [
            {"type": "scheduled", "worker": "cron", "cron": cron, "scheduledTime": T0 + i},
            {"type": "fetch", "worker": "pages", "url": "http://pages.test/api/ran"},
        ]
    body = json.dumps({"cron": "0 9 * * MON", "scheduledTime": T0})
    actions += [
        {"type": "scheduled", "worker": "cron", "cron": "1 2 3 4 5", "scheduledTime": T0},
        {**post, "headers": {"authorization": "Bearer wrong"}, "body": body},
        {**post, "body": body},
        {**post, "method": "GET", "headers": {"authorization": f"Bearer {SECRET}"}},
        {**post, "worker": "pages-nosecret", "headers": {"authorization": "Bearer "}, "body": body},
        {**post, "worker": "pages-nosecret", "body": body},
        {"type": "fetch", "worker": "pages", "url": "http://pages.test/api/ran"},
    ]
    out = run_workers(workers, actions)
    results = out["results"]
    for i, cron in enumerate(cron_config["triggers"]["crons"]):
        assert results[2 * i]["outcome"] == "ok", cron
        ran = [r for r in json.loads(results[2 * i + 1]["body"]) if r["name"] != "cleanup:after"]
        assert sorted(r["name"] for r in ran) == sorted(n for n in MODULE_TRIGGERS[cron] if n != "fail"), cron
        for record in ran:
            seen = (record["payload"], record["hasCtx"], record["greeting"])
            assert seen == ({"scheduledTime": T0 + i}, True, GREETING), cron
    unknown, wrong, missing, get, no_secret, no_secret_again, ran_after = results[-7:]
    assert unknown["outcome"] == "ok"  # logged by both sides, not thrown
    assert any('no tasks for cron "1 2 3 4 5"' in line for line in out["logs"])
    assert (wrong["status"], missing["status"], get["status"]) == (401, 401, 405)
    # No secret configured: the endpoint does not exist (fail closed), and the log says why.
    assert no_secret["status"] == no_secret_again["status"] == 404
    # Said once, not per request: the endpoint is public, so a line per request could flood the logs.
    assert "\n".join(out["logs"]).count("NITRO_CRON_SECRET secret is not set") == 1
    # None of the refused requests ran a task. (Pages answers before a task's context.waitUntil work
    # is done, so the background "cleanup:after" record may arrive in any later read.)
    assert [r for r in json.loads(ran_after["body"]) if r["name"] != "cleanup:after"] == []
    assert '[nitro] scheduled task "fail" failed: fail task exploded' in out["logs"]


def test_wrangler_accepts_the_pages_output(pages_build: Path, tmp_path: Path, start_server) -> None:
    # `pages deploy` needs a login; `pages project validate` runs its asset checks and `pages dev`
    # its _routes.json validation and _worker.js directory bundling.
    proc = wrangler(tmp_path, pages_build, "pages", "project", "validate", "dist")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    port = free_port()
    argv = [
        str(WRANGLER),
        "pages",
        "dev",
        "dist",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--inspector-port",
        str(free_port()),
        f"--compatibility-date={DEFAULT_COMPATIBILITY_DATE}",
        "--compatibility-flags=nodejs_compat",
        "--binding",
        f"NITRO_CRON_SECRET={SECRET}",
    ]
    server = start_server(argv, pages_build, env=wrangler_env(tmp_path), ready="Ready on", port=port)
    assert server.request("GET", "/api/run") == (200, {"result": "migrated"})
    status, answer = server.request(
        "POST",
        "/_nitro/cron",
        {"cron": "0 0 * * *", "scheduledTime": T0},
        headers={"authorization": f"Bearer {SECRET}"},
    )
    assert status == 200
    assert sorted(r["name"] for r in answer["results"] if r["status"] == "success") == [
        "db:migrate",
        "report",
    ]
    assert server.request("GET", "/_cron/index.mjs")[0] == 404  # the companion's files are not served
    dry = wrangler(tmp_path, pages_build, "deploy", "--dry-run", "--config", "dist/_cron/wrangler.toml")
    assert dry.returncode == 0 and "--dry-run: exiting now." in dry.stdout, dry.stdout + dry.stderr


def test_pages_build_removes_a_module_deploy_redirect(tmp_path: Path) -> None:
    project = copy_fixture("cloudflare", tmp_path)
    build(project, "cloudflare_module")
    assert (project / ".wrangler/deploy/config.json").is_file()
    build(project, "cloudflare_pages")
    # Left in place, it would make `wrangler pages dev/deploy` read the Worker's config.
    assert not (project / ".wrangler/deploy/config.json").exists()


# ---------------------------------------------------------------- bad input


def copy_built(project: Path, tmp_path: Path) -> Path:
    """A copy of a built project, outputs included."""
    return Path(shutil.copytree(project, tmp_path / project.name))


@pytest.fixture
def prebuilt(module_build: Path, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A project with a finished cloudflare_module build, and the digests of everything in it."""
    project = copy_built(module_build, tmp_path)
    return project, snapshot(project)


def snapshot(project: Path) -> dict[str, Any]:
    """Everything a failed build must leave untouched: outputs, the deploy redirect, user files."""
    return {
        "output": tree_digest(project / ".output"),
        "redirect": tree_digest(project / ".wrangler"),
        "user": {p.name: p.read_text() for p in project.glob("wrangler.*")},
    }


def add_schedule(project: Path, line: str) -> None:
    config = project / "nitro.config.toml"
    config.write_text(config.read_text().replace("[scheduledTasks]\n", f"[scheduledTasks]\n{line}\n"))


def test_seconds_field_is_refused(prebuilt) -> None:
    project, before = prebuilt
    add_schedule(project, '"*/10 * * * * *" = "report"')
    stderr = fail(project, "cloudflare_module")
    assert (
        'nitro.config.toml: scheduledTasks."*/10 * * * * *": the cloudflare_module preset cannot '
        "use this schedule"
    ) in stderr
    assert "only a seconds field of 0 can be dropped" in stderr
    assert snapshot(project) == before


def test_zone_with_daylight_saving_is_refused_on_utc_cron(prebuilt) -> None:
    project, before = prebuilt
    add_schedule(project, '"CRON_TZ=Europe/Paris 0 9 * * *" = "report"')
    stderr = fail(project, "cloudflare_module")
    assert (
        'nitro.config.toml: scheduledTasks."CRON_TZ=Europe/Paris 0 9 * * *": the cloudflare_module '
        "preset cannot fire it in Europe/Paris: time zone Europe/Paris changes its UTC offset"
    ) in stderr
    assert "this platform fires cron only in UTC" in stderr
    assert snapshot(project) == before


def test_unknown_zone_is_refused_with_did_you_mean(prebuilt) -> None:
    project, before = prebuilt
    add_schedule(project, '"CRON_TZ=Europe/Pari 0 9 * * *" = "report"')
    stderr = fail(project, "cloudflare_module")
    assert (
        'nitro.config.toml: scheduledTasks."CRON_TZ=Europe/Pari 0 9 * * *": unknown time zone '
        "'Europe/Pari'; did you mean 'Europe/Paris'?"
    ) in stderr
    assert snapshot(project) == before


def test_fixed_offset_zone_is_deployed_as_its_utc_expression(prebuilt) -> None:
    project, _ = prebuilt
    add_schedule(project, '"CRON_TZ=Asia/Tokyo 0 9 * * 1-5" = "report"')
    proc = run_build(project, "cloudflare_module")
    assert proc.returncode == 0, proc.stderr
    assert '"0 0 * * 1-5" (UTC), which fires at the same instants' in proc.stderr
    assert "0 0 * * MON-FRI" in toml(project / ".output/server/wrangler.toml")["triggers"]["crons"]


def test_unknown_task_in_a_schedule(prebuilt) -> None:
    project, before = prebuilt
    add_schedule(project, '"0 3 * * *" = "no:such:task"')
    stderr = fail(project, "cloudflare_module", "--strict")
    assert """nitro.config.toml: scheduledTasks."0 3 * * *": unknown task 'no:such:task'""" in stderr
    assert snapshot(project) == before
    # Without --strict: a warning, and the schedule that runs nothing gets no Cron Trigger.
    proc = build(project, "cloudflare_module")
    assert "unknown task 'no:such:task' is not scheduled" in proc.stderr
    assert "0 3 * * *" not in toml(project / ".output/server/wrangler.toml")["triggers"]["crons"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("wrangler.toml", 'name = "x"\n[vars\nA = 1\n', "wrangler.toml: invalid TOML:"),
        ("wrangler.toml", 'name = "x"\nname = "y"\n', "wrangler.toml: invalid TOML:"),
        (
            "wrangler.jsonc",
            '{\n  // comment\n  "name": "x"\n  "main": "y"\n}\n',
            "wrangler.jsonc: invalid JSON at line 4 column 3",
        ),
        (
            "wrangler.json",
            '{"name": "x", /* open comment\n}',
            "wrangler.json: line 1: a /* comment is never closed",
        ),
        (
            "wrangler.json",
            '["not", "a", "table"]',
            "wrangler.json: the top level must be an object of settings",
        ),
        (
            "wrangler.toml",
            'name = "x"\n[triggers]\ncrons = "0 * * * *"\n',
            "wrangler.toml: triggers.crons must be an array of strings",
        ),
        ("wrangler.toml", "name = 7\n", "wrangler.toml: name must be a string"),
    ],
)
def test_user_wrangler_file_that_does_not_parse(prebuilt, name: str, text: str, message: str) -> None:
    project, before = prebuilt
    (project / name).write_text(text)
    before["user"] = {name: text}
    stderr = fail(project, "cloudflare_module")
    assert message in stderr
    assert snapshot(project) == before
