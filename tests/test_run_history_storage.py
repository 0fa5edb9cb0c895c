"""One run history from the project's `storage` (templates/runtime/run_storage.mjs), and one per
node_cluster without any store (templates/runtime/run_cluster.mjs): real node_server replicas
sharing an fs mount (and a redis mount on a real redis-server), a real 2-worker cluster."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import NODE_BUNDLE, build_project, bundled_sources, write_project

TOKEN = "tok-store-7c1"
AUTH = {"authorization": f"Bearer {TOKEN}"}
TASK = "export default defineTask({ run({ payload }) { return { result: payload.n ?? null }; } });\n"


def project(root: Path, storage: str, preset: str = "node_server") -> Path:
    config = "[experimental]\ntasks = true\n" + storage
    write_project(root, {"nitro.config.toml": config, "tasks/db/tick.ts": TASK})
    build = build_project(root, preset)
    assert build.returncode == 0, build.stderr
    return root


def runs_of(server) -> list[dict]:
    status, body = server.request("GET", "/_nitro/tasks/runs", headers=AUTH)
    assert status == 200, body
    return body["runs"].get("db:tick", [])


def run(server, n: int) -> None:
    status, body = server.request("POST", "/_nitro/tasks/db:tick", body={"n": n}, headers=AUTH)
    assert status == 200, body


def assert_shared(replicas: list) -> None:
    for n in range(6):  # alternating replicas
        run(replicas[n % len(replicas)], n)
    histories = [runs_of(r) for r in replicas]
    assert histories[0] == histories[1], "replicas list different histories"
    assert [r["result"]["result"] for r in histories[0]] == [5, 4, 3, 2, 1, 0]  # each once, newest first
    assert len({r["id"] for r in histories[0]}) == 6
    for n in range(6, 60):
        run(replicas[n % len(replicas)], n)
    histories = [runs_of(r) for r in replicas]
    assert histories[0] == histories[1]
    assert [r["result"]["result"] for r in histories[0]] == list(range(59, 9, -1))  # the last 50


def test_replicas_sharing_an_fs_mount_list_one_bounded_history(tmp_path: Path, start_server) -> None:
    shared = tmp_path / "shared-kv"
    root = project(tmp_path / "p", f'\n[storage.data]\ndriver = "fs"\nbase = "{shared}"\n')
    replicas = [start_server(NODE_BUNDLE, root, {"NITRO_TASKS_TOKEN": TOKEN}) for _ in range(2)]
    assert_shared(replicas)
    # In the store: one file per run under nitro/runs/<task>/, the last 50 only.
    files = sorted((shared / "nitro" / "runs" / "db%3Atick").iterdir())
    assert len(files) == 50
    assert sorted(json.loads(f.read_text())["result"]["result"] for f in files) == list(range(10, 60))


def test_replicas_sharing_a_redis_mount_list_one_bounded_history(tmp_path: Path, redis, start_server) -> None:
    server = redis()
    root = project(tmp_path / "p", f'\n[storage.runs]\ndriver = "redis"\nurl = "{server.url}"\n')
    replicas = [start_server(NODE_BUNDLE, root, {"NITRO_TASKS_TOKEN": TOKEN}) for _ in range(2)]
    assert_shared(replicas)
    status, listing = replicas[0].request("GET", "/_nitro/tasks", headers=AUTH)
    assert status == 200 and len(listing["tasks"]["db:tick"]["runs"]) == 50
    # In Redis: one key per run (unstorage's redis driver drops the mount's name), the last 50.
    scan = ["redis-cli", "-p", str(server.port), "--scan", "--pattern", "nitro:runs:db%3Atick:*"]
    keys = subprocess.run(scan, capture_output=True, text=True, timeout=10, check=True).stdout.split()
    assert len(keys) == 50


def test_node_cluster_answers_one_history_from_every_worker(tmp_path: Path, start_server) -> None:
    root = project(tmp_path / "c", "", preset="node_cluster")
    env = {"NITRO_TASKS_TOKEN": TOKEN, "NITRO_CLUSTER_WORKERS": "2"}
    cluster = start_server(NODE_BUNDLE, root, env)
    for n in range(8):
        run(cluster, n)
    answers = [runs_of(cluster) for _ in range(8)]
    assert all(answer == answers[0] for answer in answers), "workers answer different histories"
    assert [r["result"]["result"] for r in answers[0]] == list(range(7, -1, -1))
    for n in range(8, 60):
        run(cluster, n)
    answers = [runs_of(cluster) for _ in range(6)]
    assert all(answer == answers[0] for answer in answers)
    assert [r["result"]["result"] for r in answers[0]] == list(range(59, 9, -1))  # bounded in the primary


def test_bundles_without_storage_leave_unstorage_out(tmp_path: Path) -> None:
    root = project(tmp_path / "n", "")
    text = "".join(p.read_text() for p in (root / ".output" / "server").rglob("*.mjs"))
    sources = bundled_sources(root / ".output" / "server")
    assert "run_storage" not in sources and "runtime/runs.mjs" in sources and "nitro:runs" not in text
