"""vercel preset: Build Output API v3 files, the built function under real Node, bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import FIXTURES, REPO, build_project, built_fixture, copy_fixture, normalize_nitro_json, run_cli
from test_build_errors import tree_digest

HARNESS = REPO / "tests" / "js" / "vercel_launcher.mjs"
OUTPUT = Path(".vercel") / "output"
FUNC = OUTPUT / "functions" / "__server.func"
SECRET = "correct-horse-battery-staple-42"
BEARER = {"authorization": f"Bearer {SECRET}"}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def cron_path(cron: str, route: str = "/_vercel/cron") -> str:
    """The path the preset gives a schedule (first 12 hex digits of SHA-256 of the config key)."""
    return f"{route}/{hashlib.sha256(cron.encode()).hexdigest()[:12]}"


def snapshot_outputs(project: Path, snapshot_file, *names: str) -> None:
    """Snapshot each generated file (paths relative to the project), one snapshot file each."""
    for rel in names:
        text = normalize_nitro_json((project / rel).read_text(), project)
        assert text == snapshot_file(name=Path(rel).name)


@pytest.fixture(scope="module")
def cron_project(tmp_path_factory) -> Path:
    """fixtures/vercel_cron built once for the runtime tests (they only read the output)."""
    return built_fixture("vercel_cron", tmp_path_factory.mktemp("vercel"), "vercel")


@pytest.fixture(scope="module")
def user_project(tmp_path_factory) -> tuple[Path, str]:
    """fixtures/vercel_user_json built once (tests copy it before changing anything); and stderr."""
    project = copy_fixture("vercel_user_json", tmp_path_factory.mktemp("vercel"))
    return project, build_project(project, "vercel").stderr


@pytest.fixture(scope="module")
def build_output_schemas() -> dict[str, Any]:
    """Build Output API v3 JSON schemas from @vite-plugin-vercel/schemas, with `crons` added.

    The package's config schema is strict and lacks `crons`, which the Build Output API documents
    (https://vercel.com/docs/build-output-api/configuration#crons): we extend it here, in the test.
    """
    proc = subprocess.run(
        ["node", str(REPO / "tests" / "js" / "vercel_schemas.mjs")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    schemas = json.loads(proc.stdout)
    cron = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "pattern": "^/", "maxLength": 512},
            "schedule": {"type": "string", "minLength": 9, "maxLength": 256},
        },
        "required": ["path", "schedule"],
        "additionalProperties": False,
    }
    schemas["config"]["properties"]["crons"] = {"type": "array", "items": cron}
    return schemas


def start_function(start_server, project: Path, **env: str):
    """The built output behind the harness that calls the function as Vercel's Node runtime does."""
    full_env = {"CRON_SECRET": "", **env}
    return start_server(["node", str(HARNESS), str(OUTPUT)], project, env=full_env)


# ---------------------------------------------------------------- generated files


def test_basic_fixture_files(tmp_path: Path, snapshot_file) -> None:
    project = copy_fixture("basic", tmp_path)
    proc = build_project(project, "vercel")
    snapshot_outputs(
        project,
        snapshot_file,
        f"{OUTPUT}/config.json",
        f"{FUNC}/.vc-config.json",
        f"{OUTPUT}/nitro.json",
        ".nitro/build/vercel/entry.mjs",
        ".nitro/build/vercel/registry.mjs",
    )
    config = read_json(project / OUTPUT / "config.json")
    assert config["crons"] == [
        {"path": cron_path("* * * * *"), "schedule": "* * * * *"},
        {"path": cron_path("0 3 * * *"), "schedule": "0 3 * * *"},
    ]
    assert config["routes"][-1] == {"src": "/(.*)", "dest": "/__server"}
    assert (project / FUNC / "index.mjs").is_file()
    assert 'scheduledTasks."* * * * *" fires more than once a day' in proc.stderr
    assert "Hobby plan" in proc.stderr
    assert not (project / ".output").exists(), "the vercel preset writes only .vercel/output"


def test_user_vercel_json_is_merged_and_left_alone(user_project, snapshot_file) -> None:
    project, stderr = user_project
    assert (project / "vercel.json").read_bytes() == (
        FIXTURES / "vercel_user_json" / "vercel.json"
    ).read_bytes()
    snapshot_outputs(project, snapshot_file, f"{OUTPUT}/config.json", f"{FUNC}/.vc-config.json")
    config = read_json(project / OUTPUT / "config.json")
    # ours first; the user's copy of our job and their repeated entry are dropped
    assert config["crons"] == [
        {"path": cron_path("@daily"), "schedule": "0 0 * * *"},
        {"path": "/api/digest", "schedule": "0 12 * * 1"},
    ]
    user_route = {"src": "/old-blog/(.*)", "status": 308, "headers": {"Location": "/blog/$1"}}
    assert config["routes"] == [user_route, {"handle": "filesystem"}, {"src": "/(.*)", "dest": "/__server"}]
    assert config["images"] == {"sizes": [640, 1080], "domains": ["images.example.com"]}
    assert "regions" not in config and "github" not in config and "$schema" not in config
    assert "vercel.json: github, regions not carried into .vercel/output/config.json" in stderr


def test_routes_keep_the_users_handle_phases(tmp_path: Path) -> None:
    project = copy_fixture("vercel_user_json", tmp_path)
    routes = [
        {"src": "/a", "dest": "/b"},
        {"handle": "filesystem"},
        {"src": "/assets/(.*)", "headers": {"x-static": "1"}, "continue": True},
        {"handle": "error"},
        {"src": "/.*", "status": 404, "dest": "/404.html"},
    ]
    (project / "vercel.json").write_text(json.dumps({"routes": routes}))
    build_project(project, "vercel")
    got = read_json(project / OUTPUT / "config.json")["routes"]
    assert got == routes[:3] + [{"src": "/(.*)", "dest": "/__server"}] + routes[3:]


def test_config_files_match_the_build_output_schema(
    cron_project: Path, user_project, build_output_schemas: dict[str, Any]
) -> None:
    for project in (cron_project, user_project[0]):
        jsonschema.validate(read_json(project / OUTPUT / "config.json"), build_output_schemas["config"])
        jsonschema.validate(read_json(project / FUNC / ".vc-config.json"), build_output_schemas["vcConfig"])
    # the schema does reject what Vercel would: an unknown key, a cron path without a slash
    bad = read_json(cron_project / OUTPUT / "config.json")
    bad["crons"][0]["path"] = "_vercel/cron"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, build_output_schemas["config"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": 3, "functions": {}}, build_output_schemas["config"])


def test_same_input_gives_identical_output(tmp_path: Path) -> None:
    first = copy_fixture("vercel_cron", tmp_path / "one")
    second = copy_fixture("vercel_cron", tmp_path / "two")
    build_project(first, "vercel")
    build_project(second, "vercel")
    assert tree_digest(first / OUTPUT) == tree_digest(second / OUTPUT)


# ---------------------------------------------------------------- the function under Node


def test_cron_without_secret_fails_closed(start_server, cron_project: Path) -> None:
    server = start_function(start_server, cron_project)
    status, body = server.request("GET", cron_path("0 3 * * *"), headers=BEARER)
    assert status == 500
    assert "CRON_SECRET is not set" in body["message"] and "add a CRON_SECRET" in body["message"]
    status, _ = server.request("GET", cron_path("30 4 * * 1"))
    assert status == 500
    time.sleep(0.2)
    assert "report:later background work done" not in server.output, "a task ran without a secret"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer wrong"},
        {"authorization": f"Bearer {SECRET}x"},
        {"authorization": f"Bearer {SECRET[:-1]}"},
        {"authorization": f"Basic {SECRET}"},
        {"authorization": SECRET},
    ],
    ids=["missing", "wrong", "longer", "shorter", "basic scheme", "no scheme"],
)
def test_cron_with_wrong_or_missing_bearer_is_401(start_server, cron_project: Path, headers) -> None:
    server = start_function(start_server, cron_project, CRON_SECRET=SECRET)
    status, body = server.request("GET", cron_path("0 3 * * *"), headers=headers)
    assert (status, body["statusCode"]) == (401, 401)
    assert "bearer token" in body["message"]


def test_cron_runs_the_schedules_tasks_in_parallel(start_server, cron_project: Path) -> None:
    server = start_function(start_server, cron_project, CRON_SECRET=SECRET)
    headers = {**BEARER, "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": "0 3 * * *"}
    before = int(time.time() * 1000)
    status, body = server.request("GET", cron_path("0 3 * * *"), headers=headers)
    after = int(time.time() * 1000)
    assert status == 200, body
    assert body["schedule"] == "0 3 * * *" and body["crons"] == ["0 3 * * *"]
    assert before <= body["scheduledTime"] <= after
    daily, parallel = body["tasks"]["report:daily"], body["tasks"]["report:parallel"]
    assert daily == {
        "status": "success",
        "result": {
            "payload": {"scheduledTime": body["scheduledTime"]},
            "hasWaitUntil": True,
            "sawParallel": True,
        },
    }
    assert parallel == {"status": "success", "result": {"scheduledTime": body["scheduledTime"]}}


def test_every_cron_job_in_config_json_reaches_its_schedule(start_server, cron_project: Path) -> None:
    """What Vercel will call (config.json crons) is what the function answers."""
    server = start_function(start_server, cron_project, CRON_SECRET=SECRET)
    expected = {"0 3 * * *": ["0 3 * * *"], "30 4 * * 1": ["30 4 * * 1"], "0 * * * *": ["@hourly"]}
    for job in read_json(cron_project / OUTPUT / "config.json")["crons"]:
        headers = {**BEARER, "x-vercel-cron-schedule": job["schedule"]}
        status, body = server.request("GET", job["path"], headers=headers)
        assert status in (200, 500) and body["crons"] == expected[job["schedule"]], (job, body)


def test_unknown_or_inconsistent_schedule(start_server, cron_project: Path) -> None:
    server = start_function(start_server, cron_project, CRON_SECRET=SECRET)
    status, body = server.request("GET", "/_vercel/cron/0123456789ab", headers=BEARER)
    assert (status, body["message"]) == (404, "Unknown cron schedule path /_vercel/cron/0123456789ab")
    status, _ = server.request("GET", "/_vercel/cron", headers=BEARER)
    assert status == 404
    mismatch = {**BEARER, "x-vercel-cron-schedule": "0 * * * *"}
    status, body = server.request("GET", cron_path("0 3 * * *"), headers=mismatch)
    assert status == 400 and "does not match the schedule" in body["message"]
    # the header alone selects the schedule on the bare route; the nickname is the config key
    status, body = server.request("GET", "/_vercel/cron", headers=mismatch)
    assert status == 200 and body["crons"] == ["@hourly"] and list(body["tasks"]) == ["report:later"]
    status, body = server.request("POST", cron_path("0 3 * * *"), headers=BEARER)
    assert status == 405


def test_failing_task_is_reported_by_name(start_server, cron_project: Path) -> None:
    server = start_function(start_server, cron_project, CRON_SECRET=SECRET)
    status, body = server.request("GET", cron_path("30 4 * * 1"), headers=BEARER)
    assert status == 500
    assert body["statusCode"] == 500 and body["message"] == "Scheduled task failed: report:broken"
    assert body["tasks"]["report:broken"] == {
        "status": "error",
        "message": "the report database is unreachable",
    }
    assert body["tasks"]["report:later"] == {"status": "success", "result": {"queued": True}}
    # the other task's waitUntil work still finished, and the failure is in the function's log
    server.wait_for(f"report:later background work done for {body['scheduledTime']}")
    server.wait_for("[harness] waitUntil: 1 promise(s) settled")
    assert '[nitro] scheduled task "report:broken" failed' in server.output


def test_routes_and_run_task_through_the_same_function(start_server, cron_project: Path) -> None:
    server = start_function(start_server, cron_project, CRON_SECRET=SECRET, NITRO_TASKS_TOKEN="tok")
    assert server.request("GET", "/") == (200, "hello from vercel")
    status, body = server.request("GET", "/api/run?from=api")
    assert status == 200 and body == {"ran": "report:later", "result": {"queued": False}}
    status, body = server.request("GET", "/missing")
    assert status == 404 and body["statusCode"] == 404
    auth = {"authorization": "Bearer tok"}
    status, body = server.request(
        "POST", "/_nitro/tasks/report:later", body={"payload": {"scheduledTime": 7}}, headers=auth
    )
    assert status == 200 and body == {"result": {"queued": True}}
    server.wait_for("report:later background work done for 7")
    status, body = server.request("GET", "/_nitro/tasks", headers=auth)
    assert status == 200 and set(body["tasks"]) == {
        "report:broken",
        "report:daily",
        "report:later",
        "report:parallel",
    }


def test_allow_unauthenticated_cron(tmp_path: Path, start_server) -> None:
    project = copy_fixture("vercel_cron", tmp_path)
    config = project / "nitro.config.toml"
    config.write_text(config.read_text() + "\n[vercel]\nallowUnauthenticatedCron = true\n")
    proc = build_project(project, "vercel")
    assert "vercel.allowUnauthenticatedCron = true: when CRON_SECRET is not set, anyone" in proc.stderr
    open_server = start_function(start_server, project)
    status, body = open_server.request("GET", cron_path("@hourly"))
    assert status == 200 and body["tasks"]["report:later"]["status"] == "success"
    # a configured secret is still required
    locked = start_function(start_server, project, CRON_SECRET=SECRET)
    assert locked.request("GET", cron_path("@hourly"))[0] == 401
    assert locked.request("GET", cron_path("@hourly"), headers=BEARER)[0] == 200


def test_custom_cron_handler_route(tmp_path: Path, start_server) -> None:
    project = copy_fixture("vercel_cron", tmp_path)
    config = project / "nitro.config.toml"
    config.write_text(config.read_text() + '\n[vercel]\ncronHandlerRoute = "/api/cron"\n')
    build_project(project, "vercel")
    paths = [c["path"] for c in read_json(project / OUTPUT / "config.json")["crons"]]
    assert paths == [cron_path(c, "/api/cron") for c in ("0 3 * * *", "30 4 * * 1", "@hourly")]
    server = start_function(start_server, project, CRON_SECRET=SECRET)
    assert server.request("GET", cron_path("@hourly", "/api/cron"), headers=BEARER)[0] == 200
    assert server.request("GET", cron_path("@hourly"), headers=BEARER)[0] == 404  # an ordinary route now


# ---------------------------------------------------------------- bad input

CRON_CONFIG = '[experimental]\ntasks = true\n[scheduledTasks]\n"{cron}" = "report:later"\n'


def fail(project: Path) -> str:
    proc = run_cli("build", "--preset", "vercel", "--dir", str(project))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        (
            "*/10 * * * * *",
            "Vercel Cron Jobs have no seconds field; only a seconds field of 0 can be dropped (got '*/10')",
        ),
        ("0 0 L * *", "Vercel Cron Jobs do not support L or W in day-of-month (got 'L')"),
        ("0 0 15W * *", "Vercel Cron Jobs do not support L or W in day-of-month (got '15W')"),
        ("0 0 * * FRI#2", "Vercel Cron Jobs do not support L or # in day-of-week (got 'FRI#2')"),
        ("0 9 1 * MON", "Vercel Cron Jobs cannot set both day-of-month and day-of-week"),
    ],
    ids=["seconds", "L", "W", "hash", "day-of-month and day-of-week"],
)
def test_cron_vercel_refuses(tmp_path: Path, cron: str, expected: str) -> None:
    project = copy_fixture("vercel_cron", tmp_path)
    (project / "nitro.config.toml").write_text(CRON_CONFIG.format(cron=cron))
    err = fail(project)
    assert f'nitro.config.toml: scheduledTasks."{cron}": {expected}' in err
    assert "https://vercel.com/docs/cron-jobs#cron-expressions" in err


def test_names_nicknames_and_zero_seconds_are_translated(tmp_path: Path) -> None:
    project = copy_fixture("vercel_cron", tmp_path)
    crons = {
        "0 9 * * MON-FRI": "0 9 * * 1-5",
        "0 0 1 JAN *": "0 0 1 1 *",
        "@weekly": "0 0 * * 0",
        "0 30 6 * * 7": "30 6 * * 0",
    }
    lines = "".join(f'"{c}" = "report:later"\n' for c in crons)
    (project / "nitro.config.toml").write_text(f"[experimental]\ntasks = true\n[scheduledTasks]\n{lines}")
    build_project(project, "vercel")
    got = {c["path"]: c["schedule"] for c in read_json(project / OUTPUT / "config.json")["crons"]}
    assert got == {cron_path(c): v for c, v in crons.items()}


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (
            "api/cron",
            "nitro.config.toml: vercel.cronHandlerRoute: must start with a slash (got 'api/cron'); write '/api/cron'",
        ),
        (
            "/api/cron/",
            "nitro.config.toml: vercel.cronHandlerRoute: must be a short URL path such as '/_vercel/cron', without a trailing slash",
        ),
        ("/", "nitro.config.toml: vercel.cronHandlerRoute: must be a short URL path"),
        (
            "/api/run",
            "nitro.config.toml: vercel.cronHandlerRoute: '/api/run' is also the route /api/run (run.ts)",
        ),
    ],
    ids=["no leading slash", "trailing slash", "root", "taken by a route"],
)
def test_bad_cron_handler_route(tmp_path: Path, route: str, expected: str) -> None:
    project = copy_fixture("vercel_cron", tmp_path)
    config = project / "nitro.config.toml"
    config.write_text(config.read_text() + f'\n[vercel]\ncronHandlerRoute = "{route}"\n')
    assert expected in fail(project)


@pytest.mark.parametrize(
    ("vercel_json", "expected"),
    [
        (
            '{\n  "crons": [\n    {"path": "/x", "schedule": "0 0 * * *"},\n  ]\n}\n',
            "vercel.json: invalid JSON at line 4 column 3: Expecting value; fix the file",
        ),
        ('["crons"]', "vercel.json: the top level must be an object of settings"),
        (
            '{"crons": [{"path": "api/x", "schedule": "0 0 * * *"}]}',
            "vercel.json: crons[0].path: must be a URL path starting with '/' (got 'api/x')",
        ),
        (
            '{"crons": [{"path": "/x", "schedule": "0 0 L * *"}]}',
            "vercel.json: crons[0].schedule: Vercel Cron Jobs do not support L or W in day-of-month",
        ),
        (
            '{"crons": [{"path": "/x"}]}',
            "vercel.json: crons[0]: must be an object with exactly the keys path and schedule",
        ),
        ('{"routes": {"src": "/a"}}', "vercel.json: routes: must be an array of route objects"),
    ],
    ids=["invalid json", "not an object", "cron path", "cron schedule", "cron keys", "routes"],
)
def test_bad_user_vercel_json_keeps_previous_output(
    tmp_path: Path, user_project, vercel_json: str, expected: str
) -> None:
    project = tmp_path / "built"
    shutil.copytree(user_project[0], project)  # with the previous build's output
    previous = tree_digest(project / OUTPUT)
    assert previous
    (project / "vercel.json").write_text(vercel_json)
    assert expected in fail(project)
    assert tree_digest(project / OUTPUT) == previous
    assert (project / "vercel.json").read_text() == vercel_json
