"""The scheduler lock's Redis URL: the three forms (one server, Sentinel, Cluster) and its password,
which is never printed, in any form of URL, at build time or at run time."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import NODE, NODE_BUNDLE, REPO, free_port, run_cli, write_project
from lock_replicas import TICK, built, config

SECRET = "S3cret"
LOCK_PROBE = REPO / "tests/js/lock_probe.mjs"
# Each with the password S3cret, none usable: every one is a build error.
UNUSABLE = [
    f"user:{SECRET}@host:6379",  # no scheme (the reported case)
    f"default:{SECRET}@127.0.0.1:6379/0",
    f"{SECRET}@host",  # user info without a colon may be a password
    f"redis://user:{SECRET}@host:99999",
    f"redis://:{SECRET}@host/zero",
    f"redis://:{SECRET}/with@sign@host/x/y",  # raw / and @ in the password
    f"redis+sentinel://:{SECRET}@a:26379,b:26380",  # no master name
    f"unix://:{SECRET}@/tmp/redis.sock",
    f"redis://u:{SECRET}@h:6379?tls=1",
]
# Usable, each with a password: a build warning that names no secret.
USABLE = [
    f"redis://u:{SECRET}@cache:6379/1",
    f"rediss://:{SECRET}@cache",
    f"redis+sentinel://:{SECRET}@s1:26379,s2:26380/mymaster/2",
    f"redis+cluster://app:{SECRET}@n1:7000,n2:7001",
    f"rediss+cluster://:{SECRET}@[::1]:7000,[::1]:7001",
]


def test_build_never_prints_the_lock_url_password(tmp_path) -> None:
    files = {"nitro.config.toml": config("tick", None), "tasks/tick.ts": TICK}
    project = write_project(tmp_path / "p", files)

    def cli(url: str, *flags: str) -> subprocess.CompletedProcess:
        (project / "nitro.config.toml").write_text(config("tick", f'driver = "redis"\nurl = "{url}"\n'))
        proc = run_cli("build", "--dir", str(project), *flags)
        output = proc.stdout + proc.stderr
        assert SECRET not in output, (url, flags, output)
        return proc

    for url in UNUSABLE:
        for flags in ([], ["--json"]):
            proc = cli(url, *flags)
            assert proc.returncode == 1, proc.stderr
            assert "is not a usable Redis URL" in proc.stdout + proc.stderr
    for url in USABLE:  # --strict: the password warning becomes the error
        proc = cli(url, "--strict")
        assert proc.returncode == 1 and "the URL contains a password" in proc.stderr, proc.stderr
    proc = cli(USABLE[2], "--json")
    assert proc.returncode == 0 and "the URL contains a password" in proc.stdout + proc.stderr


def test_runtime_never_logs_the_lock_url_password(tmp_path) -> None:
    dead = free_port()  # nothing listens: the connection error is logged too
    urls = [u.replace("6379", str(dead)) for u in UNUSABLE] + [
        f"redis://default:{SECRET}@127.0.0.1:{dead}",
        f"redis+sentinel://:{SECRET}@127.0.0.1:{dead}/mymaster",
        f"redis+cluster://u:{SECRET}@127.0.0.1:{dead}",
    ]
    for url in urls:
        env = {**os.environ, "NITRO_SCHEDULER_REDIS_URL": url}
        proc = subprocess.run([NODE, str(LOCK_PROBE)], env=env, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)
        assert got["claims"] == [False, False], url
        assert got["lines"] and "is unavailable" in got["lines"][0], (url, got)
        assert SECRET not in proc.stdout + proc.stderr, (url, got)


def test_a_bundle_given_a_url_without_scheme_logs_it_redacted(tmp_path, start_server) -> None:
    project = built(tmp_path / "p", "tick", TICK, 'driver = "redis"\n')
    url = f"default:{SECRET}@127.0.0.1:{free_port()}"
    server = start_server(NODE_BUNDLE, project, {"NITRO_SCHEDULER_REDIS_URL": url, "NO_COLOR": "1"})
    shown = url.replace(SECRET, "***")
    server.wait_for(
        f"[nitro] scheduler lock: Redis at {shown} is unavailable ({shown} is not a usable "
        "Redis URL (no scheme); write it as redis://[user:password@]host[:port][/db]"
    )
    assert SECRET not in server.output


@pytest.mark.parametrize("url", USABLE)
def test_the_runtime_accepts_every_url_the_build_accepts(url) -> None:
    module = json.dumps(str(REPO / "templates/runtime/redis_url.mjs"))
    probe = f"import {{ parseRedisUrl as p }} from {module}; console.log(JSON.stringify(p(process.argv[1])));"
    proc = subprocess.run(
        [NODE, "--input-type=module", "-e", probe, url], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    target = json.loads(proc.stdout)
    expected_topology = "sentinel" if "sentinel" in url else "cluster" if "cluster" in url else "single"
    assert target["topology"] == expected_topology
    assert target["password"] == (SECRET if SECRET in url else "")
    assert len(target["hosts"]) == url.count(",") + 1
    if expected_topology == "sentinel":
        assert (target["master"], target["db"], target["hosts"][0]["port"]) == ("mymaster", 2, 26379)
