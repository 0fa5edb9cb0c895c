"""Replicas of real bundles racing for a scheduler lock: the projects, starting them, and reading
what ran (each run appends `<firing ms> ...` to one shared file)."""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import BIN, NODE_BUNDLE, build_project, log_lines, write_project
from redis_nodes import RedisServer

LOCK_READY = "[nitro] scheduler lock: Redis at"
OUTAGE = "is unavailable"
RECOVERED = "is reachable again"
# templates/runtime/redis_lock.mjs GRACE_MS: no overlap = "skip" run starts this long after Redis
# may have lost its data.
GRACE_S = 3


TICK = """import { appendFileSync } from "node:fs";
export default defineTask({
  meta: { description: "Appends its firing time and who ran it to $STATE_FILE" },
  run({ payload }) {
    appendFileSync(process.env.STATE_FILE, `${payload.scheduledTime} ${process.env.REPLICA}\\n`);
    return { result: "ok" };
  },
});
"""
SLOW = """import { appendFileSync } from "node:fs";
export default defineTask({
  meta: { description: "Takes 2.5 s; appends firing, start and end times to $STATE_FILE" },
  async run({ payload }) {
    const start = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    appendFileSync(process.env.STATE_FILE, `${payload.scheduledTime} ${start} ${Date.now()} ${process.env.REPLICA}\\n`);
    return { result: "ok" };
  },
});
"""


def config(task: str, lock: str | None, cron: str = "* * * * * *") -> str:
    """A config scheduling `task` (every second), with an optional `[scheduler.lock]` body."""
    text = f'[experimental]\ntasks = true\n\n[scheduledTasks]\n"{cron}" = ["{task}"]\n'
    return text + (f"\n[scheduler.lock]\n{lock}" if lock is not None else "")


def built(
    root: Path,
    task: str,
    source: str,
    lock: str | None,
    preset: str = "node_server",
    cron: str = "* * * * * *",
) -> Path:
    write_project(root, {"nitro.config.toml": config(task, lock, cron), f"tasks/{task}.ts": source})
    build_project(root, preset)
    return root


RUNTIMES = {
    "node": NODE_BUNDLE,
    "bun": [str(BIN / "bun"), ".output/server/index.mjs"],
}


def start_replicas(
    start_server,
    project: Path,
    redis_url: str | None,
    state: Path,
    runtimes: list[str | tuple[str, list[str]]],
    **env: str,
) -> list[Any]:
    """One replica per runtime (a RUNTIMES name, or (name, argv)), ready to schedule."""
    servers = []
    for i, runtime in enumerate(runtimes):
        name, argv = (f"{runtime}-{i}", RUNTIMES[runtime]) if isinstance(runtime, str) else runtime
        full = {"STATE_FILE": str(state), "REPLICA": name, "NO_COLOR": "1", **env}
        if redis_url:
            full["NITRO_SCHEDULER_REDIS_URL"] = redis_url
        servers.append(start_server(argv, project, full, ready="Listening"))
    for server in servers:
        server.wait_for(LOCK_READY if redis_url else "Listening")
    return servers


def claiming_clients(server: RedisServer) -> list[str]:
    """Redis's CLIENT LIST lines of the lock's connections whose last command was a claim (SET) or
    release (EVAL); the run history's own connections (named nitro-runs) are not in the race."""
    out = subprocess.run(
        ["redis-cli", "-p", str(server.port), "CLIENT", "LIST"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    lines = out.splitlines()
    return [
        line for line in lines if re.search(r" cmd=(set|eval) ", line) and " name=nitro-runs " not in line
    ]


def tick_counts(state: Path) -> Counter:
    """How many times each firing time (ms) was run, over all replicas."""
    return Counter(int(line.split()[0]) for line in log_lines(state))


def whole_seconds(start: float, end: float) -> set[int]:
    """Firing times (ms) of a per-second schedule strictly inside (start, end), with margins."""
    return {s * 1000 for s in range(math.ceil(start + 1), math.floor(end - 1) + 1)}


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def assert_exactly_once(counts: Counter, expected: set[int], context: str = "") -> None:
    """Every firing in `expected` ran once, none twice; `context` (replica logs) ends a failure."""
    twice = sorted(ms for ms, n in counts.items() if n > 1)
    missing = sorted(expected - set(counts))
    assert not twice, f"firings run more than once: {twice}{context}"
    assert not missing, f"firings never run: {missing} (ran: {sorted(counts)}){context}"


def slow_runs(state: Path) -> list[tuple[int, int, int, str]]:
    """(firing, start ms, end ms, replica) of each finished run."""
    return sorted(
        (int(f), int(s), int(e), who) for f, s, e, who in (line.split() for line in log_lines(state))
    )


def assert_one_at_a_time(runs: list[tuple[int, int, int, str]]) -> None:
    for before, after in itertools.pairwise(runs):
        assert after[1] >= before[2], f"runs overlap: {before} and {after}"
