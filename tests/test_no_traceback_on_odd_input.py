"""Input that used to crash the compiler with a Python traceback: now a message and exit 1.

Each case was found by a fuzzer against the build (issue #10); the message names the file, the
key or path, and what to do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import NODE_BUNDLE, TASK, TASKS_ON, build_project, run_cli, run_task_cli, write_project
from test_build_errors import fail, tree_digest

DEEP = 500  # levels of nesting: Python's parsers and pydantic raised RecursionError


def _deep_json(key: str) -> str:
    return f'{{"{key}": {"[" * DEEP}{"]" * DEEP}}}'


CASES = {
    "TOML date where a string belongs": (
        {"nitro.config.toml": "preset = 1979-05-27\n"},
        [
            "nitro.config.toml: preset: input should be a valid string",
            "the TOML date/time 1979-05-27; put it in quotes",
        ],
    ),
    "TOML date in a literal choice": (
        {"nitro.config.toml": TASKS_ON + "[tasks.a]\noverlap = 2020-01-01T00:00:00\n"},
        [
            "nitro.config.toml: tasks.a.overlap: input should be 'skip' or 'allow'",
            "TOML date/time 2020-01-01T00:00:00",
        ],
    ),
    "TOML nested 500 deep": (
        {"nitro.config.toml": "x = " + "[" * DEEP + "]" * DEEP + "\n"},
        ["nitro.config.toml: values are nested more than 64 levels deep", "flatten"],
    ),
    "JSON nested 500 deep": (
        {"nitro.config.json": _deep_json("x")},
        ["nitro.config.json: x[0][0]...: values are nested more than 64 levels deep"],
    ),
    "JSON nested 100 deep in a free-form table": (
        {"nitro.config.json": '{"cloudflare": {"wrangler": {"vars": ' + "[" * 100 + "]" * 100 + "}}}"},
        ["nitro.config.json: cloudflare.wrangler.vars...: values are nested more than 64 levels"],
    ),
    "a number of 5000 digits": (
        {"nitro.config.toml": "preset = " + "9" * 5000 + "\n"},
        ["nitro.config.toml: a number has more than 4300 digits"],
    ),
    "cron field with a superscript digit": (
        {"nitro.config.toml": TASKS_ON + '[scheduledTasks]\n"\u00b2 * * * *" = "a"\n', "tasks/a.ts": TASK},
        ["nitro.config.toml: scheduledTasks.", "minute value '\u00b2' is not a number"],
    ),
    "cron #n with a superscript digit": (
        {"nitro.config.toml": TASKS_ON + '[scheduledTasks]\n"0 0 * * 1#\u00b2" = "a"\n', "tasks/a.ts": TASK},
        ["the occurrence after # must be 1-5 or L"],
    ),
    "cron step of 4,400 digits": (
        {
            "nitro.config.toml": TASKS_ON + '[scheduledTasks]\n"*/' + "9" * 4400 + ' * * * *" = "a"\n',
            "tasks/a.ts": TASK,
        },
        ["minute step 999999999999...(4400 characters) is out of range 1-60"],
    ),
    "cron value of 4,300 digits": (
        {
            "nitro.config.toml": TASKS_ON + '[scheduledTasks]\n"0 1-' + "9" * 4300 + ' * * *" = "a"\n',
            "tasks/a.ts": TASK,
        },
        ["hour 999999999999...(4300 characters) is out of range 0-23"],
    ),
    "NUL byte in serverDir": (
        {"nitro.config.toml": 'serverDir = "ser\\u0000ver"\n'},
        ['nitro.config.toml: serverDir: "ser\\u0000ver" contains a NUL byte'],
    ),
    "NUL byte in output.dir": (
        {"nitro.config.toml": 'output.dir = "out\\u0000"\n'},
        ['nitro.config.toml: output.dir: "out\\u0000" contains a NUL byte'],
    ),
    "NUL byte in a handler": (
        {"nitro.config.toml": TASKS_ON + '[tasks.a]\nhandler = "a\\u0000.ts"\n'},
        ['nitro.config.toml: tasks."a".handler: "a\\u0000.ts" contains a NUL byte'],
    ),
    "path component over 255 bytes in output.dir": (
        {"nitro.config.toml": 'output.dir = "' + "o" * 256 + '"\n'},
        ["nitro.config.toml: output.dir:", "a path component longer than 255 bytes"],
    ),
    "path component over 255 bytes in serverDir": (
        {"nitro.config.toml": 'serverDir = "srv/' + "\u00e9" * 128 + '"\n'},
        ["nitro.config.toml: serverDir:", "a path component longer than 255 bytes"],
    ),
    "path component over 255 bytes in a handler": (
        {"nitro.config.toml": TASKS_ON + '[tasks.a]\nhandler = "' + "h" * 300 + '.ts"\n'},
        ['nitro.config.toml: tasks."a".handler:', "a path component longer than 255 bytes"],
    ),
    "NUL byte in a plugin path": (
        {"nitro.config.toml": 'plugins = ["plug\\u0000in.ts"]\n'},
        ['nitro.config.toml: plugins[0]: "plug\\u0000in.ts" contains a NUL byte'],
    ),
    "path component over 255 bytes in a plugin path": (
        {"nitro.config.toml": 'plugins = ["' + "p" * 300 + '.ts"]\n'},
        ["nitro.config.toml: plugins[0]:", "a path component longer than 255 bytes"],
    ),
    "NUL byte in a storage driver path": (
        {"nitro.config.toml": '[storage.data]\ndriver = "./dri\\u0000ver.mjs"\n'},
        ['nitro.config.toml: storage.data.driver: "./dri\\u0000ver.mjs" contains a NUL byte'],
    ),
    "TOML date in runtimeConfig": (
        {"nitro.config.toml": "[runtimeConfig]\nlaunch = 1979-05-27\n"},
        ["nitro.config.toml: runtimeConfig: holds an unquoted TOML date or time", "quote it"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_odd_config_is_a_message_not_a_traceback(tmp_path: Path, case: str) -> None:
    files, expected = CASES[case]
    stderr = fail(write_project(tmp_path, files))
    for fragment in expected:
        assert fragment in stderr, f"{fragment!r} not in:\n{stderr}"


def _write_bytes_name(path: bytes) -> None:
    """A task module at a file name given as bytes (pathlib takes only str)."""
    with open(path, "wb") as handle:
        handle.write(TASK.encode())


@pytest.mark.parametrize("folder", ["tasks", "api", "routes", "tasks/sub"])
def test_file_name_that_is_not_utf8_is_named_in_the_message(tmp_path: Path, folder: str) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    (project / folder).mkdir(parents=True, exist_ok=True)
    _write_bytes_name(os.path.join(os.fsencode(project / folder), b"caf\xe9.ts"))
    stderr = fail(project)
    assert f"{folder}/caf\\xe9.ts: the file name is not valid UTF-8" in stderr and "rename it" in stderr


def test_folder_name_that_is_not_utf8_is_named_in_the_message(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON})
    os.makedirs(os.path.join(os.fsencode(project), b"tasks", b"\xff"))
    _write_bytes_name(os.path.join(os.fsencode(project), b"tasks", b"\xff", b"a.ts"))
    assert "tasks/\\xff/a.ts: the file name is not valid UTF-8" in fail(project)


@pytest.mark.parametrize("folder", ["tasks", "utils", "plugins"])
def test_dangling_symlink_among_scanned_modules_is_named(tmp_path: Path, folder: str) -> None:
    """utils/ (auto-imported exports) and plugins/ are read at build time as tasks/ is."""
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    (project / folder).mkdir(exist_ok=True)
    (project / folder / "gone.ts").symlink_to(tmp_path / "missing.ts")
    stderr = fail(project)
    named = "missing.ts" if folder == "plugins" else f"{folder}/gone.ts"  # plugins: the link's target
    assert f"{named}: cannot be read (No such file or directory); fix or remove it" in stderr


def test_task_source_that_is_not_utf8_gets_esbuilds_message(tmp_path: Path) -> None:
    """esbuild quotes the bad line in its error; decoding that strictly raised UnicodeDecodeError."""
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON})
    (project / "tasks").mkdir()
    (project / "tasks/bad.ts").write_bytes(b"export default defineTask({ run() { return \xff\xfe } })\n")
    stderr = fail(project)
    assert "esbuild failed to bundle the project" in stderr and "tasks/bad.ts" in stderr


def test_symlink_back_to_the_project_does_not_take_in_the_old_output(tmp_path: Path) -> None:
    """`tasks/up -> ..` made the scan walk the project root: the previous bundle in .output became
    task modules, the build was green and the new bundle failed to load."""
    project = write_project(
        tmp_path,
        {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK, "utils/helper.ts": "export const x = 1;\n"},
    )
    (project / "tasks" / "up").symlink_to("..", target_is_directory=True)
    (project / "tasks" / "out").symlink_to("../.output", target_is_directory=True)
    (project / "tasks" / "deps").symlink_to("../node_modules", target_is_directory=True)
    (project / "node_modules" / "pkg").mkdir(parents=True)
    (project / "node_modules" / "pkg" / "index.js").write_text("module.exports = 1;\n")
    build_project(project)
    before = tree_digest(project / ".output")
    build_project(project)  # the first build's .output now exists
    listed = json.loads(run_task_cli(NODE_BUNDLE, project, "list").stdout)
    assert sorted(listed["tasks"]) == ["a"]
    assert json.loads(run_task_cli(NODE_BUNDLE, project, "run", "a").stdout) == {"result": "ok"}
    assert tree_digest(project / ".output") == before


def test_debug_still_shows_the_traceback_of_a_config_error(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": "preset = 1979-05-27\n"})
    proc = run_cli("build", "--dir", str(project), "--debug")
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "ConfigError" in proc.stderr
