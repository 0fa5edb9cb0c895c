"""Exactly once across replicas (`scheduler.lock`, Redis) and the per-task overlap policy.

Real redis-server processes on free loopback ports (started and stopped here), real bundles
(node_server, node_cluster, bun, deno_server) in real Node, Bun and Deno, and a `* * * * * *`
schedule appending to one shared file. tests/js/lock_guards.mjs covers the races a timed run
cannot force.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
from conftest import (
    BIN,
    NODE,
    REPO,
    build_project,
    free_port,
    log_lines,
    normalize_paths,
    preview_argv,
    run_cli,
    wait_until,
    write_project,
)
from lock_replicas import (
    GRACE_S,
    OUTAGE,
    RECOVERED,
    RUNTIMES,
    SLOW,
    TICK,
    assert_exactly_once,
    assert_one_at_a_time,
    built,
    claiming_clients,
    config,
    sleep_until,
    slow_runs,
    start_replicas,
    tick_counts,
    whole_seconds,
)
from nitro_build import build
from nitro_build.errors import CompilerError

# ---------------------------------------------------------------- build side


def test_lock_options_reach_the_registry_without_the_url(tmp_path, snapshot_file) -> None:
    lock = 'driver = "redis"\nprefix = "shop"\nonLockError = "run"\n'
    project = write_project(
        tmp_path / "p",
        {
            "nitro.config.toml": config("tick", lock) + '\n[tasks.tick]\noverlap = "allow"\n',
            "tasks/tick.ts": TICK,
        },
    )
    build_project(project)
    registry = (project / ".nitro/build/node_server/registry.mjs").read_text()
    assert normalize_paths(registry, project) == snapshot_file(name="registry.mjs")
    options = json.loads(registry.rsplit("export const options = ", 1)[1].rstrip(";\n"))
    assert options == {
        "dev": False,
        "preset": "node_server",
        "taskOverlap": {"tick": "allow"},
        "schedulerLock": {"driver": "redis", "onLockError": "run", "prefix": "shop", "url": None},
    }


def test_without_lock_or_overlap_settings_the_options_are_unchanged(tmp_path) -> None:
    project = built(tmp_path / "p", "tick", TICK, None)
    registry = (project / ".nitro/build/node_server/registry.mjs").read_text()
    assert registry.endswith('export const options = {"dev":false,"preset":"node_server"};\n')


BAD_URLS = [
    ("http://cache:6379", "unknown scheme http://"),
    ("redis://cache:99999", "port out of range 1-65535: 99999"),
    ("redis://cache:6379/zero", "the path must be a database number such as /0, got '/zero'"),
    ("redis:///0", "no host"),
    ("redis://:pw@cache?db=1", "query strings and fragments are not supported"),
    ("redis://a:1,b:2", "several hosts need redis+sentinel:// or redis+cluster://"),
    ("redis+sentinel://a:26379", "name the master: redis+sentinel://host:26379/mymaster"),
    ("redis+cluster://a:1,b:2/3", "a Redis Cluster has only database 0"),
    # No scheme: the user info is still recognised, and the password hidden.
    ("user:S3cret@host:6379", "no scheme"),
]
URL_SHAPE = (
    "redis://[user:password@]host[:port][/db], redis+sentinel://[user:password@]host[:port][,host[:port]...]"
    "/master[/db] or redis+cluster://[user:password@]host[:port][,host[:port]...] (rediss for TLS)"
)


def test_bad_lock_url_fails_the_build_and_keeps_the_previous_output(tmp_path) -> None:
    project = built(tmp_path / "p", "tick", TICK, 'driver = "redis"\n')
    before = (project / ".output/server/index.mjs").read_bytes()
    for i, (url, problem) in enumerate(BAD_URLS):
        (project / "nitro.config.toml").write_text(config("tick", f'driver = "redis"\nurl = "{url}"\n'))
        shown = url.replace(":pw@", ":***@").replace(":S3cret@", ":***@")
        expected = (
            f"nitro.config.toml: scheduler.lock.url: {shown!r} is not a usable Redis URL ({problem}); "
            f"write it as {URL_SHAPE}, or leave it out and set NITRO_SCHEDULER_REDIS_URL at run time"
        )
        if i == 0:  # through the CLI once; the other URLs in-process, which is much faster
            proc = run_cli("build", "--dir", str(project))
            assert (proc.returncode, proc.stderr.strip()) == (1, f"error: {expected}")
        else:
            with pytest.raises(CompilerError) as caught:
                build(project, "node_server")
            assert str(caught.value) == expected
        assert (project / ".output/server/index.mjs").read_bytes() == before


def test_password_in_the_lock_url_warns_and_strict_refuses(tmp_path) -> None:
    lock = 'driver = "redis"\nurl = "redis://app:hunter2@cache:6379/1"\n'
    project = write_project(
        tmp_path / "p", {"nitro.config.toml": config("tick", lock), "tasks/tick.ts": TICK}
    )
    warning = (
        "nitro.config.toml: scheduler.lock.url: the URL contains a password, which is written "
        "into the bundle; remove it from the config and set NITRO_SCHEDULER_REDIS_URL at run time instead"
    )
    proc = run_cli("build", "--dir", str(project))
    assert proc.returncode == 0, proc.stderr
    assert f"warning: {warning}" in proc.stderr
    strict = run_cli("build", "--dir", str(project), "--strict")
    assert strict.returncode == 1
    assert "hunter2" not in strict.stderr
    assert f"error: {warning} (--strict turns warnings into errors)" in strict.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[scheduler.lock]\ndriver = "redis"\nonLockError = "sometimes"\n',
            "nitro.config.toml: scheduler.lock.onLockError: input should be 'skip' or 'run', got 'sometimes'",
        ),
        (
            '[scheduler.lock]\ndriver = "memcached"\n',
            "nitro.config.toml: scheduler.lock.driver: input should be 'redis', got 'memcached'",
        ),
        (
            '[tasks.tick]\noverlap = "queue"\n',
            "nitro.config.toml: tasks.tick.overlap: input should be 'skip' or 'allow', got 'queue'",
        ),
    ],
)
def test_bad_lock_and_overlap_values_name_the_key(tmp_path, extra, message) -> None:
    project = write_project(
        tmp_path / "p", {"nitro.config.toml": config("tick", None) + "\n" + extra, "tasks/tick.ts": TICK}
    )
    with pytest.raises(CompilerError) as caught:
        build(project, "node_server")
    assert str(caught.value) == message


# ---------------------------------------------------------------- the lock itself, per runtime


@pytest.mark.parametrize("runtime", ["node", "bun", "deno"])
def test_lock_guards_on_each_runtime(redis, runtime) -> None:
    plain, auth = redis(), redis("--requirepass", "s3cret")
    env = {
        **os.environ,
        "REDIS_URL": plain.url,
        "AUTH_URL": f"redis://:s3cret@127.0.0.1:{auth.port}/2",
        "DEAD_URL": f"redis://127.0.0.1:{free_port()}",
        "NO_COLOR": "1",
    }
    env.pop("NITRO_SCHEDULER_REDIS_URL", None)
    argv = {"node": [NODE], "bun": [str(BIN / "bun")], "deno": [str(BIN / "deno"), "run", "-A"]}[runtime]
    proc = subprocess.run(
        [*argv, str(REPO / "tests/js/lock_guards.mjs")], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    skip_effect = 'skipping scheduled firings until it is back (set scheduler.lock.onLockError = "run" to run them anyway)'
    dead = f"error [nitro] scheduler lock: Redis at {env['DEAD_URL']} is unavailable (connect ECONNREFUSED {env['DEAD_URL'][8:]}); "
    assert got == {
        "winners_per_firing": [1, 1, 1, 1, 1],
        "claim_pttl_ok": True,
        "late_claim": False,
        "silent_losers": True,
        "lease_pttl_ok": True,
        "b_during_a": False,
        "b_skip_logged": 1,
        "lease_after_run": None,
        "b_after_a": True,
        "foreign_lease_kept": "someone-else",
        "waits_for_delayed_run": True,
        "waited_for_it": True,
        "on_time_run_skips": False,
        "skipped_at_once": True,
        "waits_for_unrenewed_lease": True,
        "local_second": False,
        "local_skip_logged": 1,
        "allow_second": True,
        "local_after": True,
        "dead_outcomes": {"skip": [False] * 4, "run": [True] * 4},
        "dead_skip_errors": 1,
        "dead_run_errors": 1,
        "dead_skip_message": dead + skip_effect,
        "dead_run_message": dead
        + 'running scheduled tasks without the lock (onLockError = "run": a firing may run on more than one replica)',
        "auth_claim": True,
        "auth_key_in_db": 1,
        "bad_auth": [False, False],
        "bad_auth_errors": [
            "error [nitro] scheduler lock: Redis at redis://:***@127.0.0.1:PORT/2 is unavailable "
            f"(WRONGPASS invalid username-password pair or user is disabled.); {skip_effect}"
        ],
        "no_url": [False, False],
        "no_url_errors": [
            "error [nitro] scheduler lock: Redis at (none) is unavailable (no URL: set "
            "NITRO_SCHEDULER_REDIS_URL at run time, or scheduler.lock.url in the config); " + skip_effect
        ],
    }


TLS_CLAIMS = """import { scheduleGuards } from %s;
const lines = [];
const log = { log: () => {}, warn: () => {}, error: (m) => lines.push(m) };
const guards = scheduleGuards({ schedulerLock: { driver: "redis", prefix: "tls" }, taskOverlap: { tick: "allow" } }, { runTask: async () => {}, log });
const claims = [await guards.claim("tick", 1000), await guards.claim("tick", 1000), await guards.claim("tick", 2000)];
guards.close();
console.log(JSON.stringify({ claims, errors: lines }));
"""


@pytest.mark.parametrize("runtime", ["node", "bun"])
def test_rediss_url_connects_over_verified_tls(tmp_path, redis, runtime) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not on PATH: install it with `apt-get install -y openssl`")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = redis(tls=(cert, key))
    script = tmp_path / "claims.mjs"
    script.write_text(TLS_CLAIMS % json.dumps(str(REPO / "templates/runtime/lock.mjs")))
    argv = [NODE if runtime == "node" else str(BIN / "bun"), str(script)]

    def claims(**env: str) -> dict:
        full = {
            **os.environ,
            "NITRO_SCHEDULER_REDIS_URL": server.url.replace("127.0.0.1", "localhost"),
            **env,
        }
        proc = subprocess.run(argv, env=full, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    assert claims(NODE_EXTRA_CA_CERTS=str(cert)) == {"claims": [True, False, True], "errors": []}
    untrusted = claims()
    assert untrusted["claims"] == [False, False, False]
    assert len(untrusted["errors"]) == 1 and re.search("self.signed certificate", untrusted["errors"][0])


# ---------------------------------------------------------------- replicas of real bundles


def test_three_node_replicas_run_each_firing_once_and_ride_out_a_redis_outage(
    tmp_path, redis, start_server
) -> None:
    server = redis()
    project = built(tmp_path / "p", "tick", TICK, 'driver = "redis"\nprefix = "e2e"\n')
    state = tmp_path / "ticks.log"
    replicas = start_replicas(start_server, project, server.url, state, ["node"] * 3)

    # 10 s with Redis up: every firing time exactly once, shared between the replicas.
    t0 = time.time()
    sleep_until(t0 + 10)
    t1 = time.time()
    assert_exactly_once(tick_counts(state), whole_seconds(t0, t1))

    # Redis stops for ~3 s: firings in between are skipped, not run late or twice.
    server.stop()
    down = time.time()
    sleep_until(down + 3)
    restarting = time.time()
    server.start()
    up = time.time()
    wait_until(lambda: max(tick_counts(state)) > up * 1000, 10, "a firing after Redis came back")
    sleep_until(up + 2 + GRACE_S + 3)
    end = time.time()

    # The restarted Redis lost its data (no persistence): each replica saw a new run_id at its first
    # firing after `up` and started no overlap = "skip" run for GRACE_S, so that a run in progress
    # could re-assert its lease first (test_redis_data_loss.py). Every firing after that ran once.
    counts = tick_counts(state)
    assert_exactly_once(counts, whole_seconds(t0, t1) | whole_seconds(up + 1 + GRACE_S, end))
    during = sorted(ms for ms in counts if down * 1000 < ms < (restarting - 0.3) * 1000)
    assert not during, f"firings ran while Redis was down: {during}"
    for replica in replicas:
        assert replica.output.count(OUTAGE) == 1, replica.output
        assert replica.output.count(RECOVERED) == 1, replica.output
        assert f"{server.url} {OUTAGE} (" in replica.output
        assert replica.output.count("restarted (its run_id changed); it may have lost") == 1, replica.output


def test_node_cluster_bun_and_deno_server_replicas_share_one_lock(tmp_path, redis, start_server) -> None:
    server = redis()
    state = tmp_path / "ticks.log"
    lock = 'driver = "redis"\n'
    presets = ("node_server", "node_cluster", "bun", "deno_server")
    node, cluster, bun, deno = (built(tmp_path / p, "tick", TICK, lock, p) for p in presets)
    # deno_server's own preview command (its narrow permissions include the lock's variable),
    # plus what this test's task needs: its two variables and writing the shared file.
    preview = preview_argv(deno)
    flags = [f"{f},STATE_FILE,REPLICA" if f.startswith("--allow-env=") else f for f in preview[2:-1]]
    assert "NITRO_SCHEDULER_REDIS_URL" in next(f for f in flags if f.startswith("--allow-env="))
    deno_argv = [str(BIN / "deno"), "run", *flags, f"--allow-write={state}", preview[-1]]
    replicas = [
        *start_replicas(start_server, node, server.url, state, ["node"]),
        # The cluster primary decides which worker runs a firing, after winning it in Redis.
        *start_replicas(
            start_server,
            cluster,
            server.url,
            state,
            [("cluster", RUNTIMES["node"])],
            NITRO_CLUSTER_WORKERS="2",
        ),
        *start_replicas(start_server, bun, server.url, state, ["bun"]),
        *start_replicas(start_server, deno, server.url, state, [("deno", deno_argv)]),
    ]
    t0 = time.time()
    sleep_until(t0 + 8)
    assert_exactly_once(tick_counts(state), whole_seconds(t0, time.time()))
    # All four replicas are in the race: one Redis connection each (cluster workers have none).
    assert len(claiming_clients(server)) == 4, claiming_clients(server)
    # The others go away: the Deno replica alone now runs every firing, none lost or doubled.
    for replica in replicas[:3]:
        assert replica.stop(signal.SIGTERM) == 0, replica.output
    alone = time.time()
    sleep_until(alone + 4)
    end = time.time()
    assert_exactly_once(tick_counts(state), whole_seconds(t0, end))
    later = [line.split()[1] for line in log_lines(state) if int(line.split()[0]) > alone * 1000]
    assert later and set(later) == {"deno"}, later
    assert all(OUTAGE not in r.output for r in replicas)


def test_a_slow_task_runs_one_at_a_time_alone_and_across_locked_replicas(
    tmp_path, redis, start_server
) -> None:
    server = redis()
    alone = built(tmp_path / "alone", "slow", SLOW, None)
    locked = built(tmp_path / "locked", "slow", SLOW, 'driver = "redis"\n')
    alone_state, locked_state = tmp_path / "alone.log", tmp_path / "locked.log"
    solo = start_replicas(start_server, alone, None, alone_state, ["node"])
    replicas = start_replicas(start_server, locked, server.url, locked_state, ["node"] * 3)
    t0 = time.time()
    sleep_until(t0 + 9)
    skipped = 'scheduled task "slow" skipped at'
    for state, servers in ((alone_state, solo), (locked_state, replicas)):
        runs = slow_runs(state)
        assert_one_at_a_time(runs)
        # Firings in the first 6.5 s of the window have finished: every third one ran, no more.
        window = [r for r in runs if t0 * 1000 <= r[0] <= (t0 + 6.5) * 1000]
        assert 2 <= len(window) <= 3, runs
        assert sum(s.output.count(skipped) for s in servers) >= 2 * (len(window) - 1)
    assert "on another replica" not in solo[0].output
