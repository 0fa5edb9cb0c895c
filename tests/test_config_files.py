"""Reading nitro.config.* and wrangler config files: encodings, syntax, keys, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import (
    NODE_BUNDLE,
    TASK,
    TASKS_ON,
    build_project,
    run_cli,
    run_task_cli,
    write_project,
)
from test_build_errors import fail


@pytest.mark.parametrize(
    "name, text",
    [
        ("nitro.config.json", '{"experimental": {"tasks": true}, "scheduledTasks": {"0 3 * * *": "a"}}'),
        ("nitro.config.toml", TASKS_ON + '[scheduledTasks]\n"0 3 * * *" = "a"\n'),
    ],
)
def test_config_saved_with_a_byte_order_mark_is_read(tmp_path: Path, name: str, text: str) -> None:
    project = tmp_path / "p"
    write_project(project, {"tasks/a.ts": TASK})
    (project / name).write_bytes("\ufeff".encode() + text.encode())
    build_project(project)
    listed = json.loads(run_task_cli(NODE_BUNDLE, project, "list").stdout)
    assert listed["scheduledTasks"] == [{"cron": "0 3 * * *", "tasks": ["a"]}]


CONFIG_ERRORS = {
    "not utf-8": (
        {"nitro.config.toml": 'preset = "caf\xe9"\n'},
        "latin-1",
        ["nitro.config.toml: not UTF-8 text", "save the file as UTF-8"],
    ),
    "json comment": (
        {"nitro.config.json": '{\n  // nightly jobs\n  "experimental": {"tasks": true}\n}\n'},
        "utf-8",
        ["nitro.config.json: invalid JSON at line 2 column 3", "JSON allows no comments"],
    ),
    "empty task name": (
        {"nitro.config.toml": TASKS_ON + '[tasks.""]\ndescription = "nameless"\n'},
        "utf-8",
        ['nitro.config.toml: tasks."": a task needs a name'],
    ),
    "task given as a path": (
        {"nitro.config.toml": TASKS_ON + '[tasks]\n"db:migrate" = "tasks/db/migrate.ts"\n'},
        "utf-8",
        [
            'nitro.config.toml: tasks."db:migrate": must be a table of settings',
            'set its handler key to "tasks/db/migrate.ts"',
        ],
    ),
    "serverDir is a file": (
        {"nitro.config.toml": 'serverDir = "server.ts"\n', "server.ts": ""},
        "utf-8",
        ["nitro.config.toml: serverDir: 'server.ts' is a file, not a folder", "point it at the folder"],
    ),
    "handler is a folder": (
        {"nitro.config.toml": TASKS_ON + '[tasks.a]\nhandler = "jobs"\n', "jobs/a.ts": TASK},
        "utf-8",
        ["nitro.config.toml: tasks.\"a\".handler: handler file 'jobs' for task 'a' is a folder"],
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIG_ERRORS))
def test_bad_config_is_a_clear_error(tmp_path: Path, case: str) -> None:
    files, encoding, expected = CONFIG_ERRORS[case]
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(text.encode(encoding))
    stderr = fail(tmp_path)
    for fragment in expected:
        assert fragment in stderr, stderr


def test_a_key_repeated_in_a_json_config_is_an_error(tmp_path: Path) -> None:
    """json.loads keeps the last of two equal keys, so task a was silently left unscheduled."""
    config = '{"experimental": {"tasks": true}, "scheduledTasks": {"* * * * *": "a", "* * * * *": "b"}}'
    project = write_project(tmp_path, {"nitro.config.json": config, "tasks/a.ts": TASK, "tasks/b.ts": TASK})
    assert 'nitro.config.json: scheduledTasks."* * * * *": this key appears twice' in fail(project)


def test_unknown_preset_in_config_names_the_key_and_suggests_a_preset(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": 'preset = "nodeserver"\n'})
    proc = run_cli("build", "--dir", str(project))
    assert proc.returncode == 1
    expected = "nitro.config.toml: preset: unknown preset 'nodeserver'; did you mean 'node_server'?"
    assert expected in proc.stderr
    # From the command line there is no config key to name.
    proc = run_cli("build", "--dir", str(project), "--preset", "cloudflare_modul")
    assert proc.returncode == 1
    assert "error: unknown preset 'cloudflare_modul'; did you mean 'cloudflare_module'?" in proc.stderr


@pytest.mark.parametrize(
    "name, text",
    [
        ("wrangler.toml", 'name = "bom-worker"\n'),
        ("wrangler.json", '{"name": "bom-worker"}'),
    ],
)
def test_wrangler_config_with_a_byte_order_mark_is_read_as_wrangler_does(
    tmp_path: Path, name: str, text: str
) -> None:
    """wrangler strips a UTF-8 BOM (removeBOMAndValidate); the build called the file invalid."""
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    (project / name).write_bytes("\ufeff".encode() + text.encode())
    build_project(project, "cloudflare_module")
    assert 'name = "bom-worker"' in (project / ".output/server/wrangler.toml").read_text()


def test_wrangler_config_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    (project / "wrangler.toml").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    assert "wrangler.toml: not UTF-8 text" in fail(project, "--preset", "cloudflare_module")
