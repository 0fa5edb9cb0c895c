"""One run history for every replica: three node_server replicas with `scheduler.lock` on a real
redis-server keep their runs in it (templates/runtime/run_store.mjs), so each lists the same
runs, every firing once; HTTP and bundle CLI runs join the same history."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from conftest import NODE_BUNDLE
from lock_replicas import built, sleep_until, start_replicas, whole_seconds

TOKEN = "tok-history-3a9"
AUTH = {"authorization": f"Bearer {TOKEN}"}
TICK = 'export default defineTask({ run({ payload }) { return { result: payload.scheduledTime ?? "manual" }; } });\n'


def runs_of(replica) -> dict:
    status, body = replica.request("GET", "/_nitro/tasks/runs", headers=AUTH)
    assert status == 200, body
    return body["runs"]


def test_three_replicas_share_one_history_with_each_firing_once(tmp_path: Path, redis, start_server) -> None:
    server = redis()
    project = built(tmp_path / "p", "tick", TICK, 'driver = "redis"\nprefix = "hist"\n')
    state = tmp_path / "unused.log"
    replicas = start_replicas(start_server, project, server.url, state, ["node"] * 3, NITRO_TASKS_TOKEN=TOKEN)
    t0 = time.time()
    sleep_until(t0 + 5)
    # An HTTP run on one replica and a bundle CLI run (its own process) join the same history.
    assert replicas[0].request("POST", "/_nitro/tasks/tick", headers=AUTH)[0] == 200
    env = {**os.environ, "NITRO_SCHEDULER_REDIS_URL": server.url}
    cli = subprocess.run(
        [*NODE_BUNDLE, "task", "run", "tick"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cli.returncode == 0, cli.stderr
    t1 = time.time()
    cutoff_ms = (t1 - 1.5) * 1000  # firings before this have ended everywhere

    histories = [runs_of(replica)["tick"] for replica in replicas]
    settled = [
        [r for r in h if r["trigger"] != "schedule" or r["result"]["result"] <= cutoff_ms] for h in histories
    ]
    assert settled[0] == settled[1] == settled[2], "replicas list different histories"
    scheduled = [r for r in settled[0] if r["trigger"] == "schedule"]
    firings = [r["result"]["result"] for r in scheduled]
    assert len(firings) == len(set(firings)), f"a firing recorded twice: {sorted(firings)}"
    assert whole_seconds(t0, t1 - 1.5) <= set(firings), (sorted(firings), sorted(whole_seconds(t0, t1 - 1.5)))
    assert all(r["cron"] == "* * * * * *" and r["outcome"] == "success" for r in scheduled)
    assert [r["trigger"] for r in settled[0] if r["trigger"] != "schedule"] == ["cli", "http"]  # newest first
    # The listing carries the same runs per task.
    status, listing = replicas[2].request("GET", "/_nitro/tasks", headers=AUTH)
    assert status == 200
    assert {r["id"] for r in settled[2]} <= {r["id"] for r in listing["tasks"]["tick"]["runs"]}

    # Bounded: after 50+ runs the shared list holds the last 50, in Redis too.
    for _ in range(55):
        replicas[1].request("POST", "/_nitro/tasks/tick", headers=AUTH)
    assert all(len(runs_of(replica)["tick"]) == 50 for replica in replicas)
    length = subprocess.run(
        ["redis-cli", "-p", str(server.port), "LLEN", "{hist:runs}:task:tick"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.strip()
    assert length == "50"
    # The schedule keeps firing every second meanwhile, so the newest entry may be a firing: the
    # 55 posts (made in a second or two) must fill most of the 50 places.
    newest = runs_of(replicas[0])["tick"]
    assert sum(r["trigger"] == "http" for r in newest) >= 40, [r["trigger"] for r in newest]


def test_node_cluster_workers_record_scheduled_runs_as_schedule(tmp_path: Path, redis, start_server) -> None:
    """The primary dispatches firings to workers: the trigger travels with the run."""
    server = redis()
    project = built(tmp_path / "c", "tick", TICK, 'driver = "redis"\nprefix = "cl"\n', preset="node_cluster")
    env = {"NITRO_TASKS_TOKEN": TOKEN, "NITRO_CLUSTER_WORKERS": "2", "NITRO_SCHEDULER_REDIS_URL": server.url}
    replica = start_server(NODE_BUNDLE, project, env)
    t0 = time.time()
    sleep_until(t0 + 3.5)
    runs = runs_of(replica)["tick"]
    assert len(runs) >= 2
    assert {(r["trigger"], r.get("cron")) for r in runs} == {("schedule", "* * * * * *")}
