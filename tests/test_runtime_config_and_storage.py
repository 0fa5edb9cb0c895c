"""useRuntimeConfig (Nitro's environment overrides) and useStorage (unstorage) in every runtime:
fixtures/runtime_apis' `counter` task counts its runs in useStorage("data") and reports
useRuntimeConfig(); each run is a separate process (the bundle's task CLI), so a count of 2 is
state kept by the driver, and apiBase shows the NITRO_API_BASE override."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from conftest import NODE, build_project, bundled_sources, copy_fixture, run_cli
from runtime_apis import command, project, run_task, run_workers, set_config, worker

OVERRIDE = {"NITRO_API_BASE": "https://override.example"}


@pytest.mark.parametrize("preset", ["node_server", "node_cluster", "node_middleware", "bun", "deno_server"])
def test_counter_in_fs_storage_with_env_override(tmp_path: Path, preset: str) -> None:
    root = project(tmp_path, preset)
    runs = [run_task(root, preset, "counter", **OVERRIDE) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    results = [json.loads(r.stdout)["result"] for r in runs]
    assert [r["count"] for r in results] == [1, 2]
    assert {r["apiBase"] for r in results} == {"https://override.example"}
    assert json.loads((root / ".data" / "store" / "runs").read_text()) == 2  # the fs driver's file
    plain = json.loads(run_task(root, preset, "counter").stdout)["result"]
    assert plain == {
        "count": 3,
        "apiBase": "https://api.example.com",
        "retry": {"backoffMS": 100, "count": 3},
    }


def test_deno_command_allows_exactly_the_config_variables_and_storage_folder(tmp_path: Path) -> None:
    root = project(tmp_path, "deno_server")
    argv = command(root, "deno_server")
    env_flag = next(a for a in argv if a.startswith("--allow-env="))
    names = set(env_flag.split("=", 1)[1].split(","))
    assert {
        "NITRO_API_BASE",
        "_API_BASE",
        "NITRO_RETRY_COUNT",
        "NITRO_RETRY_BACKOFF_MS",
        "NITRO_SECRET_TOKEN",
    } <= names
    # unstorage creates the missing parents of the mount one by one: ./.data, then ./.data/store.
    # The bundle's chunks folder is readable too (presets/deno_server.py: lazily imported chunks).
    assert "--allow-read=.output/server/chunks,./.data" in argv and "--allow-write=./.data" in argv


def test_cloudflare_kv_binding_counts_across_worker_restarts(tmp_path: Path) -> None:
    root = project(
        tmp_path, "cloudflare_module", storage={"data": {"driver": "cloudflare-kv-binding", "binding": "KV"}}
    )
    app = worker(
        root,
        bindings={"NITRO_TASKS_TOKEN": "tok", **OVERRIDE},
        kvNamespaces=["KV"],
        kvPersist=str(tmp_path / "kv"),
    )
    call = {
        "type": "fetch",
        "url": "http://app/_nitro/tasks/counter",
        "headers": {"authorization": "Bearer tok"},
    }
    # Two separate workerd processes: the count lives in the (persisted) KV namespace.
    bodies = [json.loads(run_workers([app], [call])["results"][0]["body"]) for _ in range(2)]
    assert [b["result"]["count"] for b in bodies] == [1, 2]
    assert {b["result"]["apiBase"] for b in bodies} == {"https://override.example"}


def test_cloudflare_pages_reads_bindings_and_kv(tmp_path: Path) -> None:
    root = project(
        tmp_path, "cloudflare_pages", storage={"data": {"driver": "cloudflare-kv-binding", "binding": "KV"}}
    )
    app = worker(
        root,
        scriptPath=str(root / "dist" / "_worker.js" / "index.js"),
        bindings={"NITRO_TASKS_TOKEN": "tok", **OVERRIDE},
        kvNamespaces=["KV"],
    )
    call = {
        "type": "fetch",
        "url": "http://app/_nitro/tasks/counter",
        "headers": {"authorization": "Bearer tok"},
    }
    results = [json.loads(r["body"])["result"] for r in run_workers([app], [call, call])["results"]]
    assert [(r["count"], r["apiBase"]) for r in results] == [(n, OVERRIDE["NITRO_API_BASE"]) for n in (1, 2)]


def test_http_drivers_build_for_workers_and_vercel(tmp_path: Path) -> None:
    """upstash and vercel-kv speak HTTP, so every preset can bundle them (no Upstash here to call)."""
    root = copy_fixture("runtime_apis", tmp_path)
    rest = {"url": "https://example.upstash.io", "token": "t"}
    set_config(root, storage={"data": {"driver": "upstash", **rest}, "kv": {"driver": "vercel-kv", **rest}})
    for preset in ("cloudflare_module", "vercel"):
        build_project(root, preset)
    # The Worker is minified: what it was bundled from is in its source map.
    sources = bundled_sources(root / ".output" / "server")
    assert "node_modules/@upstash/redis/" in sources and "node_modules/@vercel/kv/" in sources


def test_redis_driver_on_a_real_redis_server(tmp_path: Path, redis) -> None:
    server = redis()
    root = project(tmp_path, "node_server", storage={"data": {"driver": "redis", "url": server.url}})
    counts = [
        json.loads(run_task(root, "node_server", "counter").stdout)["result"]["count"] for _ in range(2)
    ]
    assert counts == [1, 2]
    assert _redis_get(server.port, "runs") == "2"  # the value is really in redis, under the mount's key


def _redis_get(port: int, key: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"*2\r\n$3\r\nGET\r\n${len(key)}\r\n{key}\r\n".encode())
        reply = sock.recv(256).decode().split("\r\n")
    return reply[1]


def test_production_default_is_memory_and_dev_default_is_data_kv(tmp_path: Path) -> None:
    root = copy_fixture("runtime_apis", tmp_path)
    set_config(root, storage=None)
    build_project(root, "node_server")
    counts = [
        json.loads(run_task(root, "node_server", "counter").stdout)["result"]["count"] for _ in range(2)
    ]
    assert counts == [1, 1]  # unstorage's memory root: nothing survives the process
    build_project(root, "dev")
    dev = [NODE, ".nitro/dev/server/index.mjs", "task", "run", "counter"]
    counts = [
        json.loads(subprocess.run(dev, cwd=root, capture_output=True, text=True, timeout=60).stdout)[
            "result"
        ]["count"]
        for _ in range(2)
    ]
    assert counts == [1, 2]
    assert (root / ".data" / "kv" / "runs").read_text() == "2"  # Nitro's dev default mount


def test_dev_storage_wins_under_nitro_dev_only(tmp_path: Path) -> None:
    root = copy_fixture("runtime_apis", tmp_path)
    set_config(root, devStorage={"data": {"driver": "fs", "base": "./.data/dev"}})
    build_project(root, "dev")
    dev = [NODE, ".nitro/dev/server/index.mjs", "task", "run", "counter"]
    subprocess.run(dev, cwd=root, capture_output=True, text=True, timeout=60, check=True)
    assert (root / ".data" / "dev" / "runs").exists() and not (root / ".data" / "store").exists()
    build_project(root, "node_server")
    assert run_task(root, "node_server", "counter").returncode == 0
    assert (root / ".data" / "store" / "runs").exists()


ENV_RULES_TASK = """
export default defineTask({ run() { return { result: useRuntimeConfig() }; } });
"""


def test_env_override_rules_are_nitros(tmp_path: Path) -> None:
    root = copy_fixture("runtime_apis", tmp_path)
    (root / "tasks" / "config.ts").write_text(ENV_RULES_TASK)
    set_config(
        root,
        storage=None,
        runtimeConfig={
            "apiBase": "a",
            "HTTPServer": "h",
            "featureFlag": False,
            "limit": 1,
            "untouched": "u",
            "nested": {"deepKey": "d", "other": "o"},
            "table": {"x": 1},
            "nitro": {"envPrefix": "APP_"},
        },
    )
    build_project(root, "node_server")
    env = {
        "APP_API_BASE": "from-alt-prefix",  # runtimeConfig.nitro.envPrefix
        "NITRO_HTTP_SERVER": "snake",  # scule's snakeCase: HTTPServer -> HTTP_SERVER
        "NITRO_FEATURE_FLAG": "true",  # JSON-looking values are parsed (destr)
        "NITRO_LIMIT": "42",
        "NITRO_NESTED_DEEP_KEY": "nested-override",
        "NITRO_TABLE": '{"y": 2}',  # an object is merged over the table
        "NITRO_NOT_IN_CONFIG": "ignored",  # only keys the config has are overridden
    }
    config = json.loads(run_task(root, "node_server", "config", **env).stdout)["result"]
    assert config["apiBase"] == "from-alt-prefix"
    assert config["HTTPServer"] == "snake"
    assert config["featureFlag"] is True and config["limit"] == 42
    assert config["nested"] == {"deepKey": "nested-override", "other": "o"}
    assert config["table"] == {"x": 1, "y": 2}
    assert config["untouched"] == "u" and "notInConfig" not in config
    assert config["app"] == {"baseURL": "/"}
    both = json.loads(
        run_task(root, "node_server", "config", APP_API_BASE="alt", NITRO_API_BASE="nitro").stdout
    )
    assert both["result"]["apiBase"] == "nitro"  # NITRO_ wins over the alternative prefix


def test_vercel_function_reads_overrides_from_process_env(tmp_path: Path, start_server) -> None:
    root = project(tmp_path, "vercel", storage={"data": {"driver": "memory"}})
    launcher = Path(__file__).resolve().parent / "js" / "vercel_launcher.mjs"
    server = start_server([NODE, str(launcher), ".vercel/output"], root, OVERRIDE)
    status, body = server.request("GET", "/config")
    assert status == 200
    assert body == {
        "apiBase": "https://override.example",
        "secretSet": True,
        "retry": {"backoffMS": 100, "count": 3},
    }


def test_secrets_are_not_printed_in_the_summary_or_nitro_json(tmp_path: Path) -> None:
    root = copy_fixture("runtime_apis", tmp_path)
    for args in ((), ("--json",)):
        proc = run_cli("build", "--preset", "node_server", "--dir", str(root), *args)
        assert proc.returncode == 0, proc.stderr
        assert "fixture-secret-value" not in proc.stdout + proc.stderr
    assert "fixture-secret-value" not in (root / ".output" / "nitro.json").read_text()


def test_a_project_without_the_apis_bundles_none_of_their_libraries(tmp_path: Path) -> None:
    root = copy_fixture("basic", tmp_path)
    build_project(root, "node_server")
    bundle = bundled_sources(root / ".output" / "server")
    assert "nitro-build/runtime/" in bundle or ".nitro/build/" in bundle
    for library in ("unstorage", "hookable", "ofetch", "destr", "/h3/"):
        assert f"node_modules/{library.strip('/')}/" not in bundle, library
