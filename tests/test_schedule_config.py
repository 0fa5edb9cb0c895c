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
    project = write_project(
        tmp_path, {"nitro.config.toml": TASKS_ON + "[scheduledTasks]\n" + crons, "tasks/a.ts": TASK}
    )
    assert "make 101 cron jobs, but Vercel allows 100 per project" in fail(project, "--preset", "vercel")
    build_project(project)  # server presets have no such limit


def test_large_schedule_tables_keep_every_schedule_and_warn_once_per_unknown_task(tmp_path: Path) -> None:
    """A smaller version of bench/bench_schedules.py (86,400 entries took 16-44 s, 40,000 unknown
    task names 18.5 s): every distinct schedule is kept, equivalent spellings are still merged,
    and each unknown name is warned about exactly once. No timing is asserted (shared machines)."""
    lines = [f'"{n % 60} {n // 60 % 60} {n // 3600} * * *" = ["a", "ghost{n % 500}"]' for n in range(3000)]
    lines.append('"0  0 0 * * *" = "a"')  # the same firings as "0 0 0 * * *"
    config = TASKS_ON + "[scheduledTasks]\n" + "\n".join(lines) + "\n"
    project = write_project(tmp_path, {"nitro.config.toml": config, "tasks/a.ts": TASK})
    proc = run_cli("build", "--dir", str(project), "--json", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["schedules"]) == 3000
    unknown = [w for w in data["warnings"] if "unknown task" in w]
    assert len(unknown) == 3000 and len(set(unknown)) == 3000  # one per (schedule, name)
    assert sum("fires at the same times as" in w for w in data["warnings"]) == 1
    for s in data["schedules"]:  # the next firing is at the schedule's own time of day
        second, minute, hour = (int(f) for f in s["cron"].split()[:3])
        assert s["next"][11:19] == f"{hour:02}:{minute:02}:{second:02}", s
