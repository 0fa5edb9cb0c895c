"""The config's JSON Schema: printed by `nitro-build schema`, committed in schema/, valid for every
fixture config, and `$schema` accepted in nitro.config.json."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
from conftest import FIXTURES, REPO, build_project, cli_env, run_cli, write_project

COMMITTED = REPO / "schema" / "nitro.config.schema.json"
CONFIGS = sorted([*FIXTURES.glob("*/nitro.config.toml"), *FIXTURES.glob("*/nitro.config.json")])


def _schema() -> dict:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


def test_committed_schema_is_up_to_date() -> None:
    """Fails when the config models change without `python -m nitro_build schema > schema/...`."""
    printed = run_cli("schema")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == COMMITTED.read_text(encoding="utf-8"), (
        "schema/nitro.config.schema.json is out of date: run "
        "`python -m nitro_build schema > schema/nitro.config.schema.json` and commit it"
    )


def test_nitro_build_schema_prints_the_same_schema() -> None:
    code = "from nitro_build.cli import build_main; build_main(prog_name='nitro-build')"
    proc = subprocess.run(
        [sys.executable, "-c", code, "schema"],
        env=cli_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == _schema()


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "node_server" in schema["properties"]["preset"]["enum"]
    assert schema["properties"]["tasks"]["additionalProperties"]["$ref"] == "#/$defs/TaskConfig"
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.parent.name)
def test_every_fixture_config_validates(config: Path) -> None:
    text = config.read_text(encoding="utf-8")
    data = tomllib.loads(text) if config.suffix == ".toml" else json.loads(text)
    jsonschema.Draft202012Validator(_schema()).validate(data)


@pytest.mark.parametrize(
    "data, where",
    [
        ({"bogus": 1}, "bogus"),
        ({"tasks": {"a": {"overlap": "sometimes"}}}, "sometimes"),
        ({"preset": "vercl"}, "vercl"),
        ({"scheduledTasks": {"@daily": 3}}, "3"),
        ({"scheduler": {"lock": {"url": "redis://x"}}}, "driver"),
    ],
)
def test_schema_rejects_what_the_build_rejects(data: dict, where: str) -> None:
    errors = list(jsonschema.Draft202012Validator(_schema()).iter_errors(data))
    messages = " ".join(m.message for e in errors for m in (e, *e.context))  # anyOf branches too
    assert errors and where in messages, messages


def test_dollar_schema_is_accepted_in_nitro_config_json(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "nitro.config.json": json.dumps(
                {
                    "$schema": "./node_modules/nitro-build/schema/nitro.config.schema.json",
                    "experimental": {"tasks": True},
                    "scheduledTasks": {"@daily": "echo"},
                }
            ),
            "tasks/echo.ts": 'export default defineTask({ run: () => ({ result: "ok" }) });\n',
        },
    )
    build_project(project)
    jsonschema.Draft202012Validator(_schema()).validate(
        json.loads((project / "nitro.config.json").read_text())
    )
    wrong = write_project(tmp_path / "w", {"nitro.config.json": '{"$schema": 3}'})
    proc = run_cli("build", "--dir", str(wrong))
    assert proc.returncode == 1
    assert proc.stderr == 'error: nitro.config.json: "$schema": input should be a valid string (got 3)\n'
