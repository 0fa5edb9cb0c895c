"""When and how often scheduled tasks run: regressions found by a review of the shipped runtime.

- One task in two schedules that fire at the same instant runs once for it, on every server preset
  (it ran twice in one process, or was skipped as "still running" in node_cluster).
- Timers count monotonic time, firings wall time: after the wall clock steps forward (NTP step,
  resume from suspend) a firing comes on the wall clock, not the step's length late
  (tests/js/scheduler_clock_steps.mjs with a fake loop, and node_server with a shifted Date.now).
- node_cluster, SIGTERM to the group at a firing: a run the primary dispatched to a worker that is
  already shutting down finishes before the worker exits (it was cut off and logged as failed).
- node_cluster, a worker that dies just as the primary dispatches a firing to it: the primary's
  write fails with EPIPE, which crashed the primary and with it the cluster; now the firing goes
  to the next worker.
- node_middleware: two apps' bundles with the same schedules in one host process both run theirs
  (the once-per-process guard was keyed by the schedules alone).

SIGSTOP on the primary makes the two node_cluster races deterministic: while it is stopped its
timer comes due and the worker acts; when it resumes it runs its timers before it reads the worker.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, NODE, NODE_BUNDLE, REPO, build_project, preview_argv, wait_until, write_project

DRIVER = REPO / "tests" / "js" / "scheduler_clock_steps.mjs"
CLOCK_PRELOAD = REPO / "tests" / "js" / "clock_step_preload.mjs"


def compiled_specs(*crons: str) -> dict[str, Any]:
    from nitro_build.cron import parse_cron

    return {cron: parse_cron(cron).compiled() for cron in crons}


def ran(output: str, task: str) -> list[tuple[int, int]]:
    """(scheduledTime, pid) of each `ran TASK scheduledTime pid` line a task printed."""
    found = re.findall(rf"^ran {re.escape(task)} (\d+) (\d+)$", output, re.M)
    return [(int(t), int(pid)) for t, pid in found]


TASK = """export default defineTask({
  run({ name, payload }) {
    console.log(`ran ${name} ${payload.scheduledTime} ${process.pid}`);
    return { result: "ok" };
  },
});
"""
SLOW_TASK = """export default defineTask({
  async run({ name, payload }) {
    console.log(`start ${name} ${payload.scheduledTime} ${process.pid}`);
    await new Promise((resolve) => setTimeout(resolve, 800));
    console.log(`ran ${name} ${payload.scheduledTime} ${process.pid}`);
    return { result: "ok" };
  },
});
"""


# ---------------------------------------------------------------- scheduler, fake loop


@pytest.mark.parametrize(
    "scenario",
    [
        "forwardStepFiresOnTheWallClock",
        "resumeFromSuspendRunsTheMissedFiringOnce",
        "backwardStepRepeatsNoFiring",  # pins the existing rule: a firing instant never runs twice
        "taskInTwoSchedulesRunsOncePerInstant",
    ],
)
def test_scheduler_with_a_stepping_wall_clock(scenario: str) -> None:
    specs = compiled_specs("0 3 * * *", "* * * * *", "* * * * * *", "*/2 * * * * *")
    proc = subprocess.run(
        [NODE, str(DRIVER), scenario, json.dumps(specs)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"ok {scenario}"


# ---------------------------------------------------------------- one task, two schedules


def deno_command(project: Path) -> list[str]:
    argv = preview_argv(project)
    return [str(BIN / "deno"), *argv[1:]]


COMMANDS = {
    "node_server": lambda project: NODE_BUNDLE,
    "node_cluster": lambda project: NODE_BUNDLE,
    "bun": lambda project: [str(BIN / "bun"), ".output/server/index.mjs"],
    "deno_server": deno_command,
}


@pytest.mark.parametrize("preset", list(COMMANDS))
def test_a_task_in_two_schedules_runs_once_per_instant(
    tmp_path: Path,
    start_server: Any,
    preset: str,
) -> None:
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": "[experimental]\ntasks = true\n[scheduledTasks]\n"
            '"* * * * * *" = "tick"\n"*/2 * * * * *" = ["tick", "even"]\n',
            "tasks/tick.ts": TASK,
            "tasks/even.ts": TASK,
        },
    )
    build_project(project, preset)
    server = start_server(COMMANDS[preset](project), project, {"NITRO_CLUSTER_WORKERS": "2", "NO_COLOR": "1"})
    wait_until(lambda: len(ran(server.output, "even")) >= 3, timeout=20, what="three even-second firings")
    output = server.output
    ticks = Counter(t for t, _ in ran(output, "tick"))
    evens = sorted(t for t, _ in ran(output, "even"))
    assert [t for t, n in ticks.items() if n > 1] == [], f"a firing ran twice:\n{output}"
    assert set(evens) <= set(ticks), output
    first, last = min(ticks), max(ticks)
    assert sorted(ticks) == list(range(first, last + 1000, 1000)), f"a firing is missing:\n{output}"
    assert "skipped" not in output, output


# ---------------------------------------------------------------- a wall-clock step, real Node


def test_node_server_fires_on_the_wall_clock_after_it_steps_forward(
    tmp_path: Path,
    start_server: Any,
) -> None:
    """The daily 03:00 firing is 1 h away; the wall clock steps to 02:59:55; it runs at once, not in 1 h."""
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"0 3 * * *" = "daily"\n',
            "tasks/daily.ts": "export default defineTask({ run({ payload }) {\n"
            "  console.log(`ran daily ${payload.scheduledTime} at ${Date.now()}`);\n} });\n",
        },
    )
    build_project(project, "node_server")
    firing = 1_893_466_800_000  # 2030-01-01T03:00:00Z
    offset_file = tmp_path / "offset"
    env = {
        "TZ": "UTC",
        "CLOCK_OFFSET_MS": str(firing - 3_600_000 - int(time.time() * 1000)),
        "CLOCK_STEP_FILE": str(offset_file),
    }
    argv = [NODE, "--import", CLOCK_PRELOAD.as_uri(), ".output/server/index.mjs"]
    server = start_server(argv, project, env)
    offset_file.write_text(str(firing - 5_000 - int(time.time() * 1000)))
    os.kill(server.proc.pid, signal.SIGUSR2)
    # The scheduler measures its waits again every 30 s.
    found = wait_until(
        lambda: re.search(r"^ran daily (\d+) at (\d+)$", server.output, re.M),
        timeout=45,
        what="the 03:00 firing",
    )
    scheduled, at = int(found[1]), int(found[2])
    assert scheduled == firing
    assert firing <= at <= firing + 31_000, server.output


# ---------------------------------------------------------------- node_cluster races


def cluster(tmp_path: Path, task: str, extra: dict[str, str]) -> Path:
    project = write_project(
        tmp_path / "project",
        {
            "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"*/2 * * * * *" = "slow"\n',
            "tasks/slow.ts": task,
            **extra,
        },
    )
    build_project(project, "node_cluster")
    return project


def next_even_second(after: float) -> int:
    return (int(after) // 2) * 2 + 4


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def test_cluster_sigterm_at_a_firing_lets_the_dispatched_run_finish(
    tmp_path: Path,
    start_server: Any,
) -> None:
    """The worker is shutting down (a request keeps it up) when the primary dispatches the firing."""
    project = cluster(
        tmp_path,
        SLOW_TASK,
        {
            "api/hold.ts": "export default async () => {\n"
            "  await new Promise((resolve) => setTimeout(resolve, 700));\n"
            "  return { held: true };\n};\n",
        },
    )
    server = start_server(NODE_BUNDLE, project, {"NITRO_CLUSTER_WORKERS": "1"})
    wait_until(lambda: ran(server.output, "slow"), timeout=20, what="a first firing")
    firing = next_even_second(time.time())
    sleep_until(firing - 0.4)
    answer: dict[str, Any] = {}
    held = threading.Thread(
        target=lambda: answer.update(
            body=urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/hold", timeout=15).read()
        )
    )
    held.start()
    sleep_until(firing - 0.3)
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        sleep_until(firing - 0.2)
        os.killpg(server.proc.pid, signal.SIGTERM)  # the worker starts shutting down, the primary later
        sleep_until(firing + 0.2)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    assert server.proc.wait(timeout=30) == 0, server.output
    held.join(timeout=15)
    assert json.loads(answer["body"]) == {"held": True}
    output = server.output
    assert f"start slow {firing * 1000} " in output, f"the firing was dispatched:\n{output}"
    assert [t for t, _ in ran(output, "slow")].count(firing * 1000) == 1, f"the run was cut off:\n{output}"
    assert "failed" not in output, output


def test_cluster_worker_dying_at_a_dispatch_does_not_bring_down_the_primary(
    tmp_path: Path,
    start_server: Any,
) -> None:
    project = cluster(tmp_path, TASK, {})
    server = start_server(NODE_BUNDLE, project, {"NITRO_CLUSTER_WORKERS": "1"})
    first = wait_until(lambda: ran(server.output, "slow"), timeout=20, what="a first firing")
    worker = first[0][1]
    firing = next_even_second(time.time())
    sleep_until(firing - 0.3)
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        sleep_until(firing - 0.2)
        os.kill(worker, signal.SIGKILL)
        sleep_until(firing + 0.2)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    # The firing the dead worker never received runs on its replacement, and the schedule goes on.
    wait_until(
        lambda: [t for t, _ in ran(server.output, "slow") if t >= firing * 1000 + 2000],
        timeout=20,
        what="the next firing after the worker died",
    )
    assert server.proc.poll() is None, server.output
    output = server.output
    runs = Counter(t for t, _ in ran(output, "slow"))
    assert runs[firing * 1000] == 1, f"the firing at the dispatch ran once:\n{output}"
    assert "EPIPE" not in output, output


# ---------------------------------------------------------------- node_middleware, two apps in one host


def test_two_middleware_apps_with_the_same_schedules_both_run_theirs(tmp_path: Path) -> None:
    """The once-per-process guard told two apps apart by their schedules only: the second never ran."""
    for app in ("a", "b"):
        schedule = '"* * * * * *" = "cleanup"'
        write_project(
            tmp_path / app,
            {
                "nitro.config.toml": f"[experimental]\ntasks = true\n[scheduledTasks]\n{schedule}\n",
                "tasks/cleanup.ts": TASK.replace("ran ${name}", f"ran ${{name}}:{app}"),
            },
        )
        build_project(tmp_path / app, "node_middleware")
    host = tmp_path / "host.mjs"
    host.write_text(
        'await import("./a/.output/server/index.mjs");\n'
        'await import("./a/.output/server/index.mjs?again"); // the same bundle: scheduled once\n'
        'await import("./b/.output/server/index.mjs");\n'
        "setTimeout(() => process.exit(0), 3500);\n"
    )
    proc = subprocess.run([NODE, str(host)], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    a, b = ran(proc.stdout, "cleanup:a"), ran(proc.stdout, "cleanup:b")
    assert len(b) >= 2, f"app b's schedule never ran:\n{proc.stdout}"
    assert len(a) >= 2 and len(a) == len({t for t, _ in a}), f"app a runs once per firing:\n{proc.stdout}"
