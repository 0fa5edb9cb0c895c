"""A build killed with SIGKILL at any moment: the next build finds the previous or the new complete
output, never a mix and never none, and succeeds.

Builds stop at the swap's named points through the test-only hook NITRO_BUILD_PAUSE_AT
(compiler/swap.py) and are killed there; others are killed at random moments. After each kill
a build that fails on a broken config (so it changes no output itself) runs the recovery, and
the outputs are compared with the previous build's and the next build's.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TASKS_ON, build_project, cli_env, run_cli, write_project
from nitro_build.swap import PAUSE_POINTS
from test_build_errors import tree_digest

# (preset, pause point): every point on the one-output node_server; on cloudflare_module
# (.output and .wrangler/deploy/config.json) also the moments between its two outputs.
POINTS = [("node_server", p) for p in PAUSE_POINTS] + [
    ("cloudflare_module", "old-moved-aside#1"),
    ("cloudflare_module", "new-moved-in#1"),
    ("cloudflare_module", "old-moved-aside#2"),
]
OUTPUTS = (".output", ".wrangler")


def version(n: int) -> dict[str, str]:
    """A project whose bundle differs with `n`."""
    return {
        "nitro.config.toml": TASKS_ON + '[scheduledTasks]\n"0 3 * * *" = "a"\n',
        "tasks/a.ts": f"export default defineTask({{ run() {{ return {{ version: {n} }} }} }});\n",
    }


def outputs_digest(project: Path) -> dict[str, str]:
    return {f"{top}/{k}": v for top in OUTPUTS for k, v in tree_digest(project / top).items()}


def start_build(project: Path, preset: str, **env: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "nitro_build", "build", "--preset", preset, "--dir", str(project)]
    return subprocess.Popen(
        argv, env=cli_env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def kill_at(project: Path, preset: str, point: str) -> None:
    """Start a build that pauses at `point`, and SIGKILL it there."""
    proc = start_build(project, preset, NITRO_BUILD_PAUSE_AT=point, NITRO_BUILD_PAUSE_SECONDS="60")
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if f"nitro-build: paused at {point}" in line:
                break
        else:
            pytest.fail(f"the build never reached {point} (exit {proc.wait()})")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def recover_with_a_failing_build(project: Path, preset: str) -> dict[str, str]:
    """Run a build that recovers, then fails on a broken config; return the outputs it left."""
    config = project / "nitro.config.toml"
    good = config.read_text()
    config.write_text("[broken\n")
    proc = run_cli("build", "--preset", preset, "--dir", str(project))
    config.write_text(good)
    assert proc.returncode == 1 and "invalid TOML" in proc.stderr, proc.stderr
    assert not list((project / ".nitro").glob("staging-*")), "staging folders left after recovery"
    # A kill after the old output went to the trash (or while a build deleted it): gone too.
    assert not list((project / ".nitro").glob("trash-*")), "old outputs left after recovery"
    return outputs_digest(project)


@pytest.mark.parametrize(("preset", "point"), POINTS)
def test_build_killed_at_a_swap_point_leaves_old_or_new_output(
    tmp_path: Path, preset: str, point: str
) -> None:
    project = write_project(tmp_path / "p", version(1))
    build_project(project, preset)
    old = outputs_digest(project)
    write_project(project, version(2))
    kill_at(project, preset, point)
    if point.startswith("old-moved-aside") and point != "old-moved-aside#2":
        assert not (project / ".output").exists()  # the window the issue found: no output at all
    recovered = recover_with_a_failing_build(project, preset)
    build_project(project, preset)
    new = outputs_digest(project)
    assert new != old
    assert recovered in (old, new), f"a mix of outputs after a kill at {point}"
    if point in ("journal-written", "old-moved-aside", "new-moved-in", "old-removed") or "#" in point:
        assert recovered == new  # the swap had begun: recovery finishes it
    if point == "staged":
        assert recovered == old  # not begun: the previous output stays
    assert not list((project / ".nitro").glob("staging-*"))


def test_builds_killed_at_random_moments_always_leave_a_complete_output(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("NITRO_FAULT_SEED", "10")))
    project = write_project(tmp_path / "p", version(0))
    build_project(project, "cloudflare_module")
    digests = {0: outputs_digest(project)}
    started = time.monotonic()
    build_project(project, "cloudflare_module")
    duration = time.monotonic() - started
    for n in range(1, 9):
        write_project(project, version(n))
        proc = start_build(project, "cloudflare_module")
        time.sleep(rng.uniform(0, duration * 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        recovered = recover_with_a_failing_build(project, "cloudflare_module")
        build_project(project, "cloudflare_module")
        digests[n] = outputs_digest(project)
        assert recovered in (digests[n - 1], digests[n]), f"kill {n}: neither the old nor the new output"


def test_leftovers_of_an_older_nitro_build_are_put_back(tmp_path: Path) -> None:
    """Before the journal, a kill between the renames left no .output, the new one in staging-* and
    the old one in staging-*.old, forever; the next build now puts the old one back."""
    project = write_project(tmp_path / "p", version(1))
    build_project(project)
    old = outputs_digest(project)
    staging = project / ".nitro" / "staging-node_server-4242"
    (project / ".nitro" / "staging-node_server-4242.old").mkdir(parents=True)
    os.replace(project / ".output", project / ".nitro" / "staging-node_server-4242.old" / ".output")
    (staging / ".output" / "server").mkdir(parents=True)
    (staging / ".output" / "server" / "index.mjs").write_text("half written")
    (project / ".nitro" / "staging-bun-99").mkdir()  # a build killed while staging
    assert recover_with_a_failing_build(project, "node_server") == old
    assert not [p.name for p in (project / ".nitro").iterdir() if p.name.startswith("staging-")]
