"""A short command run as the program itself skips the interpreter's teardown (compiler/entry.py
exit_now, issue 14); what an ordinary exit guarantees must still hold: the exit status, every byte
of stdout and stderr (through pipes too), and the exit handlers of the process (atexit), while an
entry point called from other code returns to it as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import TASK, TASKS_ON, cli_env, write_project

# The same command in-process from other code: SystemExit comes back to the caller.
IN_PROCESS = """
import sys
from nitro_build.entry import nitro
sys.argv = ["nitro", *sys.argv[1:]]
try:
    nitro()
except SystemExit as exc:
    print("\\nreturned", exc.code, file=sys.stderr)
    sys.exit(exc.code)
"""


# The installed console script (the README's set-up installs it beside this Python).
NITRO = [sys.executable, str(Path(sys.executable).parent / "nitro")]


def run(argv: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=cli_env(**env), timeout=120)


def many_tasks(root: Path) -> Path:
    files = {f"tasks/group{i % 7}/task{i}.ts": TASK for i in range(400)}
    schedules = "".join(f'"{i % 60} {i // 60} * * *" = ["group{i % 7}:task{i}"]\n' for i in range(400))
    return write_project(root, {"nitro.config.toml": TASKS_ON + "[scheduledTasks]\n" + schedules, **files})


def test_status_and_every_byte_of_output_are_those_of_an_ordinary_exit(tmp_path: Path) -> None:
    project = many_tasks(tmp_path / "p")
    cases = [
        ["check", "--dir", str(project), "--json", *("--preset", "node_server") * 3, "--preset", "vercel"],
        ["build", "--dir", str(project), "--dry-run", "--json"],
        ["build", "--dir", str(project), "--dry-run", "--print", ".nitro/build/node_server/registry.mjs"],
        ["check", "--dir", str(tmp_path / "missing")],
        ["build", "--no-such-option"],
        ["--help"],
    ]
    for args in cases:
        fast = run([*NITRO, *args])
        ordinary = run([sys.executable, "-c", IN_PROCESS, *args])
        assert fast.stdout == ordinary.stdout, args
        assert (fast.returncode, fast.stderr) == (
            ordinary.returncode,
            ordinary.stderr.rsplit("\nreturned ", 1)[0],
        )
        assert f"\nreturned {fast.returncode}" in ordinary.stderr  # the caller got control back
    checked = json.loads(run([*NITRO, *cases[0]]).stdout)
    assert len(checked["results"]) == 4 and len(checked["results"][0]["schedules"]) == 400


def test_exit_handlers_of_the_process_still_run(tmp_path: Path) -> None:
    """An atexit handler registered at start-up (as coverage.py's is) runs before the exit."""
    hooks = write_project(
        tmp_path / "hooks",
        {
            "sitecustomize.py": (
                "import atexit, os\n"
                "def _done():\n"
                "    with open(os.environ['EXIT_MARK'], 'w') as f:\n"
                "        f.write('ran')\n"
                "atexit.register(_done)\n"
            )
        },
    )
    project = write_project(tmp_path / "p", {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    mark = tmp_path / "mark"
    env = {"PYTHONPATH": f"{hooks}:{cli_env()['PYTHONPATH']}", "EXIT_MARK": str(mark)}
    proc = run([sys.executable, "-m", "nitro_build", "check", "--dir", str(project)], **env)
    assert proc.returncode == 0 and "ok: node_server: 1 tasks" in proc.stdout, proc.stderr
    assert mark.read_text() == "ran"


def test_a_command_started_with_stdout_closed_exits_cleanly(tmp_path: Path) -> None:
    """Python then has no sys.stdout (None): nothing to flush, no traceback, the same status."""
    project = write_project(tmp_path / "p", {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    for args, status in (
        (["check", "--dir", str(project)], 0),
        (["check", "--dir", str(tmp_path / "no")], 1),
    ):
        closed = subprocess.run(
            [*NITRO, *args],
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            preexec_fn=lambda: os.close(1),
            timeout=120,
        )
        assert closed.returncode == status and "Traceback" not in closed.stderr, closed.stderr
