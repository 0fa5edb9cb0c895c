"""Command-line conventions: presets in --help and shell completion, NITRO_PRESET, --json errors,
NO_COLOR/FORCE_COLOR, a Preview line that works where it was printed, one error style."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, cli_env, copy_fixture, run_cli, write_project
from nitro_build.presets import PRESETS

TASKS_ON = "[experimental]\ntasks = true\n"
ECHO_TASK = 'export default defineTask({ run: () => ({ result: "ok" }) });\n'


def test_help_lists_every_preset() -> None:
    for proc in (_nitro_build("--help"), run_cli("build", "--help")):
        assert proc.returncode == 0, proc.stderr
        listed = proc.stdout.split("--preset [", 1)[1].split("]", 1)[0]
        assert listed.split("|") == list(PRESETS)
        assert "$NITRO_PRESET" in proc.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_lists_presets(shell: str) -> None:
    """click's completion protocol, as the sourced script calls it: `nitro-build --preset <TAB>`."""
    # bash and zsh pass the index of the word being completed, fish the word itself.
    env = {
        "_NITRO_BUILD_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": "nitro-build --preset clo",
        "COMP_CWORD": "clo" if shell == "fish" else "2",
    }
    proc = _nitro_build(**env)
    assert proc.returncode == 0, proc.stderr
    found = [line for line in proc.stdout.splitlines() if "cloudflare" in line]
    assert any("cloudflare_module" in line for line in found), proc.stdout
    assert any("cloudflare_pages" in line for line in found), proc.stdout
    assert "vercel" not in proc.stdout
    source = _nitro_build(_NITRO_BUILD_COMPLETE=f"{shell}_source")
    assert source.returncode == 0 and "_NITRO_BUILD_COMPLETE" in source.stdout


def test_unknown_preset_keeps_the_did_you_mean_sentence(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {"nitro.config.toml": TASKS_ON})
    proc = run_cli("build", "--dir", str(project), "--preset", "vercl")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: unknown preset 'vercl'; did you mean 'vercel'?")


def test_nitro_preset_env_sits_between_the_flag_and_the_config(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p", {"nitro.config.toml": 'preset = "bun"\n' + TASKS_ON, "tasks/echo.ts": ECHO_TASK}
    )

    def chosen(*flags: str, **env: str) -> str:
        proc = run_cli("build", "--dir", str(project), "--json", *flags, **env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["preset"]

    assert chosen() == "bun"
    assert chosen(NITRO_PRESET="node_cluster") == "node_cluster"
    assert chosen(SERVER_PRESET="node-middleware") == "node_middleware"
    assert chosen(NITRO_PRESET="deno_server", SERVER_PRESET="bun") == "deno_server"
    assert chosen("--preset", "node_server", NITRO_PRESET="deno_server") == "node_server"
    wrong = run_cli("build", "--dir", str(project), NITRO_PRESET="nodee")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: NITRO_PRESET=nodee: unknown preset 'nodee'; did you mean")


def test_json_failure_prints_an_error_object_on_stdout(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {"nitro.config.toml": "bogus = 1\n" + TASKS_ON})
    proc = run_cli("build", "--dir", str(project), "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["error"]["type"] == "ConfigError"
    assert data["error"]["message"].startswith("nitro.config.toml: bogus: unknown key")
    assert data["warnings"] == []
    assert proc.stderr.startswith("error: nitro.config.toml: bogus: unknown key")
    strict = write_project(
        tmp_path / "s",
        {
            "nitro.config.toml": TASKS_ON + '[scheduledTasks]\n"@daily" = "missing"\n',
        },
    )
    failed = json.loads(run_cli("build", "--dir", str(strict), "--json", "--strict").stdout)
    assert failed["error"]["type"] == "CompilerError"
    assert "--strict turns warnings into errors" in failed["error"]["message"]


def test_task_list_json_failure_prints_an_error_object(tmp_path: Path) -> None:
    proc = run_cli("task", "list", "--dir", str(tmp_path), "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"]["message"].startswith("no dev server is running for")
    assert proc.stderr.startswith("error: no dev server is running for")


@pytest.mark.parametrize(
    "env, colored",
    [
        ({}, False),  # not a terminal
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True),  # Node's order: FORCE_COLOR wins
        ({"FORCE_COLOR": "0"}, False),
        ({"NO_COLOR": "1"}, False),
    ],
)
def test_color_follows_no_color_and_force_color(tmp_path: Path, env: dict[str, str], colored: bool) -> None:
    project = write_project(tmp_path / "p", {"nitro.config.toml": "bogus = 1\n" + TASKS_ON})
    base = {k: "" for k in ("FORCE_COLOR", "NO_COLOR")}
    proc = subprocess.run(
        [sys.executable, "-m", "nitro_build", "build", "--dir", str(project)],
        env={k: v for k, v in {**cli_env(), **base, **env}.items() if v},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert ("\x1b[" in proc.stderr) is colored, proc.stderr
    assert proc.stderr.replace("\x1b[31m\x1b[1m", "").replace("\x1b[0m", "").startswith("error: nitro.config")


def test_preview_line_runs_when_pasted_where_the_build_ran(tmp_path: Path) -> None:
    """`nitro-build --dir sub/project` from tmp_path: paste the Preview line in tmp_path."""
    project = copy_fixture("basic", tmp_path / "sub dir")
    proc = run_cli("build", "--dir", "sub dir/basic", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    preview = next(line for line in proc.stdout.splitlines() if line.startswith("Preview: "))
    command = preview.removeprefix("Preview: ")
    assert command == "cd 'sub dir/basic' && node .output/server/index.mjs"
    ran = subprocess.run(
        command + " task run db:migrate", shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"result": "Success"}
    here = run_cli("build", "--dir", ".", cwd=project)
    assert "Preview: node .output/server/index.mjs" in here.stdout.splitlines()


def test_one_error_style_across_build_dev_task_and_the_bundle_cli(tmp_path: Path) -> None:
    """Every command fails the same way: one `error: ...` sentence on stderr, exit code 1."""
    bad = write_project(tmp_path / "bad", {"nitro.config.toml": "bogus = 1\n"})
    dev = run_cli("dev", "--dir", str(tmp_path / "missing"), "--port", "0")
    build = run_cli("build", "--dir", str(bad))
    task = run_cli("task", "run", "x", "--dir", str(bad))
    project = copy_fixture("basic", tmp_path)
    assert run_cli("build", "--dir", str(project)).returncode == 0
    bundle = subprocess.run(
        ["node", ".output/server/index.mjs", "task", "run", "nope"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    for proc in (dev, build, task, bundle):
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert lines[-1].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    assert bundle.stderr.strip() == 'error: Task "nope" is not available (404)'
    assert bundle.stdout == ""


def _nitro_build(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The `nitro-build` console script's own entry point (for its --help and completion)."""
    code = "import sys; from nitro_build.cli import build_main; build_main(prog_name='nitro-build')"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args, sentence",
    [
        # run_cli is `python -m nitro_build`: click names the command so
        (("build", "--bogus"), "error: No such option '--bogus'; see `python -m nitro_build build --help`"),
        (("task", "run"), "error: Missing argument 'NAME'; see `python -m nitro_build task run --help`"),
        (("check", "--bogus"), "error: No such option '--bogus'; see `nitro check --help`"),
        (
            ("dev", "--port", "x"),
            "error: Invalid value for '--port': 'x' is not a valid integer range; "
            "see `python -m nitro_build dev --help`",
        ),
    ],
)
def test_usage_errors_are_sentences_too(args: tuple[str, ...], sentence: str) -> None:
    """click's own errors (unknown option, missing argument, bad value) in the same style."""
    proc = run_cli(*args)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", sentence + "\n")
