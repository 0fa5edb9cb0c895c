"""The scheduler lock on real Redis topologies: one server behind a network that drops idle
connections, Sentinel through a fail-over, Cluster through a fail-over, and a restart that loses
the data while a task runs. Three node_server replicas each time; every firing runs exactly once.

Real redis-server / redis-sentinel processes on free loopback ports (tests/redis_nodes.py),
started and stopped by each test.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BIN, NODE, REPO, wait_until
from lock_replicas import (
    GRACE_S,
    OUTAGE,
    SLOW,
    TICK,
    assert_exactly_once,
    assert_one_at_a_time,
    built,
    sleep_until,
    slow_runs,
    start_replicas,
    tick_counts,
    whole_seconds,
)
from redis_nodes import ClusterSetup, IdleDropProxy, SentinelSetup, redis_cli

LOCK = 'driver = "redis"\nprefix = "topo"\n'
# A claim keeps trying through a fail-over for at least 10 s (templates/runtime/lock.mjs
# RETRY_MIN_MS): runs land within this long after their firing.
LATE_S = 10


PROBE_RUNTIMES = {"node": [NODE], "bun": [str(BIN / "bun")], "deno": [str(BIN / "deno"), "run", "-A"]}


def probe(url: str, count: int, runtime: str = "node") -> dict:
    """tests/js/lock_probe.mjs: `count` claims through the lock at `url`, and what it logged."""
    env = {**os.environ, "NITRO_SCHEDULER_REDIS_URL": url}
    argv = [*PROBE_RUNTIMES[runtime], str(REPO / "tests/js/lock_probe.mjs"), str(count)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def stoppable():
    """stoppable(thing) -> thing, whose stop() is called after the test."""
    things = []
    yield lambda thing: things.append(thing) or thing
    for thing in reversed(things):
        thing.stop()


def run_replicas(start_server, project: Path, url: str, state: Path) -> list:
    return start_replicas(start_server, project, url, state, ["node"] * 3)


@pytest.mark.parametrize("replies_only", [False, True], ids=["both-ways", "replies-lost"])
def test_a_network_that_drops_idle_connections_loses_no_firing(
    tmp_path, redis, start_server, stoppable, replies_only
) -> None:
    # Every 2 s: longer than the proxy's 1.5 s idle limit, so every claim finds its connection dead
    # (before keepalive and the retry on a fresh connection, every other firing was skipped).
    # replies-lost: the first SET NX does reach Redis, only its answer is lost; the winner's retry
    # then answers nil, and reading the key (our owner token) tells that the claim is ours.
    server = redis()
    proxy = stoppable(IdleDropProxy(server.port, idle=1.5, replies_only=replies_only))
    project = built(tmp_path / "p", "tick", TICK, LOCK, cron="*/2 * * * * *")
    state = tmp_path / "ticks.log"
    replicas = run_replicas(start_server, project, f"redis://127.0.0.1:{proxy.port}", state)
    t0 = time.time()
    sleep_until(t0 + 12)
    t1 = time.time()
    expected = {ms for ms in whole_seconds(t0, t1) if ms % 2000 == 0}
    wait_until(lambda: set(tick_counts(state)) >= expected, LATE_S, "the late claims to land")
    assert_exactly_once(tick_counts(state), expected)
    assert proxy.dropped >= 3, "the proxy never dropped a connection: the test did not test anything"
    for replica in replicas:
        assert OUTAGE not in replica.output, replica.output


def test_sentinel_follows_a_fail_over(tmp_path, start_server, stoppable) -> None:
    setup = stoppable(SentinelSetup(tmp_path / "sentinel"))
    first_master = setup.master_port()
    # A plain URL naming the replica: every claim fails with a named error saying what to do.
    replica = probe(f"redis://127.0.0.1:{setup.replica.port}", 2)
    assert replica["claims"] == [False, False]
    for runtime in ("bun", "deno"):  # the same client on Bun and Deno asks the sentinels
        assert probe(setup.url, 1, runtime)["claims"] == [runtime == "bun"], runtime
    named = (
        f"READONLY You can't write against a read only replica. (127.0.0.1:{setup.replica.port} is a "
        "read-only replica: point the URL at the master, or use redis+sentinel://sentinel:26379/master "
        "so fail-overs are followed)"
    )
    assert named in "\n".join(replica["lines"])
    project = built(tmp_path / "p", "tick", TICK, LOCK)
    state = tmp_path / "ticks.log"
    replicas = start_replicas(
        start_server, project, setup.url, state, ["node"] * 3, NITRO_SCHEDULER_LOCK_TRACE="1"
    )
    t0 = time.time()
    sleep_until(t0 + 3)
    setup.failover()
    assert setup.master_port() != first_master
    failed_over = time.time()
    # The old master is demoted (READONLY, its clients disconnected): every replica asks again.
    wait_until(lambda: max(tick_counts(state), default=0) > (failed_over + 2) * 1000, 10, "firings after it")
    sleep_until(time.time() + 4)
    t1 = time.time()
    trace = "".join(f"\n--- {r.log_path.name}\n{r.output}" for r in replicas)  # every attempt, on failure
    wait_until(
        lambda: set(tick_counts(state)) >= whole_seconds(t0, t1), LATE_S, f"the late claims to land{trace}"
    )
    assert_exactly_once(tick_counts(state), whole_seconds(t0, t1), trace)
    # The newest claims live on the new master.
    keys = redis_cli(setup.master_port(), "KEYS", "topo:firing:*").split()
    assert any(int(key.split(":")[2]) > (failed_over + 1) * 1000 for key in keys), keys
    for replica in replicas:
        assert OUTAGE not in replica.output, replica.output


def test_cluster_follows_moved_and_a_fail_over(tmp_path, start_server, stoppable) -> None:
    cluster = stoppable(ClusterSetup(tmp_path / "cluster"))
    project = built(tmp_path / "p", "tick", TICK, LOCK)
    state = tmp_path / "ticks.log"
    replicas = run_replicas(start_server, project, cluster.url, state)
    t0 = time.time()
    sleep_until(t0 + 3)
    promoted = cluster.failover()
    failed_over = time.time()
    sleep_until(failed_over + 4)
    t1 = time.time()
    wait_until(lambda: set(tick_counts(state)) >= whole_seconds(t0, t1), LATE_S, "the late claims to land")
    assert_exactly_once(tick_counts(state), whole_seconds(t0, t1))
    # Claims are spread over the three masters' slots, the promoted one's included.
    masters = [port for port, role in cluster.roles().items() if role == "master"]
    assert promoted in masters and len(masters) == 3
    assert all(redis_cli(port, "DBSIZE") != "0" for port in masters)
    # A plain redis:// URL naming one node follows MOVED to the others: 30 claims, all won, once;
    # the same client on Bun and Deno (redis+cluster:// seeds) finds them all taken.
    seed = f"redis://127.0.0.1:{cluster.nodes[0].port}"
    assert probe(seed, 30)["claims"] == [True] * 30
    assert probe(seed, 30)["claims"] == [False] * 30
    for count, runtime in ((31, "bun"), (32, "deno")):
        assert probe(cluster.url, count, runtime)["claims"] == [False] * (count - 1) + [True], runtime
        assert probe(cluster.url, count, runtime)["claims"] == [False] * count, runtime
    for replica in replicas:
        assert OUTAGE not in replica.output, replica.output


def test_a_redis_restart_that_loses_the_lease_does_not_start_a_second_run(
    tmp_path, redis, start_server
) -> None:
    # SLOW takes 2.5 s and fires every second (overlap = "skip"). Redis restarts without
    # persistence while a run is going: the lease is gone. The holder re-asserts it within a second,
    # and the other replicas start nothing during the grace period after seeing the new server.
    server = redis()
    project = built(tmp_path / "p", "slow", SLOW, LOCK)
    state = tmp_path / "runs.log"
    replicas = run_replicas(start_server, project, server.url, state)
    t0 = time.time()

    # The first run is in progress once the lease exists: restart 0.5 s into it.
    def lease_now() -> str:
        return redis_cli(server.port, "GET", "topo:running:slow")

    lease = wait_until(lease_now, 10, "a run to hold the lease")
    time.sleep(0.5)
    server.stop()
    server.start()
    restarted = time.time()
    assert redis_cli(server.port, "EXISTS", "topo:running:slow") == "0"  # the data is gone
    wait_until(lambda: lease_now() == lease, 3, "the lease re-asserted")
    sleep_until(restarted + GRACE_S + 5)
    runs = slow_runs(state)
    assert_one_at_a_time(runs)
    assert [r for r in runs if r[1] > (restarted + GRACE_S) * 1000], runs  # and runs went on after the grace
    output = "".join(r.output for r in replicas)
    assert "was gone (Redis lost it) and is set again" in output
    assert runs[0][0] >= t0 * 1000 - 1000


@pytest.mark.parametrize(
    ("topology", "stall_ms"),
    [("sentinel", 0), ("cluster", 0), ("cluster", 3000)],
    ids=["sentinel", "cluster", "cluster-stalled"],
)
def test_a_fail_over_behind_a_network_that_drops_idle_connections(
    tmp_path, start_server, stoppable, topology, stall_ms
) -> None:
    # Sentinel: the sentinels name master and replica at proxy ports. Cluster: every node is
    # announced at a proxy's port (seeds, MOVED targets). Either way the replicas' data connections
    # go dead after 1.5 s idle; firings every 2 s; a fail-over in the middle.
    # cluster-stalled: the promoted replica freezes for 3 s once the fail-over began, longer than
    # cluster-node-timeout (2 s), as a starved process on a loaded machine does: the master holds
    # writes meanwhile and the cluster answers CLUSTERDOWN for seconds (a firing near a fail-over
    # was lost this way: CLUSTERDOWN and a second command timeout ended its claim). Claims and
    # leases keep trying through it, and firings it delayed run late, once each, in order.
    kind = SentinelSetup if topology == "sentinel" else ClusterSetup
    setup = stoppable(kind(tmp_path / topology, idle_drop=1.5))
    project = built(tmp_path / "p", "tick", TICK, LOCK, cron="*/2 * * * * *")
    state = tmp_path / "ticks.log"
    replicas = start_replicas(
        start_server, project, setup.url, state, ["node"] * 3, NITRO_SCHEDULER_LOCK_TRACE="1"
    )
    t0 = time.time()
    sleep_until(t0 + 5)
    setup.failover(stall_ms)
    sleep_until(time.time() + 6)
    t1 = time.time()
    expected = {ms for ms in whole_seconds(t0, t1) if ms % 2000 == 0}
    trace = "".join(f"\n--- {r.log_path.name}\n{r.output}" for r in replicas)  # every attempt, on failure
    wait_until(lambda: set(tick_counts(state)) >= expected, LATE_S, f"the late claims to land{trace}")
    assert_exactly_once(tick_counts(state), expected, trace)
    dropped = sum(proxy.dropped for proxy in setup.proxies)
    assert dropped >= 3, "no connection was dropped: nothing was tested"
    for replica in replicas:
        assert OUTAGE not in replica.output, replica.output


def test_sentinel_and_data_nodes_that_demand_a_password(tmp_path, stoppable) -> None:
    # requirepass on master, replica and sentinels: the URL's password opens all of them.
    setup = stoppable(SentinelSetup(tmp_path / "sentinel", password="pw-S3cret"))
    hosts = ",".join(f"127.0.0.1:{s.port}" for s in setup.sentinels)
    good = probe(f"redis+sentinel://:pw-S3cret@{hosts}/{setup.name}", 2)
    assert good["claims"] == [True, True], good
    assert setup.cli(setup.master.port, "EXISTS", "probe:firing:1000:tick") == "1"
    bad = probe(f"redis+sentinel://:wrong@{hosts}/{setup.name}", 1)
    assert bad["claims"] == [False]
    assert "WRONGPASS" in "\n".join(bad["lines"]) and "S3cret" not in "\n".join(bad["lines"]), bad


def test_an_acl_user_without_info_still_claims(redis) -> None:
    # INFO (read at each connection to notice restarts) is not needed: a least-privilege user works.
    server = redis(
        "--user",
        "default",
        "off",
        "--user",
        "lock",
        "on",
        ">pw-S3cret",
        "~probe:*",
        "+set",
        "+get",
        "+eval",
        "+ping",
    )
    got = probe(f"redis://lock:pw-S3cret@127.0.0.1:{server.port}", 2)
    assert got["claims"] == [True, True], got
    assert probe(f"redis://lock:pw-S3cret@127.0.0.1:{server.port}", 2)["claims"] == [False, False]


@pytest.mark.parametrize("topology", ["sentinel", "cluster"])
def test_a_dead_master_is_replaced_and_no_firing_runs_twice(
    tmp_path, start_server, stoppable, topology
) -> None:
    # The master stops (Cluster: the one serving the task's lease key) until its replica takes over
    # (Sentinel: down after 1 s, then promoted; Cluster: cluster-node-timeout 2 s). Firings in
    # between keep trying for 10 s and run late, once; one that could not is skipped and the outage
    # logged. Every firing after the take-over runs exactly once, and none ever runs twice.
    kind = SentinelSetup if topology == "sentinel" else ClusterSetup
    setup = stoppable(kind(tmp_path / topology))
    project = built(tmp_path / "p", "tick", TICK, LOCK)
    state = tmp_path / "ticks.log"
    replicas = run_replicas(start_server, project, setup.url, state)
    t0 = time.time()
    sleep_until(t0 + 3)
    killed = time.time()
    setup.kill_master("topo:running:tick")  # Cluster: the master of the tick's lease
    recovered = time.time()
    sleep_until(recovered + 5)
    t1 = time.time()
    wait_until(lambda: set(tick_counts(state)) >= whole_seconds(recovered + 1, t1), LATE_S, "the late claims")
    during = whole_seconds(killed, recovered + 1)

    def settled() -> bool:  # each firing of the outage ran (late), or its window ended: logged
        return set(tick_counts(state)) >= during or any(OUTAGE in replica.output for replica in replicas)

    wait_until(settled, LATE_S, "the outage's firings to run late, or the outage to be logged")
    assert_exactly_once(tick_counts(state), whole_seconds(t0, killed) | whole_seconds(recovered + 1, t1))


def test_cluster_follows_ask_during_a_slot_migration(tmp_path, stoppable) -> None:
    # The slot of the first claim's key is being migrated from its master to another: the source
    # answers -ASK for a key it does not hold, and the claim lands on the target (after ASKING).
    cluster = stoppable(ClusterSetup(tmp_path / "cluster"))
    key = "probe:firing:1000:tick"  # lock_probe.mjs's first claim
    source = cluster.owner(key)
    target = next(port for port, role in cluster.roles().items() if role == "master" and port != source)
    slot = redis_cli(source, "CLUSTER", "KEYSLOT", key)
    ids = {port: redis_cli(port, "CLUSTER", "MYID") for port in (source, target)}
    assert redis_cli(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source]) == "OK"
    assert redis_cli(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target]) == "OK"
    assert probe(cluster.url, 1)["claims"] == [True]
    on_target = subprocess.run(
        ["redis-cli", "-p", str(target)],
        input=f"ASKING\nEXISTS {key}\n",
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout.split()
    assert on_target == ["OK", "1"], on_target
    assert redis_cli(source, "EXISTS", key).startswith("ASK ")  # not on the source: it sends us on
    assert probe(cluster.url, 1)["claims"] == [False]  # and a second claim finds it there
