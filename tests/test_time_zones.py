"""Time zones (README "Time zones"): zoned schedules fire at the zone's wall clock in real runtimes,
bad zones are refused naming the key, and the summary shows the zone.

The cron arithmetic itself is compared with croner's `timezone` option in
tests/test_cron_conformance.py; here each server runtime proves it reads the zone, not its TZ.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import BIN, NODE, TASKS_ON, build_project, run_cli, wait_until, write_project
from test_build_errors import tree_digest

# 26 hours apart: the zone's current hour is never the process's, so a firing within seconds
# comes from the schedule's zone (in the process's zone the same hours are 2 hours away).
ZONE, PROCESS_TZ = "Pacific/Kiritimati", "Etc/GMT+12"
TASK = (
    "export default defineTask({ run({ payload }) {\n"
    "  console.log(`zoned ${payload.scheduledTime}`);\n} });\n"
)


def zoned_project(root: Path, key_style: str) -> tuple[Path, set[int]]:
    """A project whose schedule fires every second during this hour and the next in ZONE."""
    hour = datetime.now(ZoneInfo(ZONE)).hour
    hours = {hour, (hour + 1) % 24}
    expr = f"* * {','.join(map(str, sorted(hours)))} * * *"
    if key_style == "prefix":
        config = f'{TASKS_ON}[scheduledTasks]\n"CRON_TZ={ZONE} {expr}" = "zoned"\n'
    else:
        config = f'{TASKS_ON}[scheduler]\ntimezone = "{ZONE}"\n[scheduledTasks]\n"{expr}" = "zoned"\n'
    return write_project(root, {"nitro.config.toml": config, "tasks/zoned.ts": TASK}), hours


RUNTIMES = {
    "node_server": lambda: [NODE, ".output/server/index.mjs"],
    "bun": lambda: [str(BIN / "bun"), ".output/server/index.mjs"],
    "deno_server": lambda: [
        str(BIN / "deno"),
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--allow-sys",
        ".output/server/index.mjs",
    ],
}


@pytest.mark.parametrize(
    ("preset", "key_style"),
    [("node_server", "prefix"), ("node_server", "config"), ("bun", "prefix"), ("deno_server", "config")],
)
def test_server_fires_at_the_zones_wall_clock(tmp_path: Path, start_server: Any, preset: str, key_style: str):
    project, hours = zoned_project(tmp_path / "p", key_style)
    build_project(project, preset)
    server = start_server(RUNTIMES[preset](), project, {"TZ": PROCESS_TZ})
    found = wait_until(
        lambda: re.search(r"^zoned (\d+)$", server.output, re.M),
        timeout=15,
        what="a firing in the schedule's zone",
    )
    fired = datetime.fromtimestamp(int(found[1]) / 1000, ZoneInfo(ZONE))
    assert fired.hour in hours
    assert datetime.fromtimestamp(int(found[1]) / 1000, ZoneInfo(PROCESS_TZ)).hour not in hours


def test_summary_shows_the_zone(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "nitro.config.toml": f'{TASKS_ON}[scheduledTasks]\n"CRON_TZ=Europe/Berlin 0 9 * * *" = "zoned"\n'
            '"0 3 * * *" = "zoned2"\n',
            "tasks/zoned.ts": TASK,
            "tasks/zoned2.ts": TASK,
        },
    )
    proc = build_project(project, "node_server")
    line = next(x for x in proc.stdout.splitlines() if "CRON_TZ=Europe/Berlin" in x)
    found = re.search(r"next: (\S+) \(Europe/Berlin\)", line)
    assert found, line
    nxt = datetime.fromisoformat(found[1])
    assert (nxt.hour, nxt.minute) == (9, 0) and nxt.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert "(the server's time zone)" in next(x for x in proc.stdout.splitlines() if "0 3 * * *" in x)
    data = json.loads(run_cli("build", "--dry-run", "--json", "--dir", str(project)).stdout)
    assert {s["cron"]: s["timeZone"] for s in data["schedules"]} == {
        "0 3 * * *": "server",
        "CRON_TZ=Europe/Berlin 0 9 * * *": "Europe/Berlin",
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            '[scheduler]\ntimezone = "Europe/Berln"\n',
            "nitro.config.toml: scheduler.timezone: unknown time zone 'Europe/Berln'; did you mean 'Europe/Berlin'?",
        ),
        (
            '[scheduledTasks]\n"CRON_TZ=America/New_Yrok 0 9 * * *" = "zoned"\n',
            'nitro.config.toml: scheduledTasks."CRON_TZ=America/New_Yrok 0 9 * * *": unknown time zone '
            "'America/New_Yrok'; did you mean 'America/New_York'?",
        ),
        (
            '[scheduledTasks]\n"CRON_TZ= 0 9 * * *" = "zoned"\n',
            'scheduledTasks."CRON_TZ= 0 9 * * *": CRON_TZ= needs an IANA zone name',
        ),
        (
            '[scheduler]\ntimezone = "America/New_York"\n[scheduledTasks]\n"0 9 * * *" = "zoned"\n',
            'scheduledTasks."0 9 * * *": the vercel preset cannot fire it in America/New_York: time zone '
            "America/New_York changes its UTC offset",
        ),
    ],
)
def test_bad_zones_are_refused_and_leave_the_output(tmp_path: Path, config: str, message: str) -> None:
    project = write_project(tmp_path / "p", {"nitro.config.toml": TASKS_ON, "tasks/zoned.ts": TASK})
    build_project(project, "vercel")
    before = tree_digest(project / ".vercel")
    (project / "nitro.config.toml").write_text(TASKS_ON + config)
    proc = run_cli("build", "--preset", "vercel", "--dir", str(project))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr
    assert tree_digest(project / ".vercel") == before


def test_vercel_deploys_a_fixed_offset_zone_in_utc(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        {
            "nitro.config.toml": f'{TASKS_ON}[scheduler]\ntimezone = "Asia/Kolkata"\n'
            '[scheduledTasks]\n"30 9 * * 1-5" = "zoned"\n',
            "tasks/zoned.ts": TASK,
        },
    )
    proc = build_project(project, "vercel")
    assert '"0 4 * * 1-5" (UTC), which fires at the same instants' in proc.stderr
    crons = json.loads((project / ".vercel/output/config.json").read_text())["crons"]
    assert [c["schedule"] for c in crons] == ["0 4 * * 1-5"]


def test_deno_deploy_uses_the_utc_only_helper(tmp_path: Path) -> None:
    config = f'{TASKS_ON}[scheduledTasks]\n"CRON_TZ=Asia/Tokyo 0 9 * * *" = "zoned"\n'
    project = write_project(tmp_path / "p", {"nitro.config.toml": config, "tasks/zoned.ts": TASK})
    proc = run_cli("build", "--preset", "deno_deploy", "--dry-run", "--json", "--dir", str(project))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [s["cron"] for s in data["schedules"]] == ["0 0 * * *"]
    assert any('deployed as "0 0 * * *" (UTC)' in w for w in data["warnings"])
    (project / "nitro.config.toml").write_text(config.replace("Asia/Tokyo", "America/Chicago"))
    proc = run_cli("build", "--preset", "deno_deploy", "--dir", str(project))
    assert proc.returncode == 1
    assert "the deno_deploy preset cannot fire it in America/Chicago" in proc.stderr


def test_locked_replicas_in_different_tz_claim_each_zoned_firing_once(
    tmp_path: Path, redis: Any, start_server: Any
):
    """The claim key is the firing's UTC instant: replicas whose TZ differs agree on it."""
    from lock_replicas import (
        TICK,
        assert_exactly_once,
        built,
        sleep_until,
        start_replicas,
        tick_counts,
        whole_seconds,
    )

    hour = datetime.now(ZoneInfo(ZONE)).hour
    cron = f"CRON_TZ={ZONE} * * {hour},{(hour + 1) % 24} * * *"
    server = redis()
    project = built(tmp_path / "p", "tick", TICK, 'driver = "redis"\nprefix = "tz"\n', cron=cron)
    state = tmp_path / "ticks.log"
    replicas = [
        (f"node-{tz}", [NODE, ".output/server/index.mjs"])
        for tz in ("UTC", "America/New_York", "Asia/Kolkata")
    ]
    servers = []
    for name, argv in replicas:  # each replica with its own TZ
        tz = name.removeprefix("node-")
        servers += start_replicas(start_server, project, server.url, state, [(name, argv)], TZ=tz)
    t0 = time.time()
    sleep_until(t0 + 6)
    t1 = time.time()
    counts = tick_counts(state)
    assert_exactly_once(counts, whole_seconds(t0, t1))  # per-zone keys would run each firing 3 times
