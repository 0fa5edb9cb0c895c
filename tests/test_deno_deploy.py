"""The deno_deploy preset: the generated entry (top-level Deno.cron jobs), the bundle under real
Deno with --unstable-cron, and the schedules Deno.cron cannot express.

Real firings: Deno's local cron service waits for a job's next minute unless the variable
DENO_CRON_TEST_SCHEDULE_OFFSET (ms) is set, which Deno reads in ext/cron/local.rs
(compute_next_deadline) to fire every registered job that many ms after the previous firing. The
tests set it to fire within a second: the registration, the handler and the tasks are Deno's and
ours, unchanged; only the wait for the cron's own instant is shortened (a minute is too long here).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from conftest import (
    BIN,
    assert_generated_files,
    build_project,
    built_fixture,
    preview_argv,
    run_cli,
    wait_for_lines,
    write_project,
)
from test_build_errors import fail, tree_digest

DENO = str(BIN / "deno")
PREVIEW = (
    "deno run --unstable-cron --unstable-lazy-dynamic-imports --allow-net --allow-env=HOST,NITRO_HOST,NITRO_PORT,"
    "NITRO_SHUTDOWN_TIMEOUT,NITRO_TASKS_TOKEN,PORT --allow-read=.output/server/chunks .output/server/index.mjs"
)
# A task that appends what it was given to $STATE_DIR/<name>.log, one JSON line per run.
TRACE_TASK = """export default defineTask({{
  async run({{ payload }}) {{
    const line = JSON.stringify({{ task: {name!r}, scheduledTime: payload.scheduledTime, at: Date.now() }});
    await Deno.writeTextFile(Deno.env.get("STATE_DIR") + "/{name}.log", line + "\\n", {{ append: true }});
    return {{ result: "ok" }};
  }},
}});
"""
CALL = re.compile(r'Deno\.cron\(("[^"]*"), ("[^"]*"), denoCronHandler\((\[.*\])\)\);')
PROJECT = {
    "nitro.config.toml": (
        "[experimental]\ntasks = true\n[scheduledTasks]\n"
        '"* * * * *" = "tick"\n'
        '"0 0 9 * * mon-fri" = ["weekday", "tick"]\n'
        '"@monthly" = "monthly"\n'
        '"0 0 L * *" = "monthly"\n'
        '"0 12 * * 5#2" = "monthly"\n'
    ),
    "tasks/tick.ts": TRACE_TASK.format(name="tick"),
    "tasks/weekday.ts": TRACE_TASK.format(name="weekday"),
    "tasks/monthly.ts": TRACE_TASK.format(name="monthly"),
    "routes/hello.ts": 'export default defineEventHandler(() => ({ hello: "deno deploy" }));\n',
}


def test_generated_files(tmp_path: Path, snapshot_file: Any) -> None:
    project = built_fixture("basic", tmp_path, "deno_deploy")
    assert_generated_files(
        project,
        "deno_deploy",
        snapshot_file,
        {
            "preview": PREVIEW,
            "deploy": "deno run -A jsr:@deno/deployctl deploy --entrypoint=.output/server/index.mjs",
        },
    )


def test_entry_registers_translated_jobs_at_top_level(tmp_path: Path, snapshot_file: Any) -> None:
    project = write_project(tmp_path, PROJECT)
    proc = build_project(project, "deno_deploy")
    entry = (project / ".nitro/build/deno_deploy/entry.mjs").read_text()
    assert entry == snapshot_file(name="entry.mjs")
    calls = [line for line in entry.splitlines() if line.startswith("Deno.cron(")]
    # Deno's numeric weekdays count from Sunday = 1, so weekdays are written as names; seconds of 0
    # and nicknames are expanded; one job per distinct schedule.
    jobs = [CALL.fullmatch(c).groups() for c in calls]  # type: ignore[union-attr]
    assert [(json.loads(schedule), json.loads(tasks)) for _, schedule, tasks in jobs] == [
        ("* * * * *", ["tick"]),
        ("0 9 * * MON-FRI", ["weekday", "tick"]),
        ("0 0 L * *", ["monthly"]),
        ("0 12 * * FRI#2", ["monthly"]),
        ("0 0 1 * *", ["monthly"]),
    ]
    names = [json.loads(name) for name, _, _ in jobs]
    # Deno's rule for names (ext/cron/lib.rs): unique, at most 64 of [A-Za-z0-9 _-].
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"nitro [A-Za-z0-9 _-]+ [0-9a-f]{10}", n) and len(n) <= 64 for n in names)
    assert names[1].startswith("nitro weekday tick ")
    bundle = (project / ".output/server/index.mjs").read_text()
    # Still at the top level of the bundled module (column 0, outside any function).
    bundled = [CALL.fullmatch(line) for line in bundle.splitlines() if line.startswith("Deno.cron(")]
    assert [[json.loads(g) for g in m.groups()] for m in bundled if m] == [
        [json.loads(g) for g in j] for j in jobs
    ]
    assert "0 9 * * MON-FRI" in proc.stdout and "next:" in proc.stdout


def test_jobs_fire_under_real_deno_and_http_is_served(tmp_path: Path, start_server: Any) -> None:
    project = write_project(tmp_path, PROJECT)
    build_project(project, "deno_deploy")
    state = tmp_path / "state"
    state.mkdir()
    argv = preview_argv(project)
    assert argv[:3] == ["deno", "run", "--unstable-cron"], argv
    extra = ["--allow-env=STATE_DIR", f"--allow-read={state}", f"--allow-write={state}"]
    command = [DENO, *argv[1:-1], *extra, argv[-1]]
    server = start_server(
        command, project, env={"STATE_DIR": str(state), "DENO_CRON_TEST_SCHEDULE_OFFSET": "200"}
    )
    assert server.request("GET", "/hello") == (200, {"hello": "deno deploy"})
    ticks = [json.loads(line) for line in wait_for_lines(state / "tick.log", 3)]
    for name in ("weekday", "monthly"):  # every job was accepted by Deno's parser and fires
        wait_for_lines(state / f"{name}.log", 1)
    now = time.time() * 1000
    for tick in ticks:
        # payload.scheduledTime is the firing's UTC minute (Deno.cron has no seconds field).
        assert tick["scheduledTime"] % 60_000 == 0
        assert tick["at"] - 60_000 < tick["scheduledTime"] <= tick["at"] <= now
    assert "Exception in cron handler" not in server.output


def test_a_failing_task_is_logged_and_the_job_keeps_firing(tmp_path: Path, start_server: Any) -> None:
    project = write_project(
        tmp_path,
        {
            "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"* * * * *" = ["boom", "tick"]\n',
            "tasks/boom.ts": 'export default defineTask({ run() { throw new Error("kaboom") } });\n',
            "tasks/tick.ts": TRACE_TASK.format(name="tick"),
        },
    )
    build_project(project, "deno_deploy")
    state = tmp_path / "state"
    state.mkdir()
    argv = preview_argv(project)
    command = [DENO, *argv[1:-1], "--allow-env=STATE_DIR", f"--allow-write={state}", argv[-1]]
    server = start_server(
        command, project, env={"STATE_DIR": str(state), "DENO_CRON_TEST_SCHEDULE_OFFSET": "200"}
    )
    assert len(wait_for_lines(state / "tick.log", 3)) >= 3
    assert '[nitro] scheduled task "boom" failed: kaboom' in server.output
    # Not rethrown: Deno would retry the whole job and run "tick" again for the same firing.
    assert "Exception in cron handler" not in server.output


def test_overlap_allow_and_lock_are_warned_about(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {
            "nitro.config.toml": (
                '[experimental]\ntasks = true\n[scheduledTasks]\n"* * * * *" = "t"\n'
                '[tasks.t]\noverlap = "allow"\n[scheduler.lock]\ndriver = "redis"\n'
            ),
            "tasks/t.ts": "export default defineTask({ run: () => ({ result: 1 }) });\n",
        },
    )
    proc = build_project(project, "deno_deploy")
    assert (
        'tasks."t".overlap = "allow" has no effect with the deno_deploy preset: Deno.cron never starts'
        in proc.stderr
    )
    assert "scheduler.lock is not used by the deno_deploy preset" in proc.stderr
    assert "NITRO_SCHEDULER_REDIS_URL" not in (project / ".output/nitro.json").read_text()


REFUSED = {
    "*/10 * * * * *": "Deno.cron schedules have no seconds field; only a seconds field of 0 can be dropped (got '*/10')",
    "0 0 1 * +MON": "Deno.cron schedules cannot AND day-of-month with day-of-week (the + modifier)",
    "0 0 1,L * *": "Deno.cron schedules accept L, LW or one nW only as the whole day-of-month field (got '1,L')",
    "0 0 * * MON,5L": (
        "Deno.cron schedules accept L or # only as the whole day-of-week field, for one weekday (got 'MON,5L')"
    ),
}


def test_schedules_deno_cannot_express_fail_the_build_and_keep_the_output(tmp_path: Path) -> None:
    project = write_project(tmp_path, {**PROJECT})
    build_project(project, "deno_deploy")
    before = tree_digest(project / ".output")
    config = project / "nitro.config.toml"
    original = config.read_text()
    for expr, reason in REFUSED.items():
        config.write_text(original + f'"{expr}" = "tick"\n')
        stderr = fail(project, "--preset", "deno_deploy")
        assert (
            f"nitro.config.toml: scheduledTasks.{json.dumps(expr)}: the deno_deploy preset cannot use this "
            f"schedule: {reason}. Deno.cron takes 5 fields in UTC (https://docs.deno.com/runtime/fundamentals/cron/)"
        ) in stderr
        assert tree_digest(project / ".output") == before


def test_the_check_command_shows_the_deno_expression(tmp_path: Path) -> None:
    project = write_project(tmp_path, PROJECT)
    proc = run_cli("check", "--dir", str(project), "--preset", "deno_deploy", "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"0 12 * * FRI#2"' in proc.stdout
