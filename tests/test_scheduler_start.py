"""The scheduler's start (issue 18): schedules are armed in slices after the first one
(templates/runtime/scheduler.mjs ARM_SLICE_MS) and their task lists stay JSON text until a firing
reads them (templates/runtime/schedule_table.mjs). Checked with real timers on Node, Bun and Deno
(tests/js/scheduler_sliced_arming.mjs): 2,000 every-second schedules, so most are armed in later
slices; each one's first firing after the start still runs its task, once, at the first whole
second after the start, and the next one a second later; a scheduler stopped while slices are
still to come arms nothing more and lets the process exit."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import BIN, NODE, REPO
from nitro_build.cron import parse_cron
from nitro_build.schedule_table import schedule_table

DRIVER = REPO / "tests" / "js" / "scheduler_sliced_arming.mjs"
COUNT = 2000
RUNTIMES = {
    "node": [NODE],
    "bun": [str(BIN / "bun")],
    "deno": [str(BIN / "deno"), "run", "--quiet"],
}


def table() -> str:
    # Distinct expressions (every second, each with its own ignored minute list) and task lists,
    # as a generated project has them: nothing is shared between schedules but the spec's lists.
    spec = parse_cron("* * * * * *").compiled()
    schedules = [{"cron": f"* * * * * * #{i}", "tasks": [f"t{i}"], "spec": spec} for i in range(COUNT)]
    return json.dumps(schedule_table(schedules))


@pytest.mark.parametrize("runtime", list(RUNTIMES))
@pytest.mark.parametrize("scenario", ["firstFiringsRunOnce", "stopWhileArming"])
def test_sliced_arming_runs_every_first_firing_once(runtime: str, scenario: str) -> None:
    proc = subprocess.run(
        [*RUNTIMES[runtime], str(DRIVER), scenario],
        input=table(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout.strip() == f"ok {scenario}"
