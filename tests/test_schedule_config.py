"""scheduledTasks keys: one schedule spelt several ways, and platform limits on cron jobs."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import (
    NODE_BUNDLE,
    TASK,
    TASKS_ON,
    build_project,
    log_lines,
    run_cli,
    wait_for_lines,
    wait_until,
    write_project,
)
from test_build_errors import fail


def test_one_schedule_spelt_several_ways_runs_its_task_once_per_firing(tmp_path: Path, start_server) -> None:
    """Whitespace and case make distinct config keys, not distinct schedules."""
    config = TASKS_ON + (
        '[scheduledTasks]\n"*/2 * * * * *" = "a"\n"*/2  * * * * *" = "a"\n"*/2 * * * * * " = ["a", "a"]\n'
    )
    task = (
        'import { appendFileSync } from "node:fs";\n'
        "export default defineTask({ run({ payload }) {\n"
        "  appendFileSync(process.env.RUNS_LOG, `${payload.scheduledTime}\\n`); return 1 } });\n"
    )
    project = write_project(tmp_path, {"nitro.config.toml": config, "tasks/a.ts": task})
    proc = build_project(project)
    runs = tmp_path / "runs.log"
    start_server(NODE_BUNDLE, project, env={"RUNS_LOG": str(runs)})
    first = wait_for_lines(runs, 1, timeout=10)[0]
    wait_until(lambda: set(log_lines(runs)) - {first}, 10, "a second firing")  # the first is complete
    assert log_lines(runs).count(first) == 1, log_lines(runs)
    assert 'fires at the same times as "*/2 * * * * *", which already runs' in proc.stderr


def test_equivalent_schedules_give_a_task_one_vercel_cron_job(tmp_path: Path) -> None:
    schedules = '"0 9 * * mon" = "a"\n"0 9 * * MON" = "a"\n"0 9 * * 1" = ["a", "b"]\n'
    config = TASKS_ON + "[scheduledTasks]\n" + schedules
    project = write_project(tmp_path, {"nitro.config.toml": config, "tasks/a.ts": TASK, "tasks/b.ts": TASK})
    proc = build_project(project, "vercel")
    crons = json.loads((project / ".vercel/output/config.json").read_text())["crons"]
    assert [c["schedule"] for c in crons] == ["0 9 * * 1"]
    listed = json.loads(run_cli("build", "--dir", str(project), "--json").stdout)["schedules"]
    assert [(s["cron"], s["tasks"]) for s in listed] == [("0 9 * * 1", ["a", "b"])]
    warning = 'scheduledTasks."0 9 * * MON" fires at the same times as "0 9 * * 1", which already runs'
    assert warning in proc.stderr


def test_more_cron_jobs_than_vercel_allows_is_a_build_error(tmp_path: Path) -> None:
    """Vercel refuses a deployment with more than 100 cron jobs; the build said nothing."""
    crons = "".join(f'"{i % 60} {i // 60} * * *" = "a"\n' for i in range(101))
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON + "[scheduledTasks]\n" + crons,
                                       "tasks/a.ts": TASK})
    assert "make 101 cron jobs, but Vercel allows 100 per project" in fail(project, "--preset", "vercel")
    build_project(project)  # server presets have no such limit
