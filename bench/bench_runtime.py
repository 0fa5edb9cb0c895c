"""Runtime benchmark: the same project served by nitro-build, by Nitro 3 and by bare servers.

Builds one project (10 tasks, `GET /api/hello` answering JSON) with nitro-build (node_server,
node_cluster with one worker, bun, deno_server) and with Nitro 3 (npm `nitro@3.0.0`, installed by
this script into bench/.cache, never by package.json), then, in interleaved rounds, runs
autocannon (node_modules/.bin/autocannon) against each server and a bare `node:http` /
`Bun.serve` / `Deno.serve` handler. Server and client are pinned to separate cores with taskset.
Also cold start (spawn to first 200, median), the server's CPU time (user + system) to its first
200, which a loaded machine distorts less than wall time, and RSS at the first 200. Prints ratios
and the load.
Nothing here is enforced: shared machines are noisy.

    python bench/bench_runtime.py [--rounds 3] [--duration 5] [--starts 20] [--no-nitro]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "runtime"
CACHE = REPO / "bench" / ".cache"
BIN = REPO / "node_modules" / ".bin"
NITRO_VERSION = "3.0.0"
HELLO = (
    'import { defineHandler } from "nitro/h3";\nexport default defineHandler(() => ({ hello: "world" }));\n'
)
TASK = 'export default defineTask({ meta: { description: "task %d" }, run() { return { result: %d }; } });\n'
CONFIG = "export default { experimental: { tasks: true } };\n"
BARE = {
    "node": (
        "node",
        'import { createServer } from "node:http";\nconst body = JSON.stringify({ hello: "world" });\n'
        'createServer((req, res) => { res.writeHead(200, { "content-type": "application/json; charset=utf-8",'
        ' "content-length": Buffer.byteLength(body) }); res.end(body); }).listen(Number(process.env.PORT), "127.0.0.1");\n',
    ),
    "bun": (
        "bun",
        'Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1",'
        ' fetch: () => Response.json({ hello: "world" }) });\n',
    ),
    "deno": (
        "deno",
        'Deno.serve({ port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1" },'
        ' () => Response.json({ hello: "world" }));\n',
    ),
}


def make_project(root: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    (root / "routes" / "api").mkdir(parents=True)
    (root / "routes" / "api" / "hello.ts").write_text(HELLO)
    (root / "tasks").mkdir()
    for i in range(10):
        (root / "tasks" / f"task{i}.ts").write_text(TASK % (i, i))
    (root / "nitro.config.ts").write_text(CONFIG)
    (root / "node_modules").symlink_to(REPO / "node_modules")
    return root


def build_ours(preset: str) -> Path:
    root = make_project(OUT / f"nb-{preset}")
    subprocess.run(
        [sys.executable, "-m", "nitro_build", "build", "--preset", preset, "--dir", str(root)],
        check=True,
        capture_output=True,
    )
    return root


def build_nitro() -> Path | str:
    """Nitro 3's build of the project, or why it could not be built here."""
    nitro = CACHE / "node_modules" / ".bin" / "nitro"
    if not nitro.exists():
        proc = subprocess.run(
            ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", f"nitro@{NITRO_VERSION}"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            return f"npm install nitro@{NITRO_VERSION} failed: {proc.stderr.strip()[-400:]}"
    root = make_project(OUT / "nitro")
    (root / "node_modules").unlink()
    (root / "node_modules").symlink_to(CACHE / "node_modules")
    proc = subprocess.run([str(nitro), "build"], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"nitro build failed: {(proc.stderr or proc.stdout).strip()[-400:]}"
    return root


def bare(kind: str) -> list[str]:
    runtime, source = BARE[kind]
    path = OUT / f"bare-{kind}.mjs"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    binary = shutil.which(runtime) or str(BIN / runtime)
    return [binary, "run", "-A", str(path)] if kind == "deno" else [binary, str(path)]


def pinned(core: int, argv: list[str]) -> list[str]:
    return (
        ["taskset", "-c", str(core), *argv] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else argv
    )


def first_200(proc: subprocess.Popen, port: int, timeout: float = 20) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/hello")
            if conn.getresponse().status == 200:
                return time.perf_counter()
        except OSError:
            time.sleep(0.002)
    raise RuntimeError("no 200 in time")


def rss_mib(pid: int) -> float:
    """VmRSS of `pid` plus its children (node_cluster's worker answers the request)."""
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    total = 0
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


class Running:
    def __init__(self, argv: list[str], port: int, env: dict[str, str]):
        full = {
            **os.environ,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "NITRO_PORT": str(port),
            "NITRO_HOST": "127.0.0.1",
            **env,
        }
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            pinned(0, argv), env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.startup = (first_200(self.proc, port) - start) * 1000
        self.rss = rss_mib(self.proc.pid)

    def kill_for_cpu(self) -> float:
        """SIGKILL right after the first 200; the server's own CPU ms until then (wait4's rusage,
        exact where /proc/PID/stat counts 10 ms ticks). Child processes (node_cluster's worker) are
        killed first and not counted."""
        for child in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split():
            os.kill(int(child), signal.SIGKILL)
        self.proc.kill()
        _, _, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = -9
        return (usage.ru_utime + usage.ru_stime) * 1000

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def load(port: int, seconds: int) -> tuple[float, float]:
    argv = [
        str(BIN / "autocannon"),
        "-c",
        "10",
        "-d",
        str(seconds),
        "-j",
        f"http://127.0.0.1:{port}/api/hello",
    ]
    proc = subprocess.run(pinned(1, argv), capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout)
    return data["requests"]["average"], data["latency"]["p99"]


def servers(args: argparse.Namespace) -> dict[str, tuple[list[str], dict[str, str]]]:
    node = shutil.which("node") or "node"
    found: dict[str, tuple[list[str], dict[str, str]]] = {"bare node:http": (bare("node"), {})}
    found["nitro-build node_server"] = (
        [node, str(build_ours("node_server") / ".output/server/index.mjs")],
        {},
    )
    found["nitro-build node_cluster (1 worker)"] = (
        [node, str(build_ours("node_cluster") / ".output/server/index.mjs")],
        {"NITRO_CLUSTER_WORKERS": "1"},
    )
    if not args.no_nitro:
        nitro = build_nitro()
        if isinstance(nitro, str):
            print(f"Nitro {NITRO_VERSION}: not measured: {nitro}")
        else:
            found[f"Nitro {NITRO_VERSION} node"] = ([node, str(nitro / ".output/server/index.mjs")], {})
    found["bare Bun.serve"] = (bare("bun"), {})
    found["nitro-build bun"] = ([str(BIN / "bun"), str(build_ours("bun") / ".output/server/index.mjs")], {})
    found["bare Deno.serve"] = (bare("deno"), {})
    deno = build_ours("deno_server") / ".output/server/index.mjs"
    found["nitro-build deno_server"] = ([str(BIN / "deno"), "run", "-A", str(deno)], {})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--no-nitro", action="store_true")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    table = servers(args)
    results: dict[str, dict[str, list[float]]] = {
        name: {"rps": [], "p99": [], "start": [], "cpu": [], "rss": []} for name in table
    }
    port = 40111
    for _ in range(args.rounds):  # interleaved: each round visits every server
        for name, (argv, env) in table.items():
            server = Running(argv, port, env)
            try:
                rps, p99 = load(port, args.duration)
            finally:
                server.stop()
            results[name]["rps"].append(rps)
            results[name]["p99"].append(p99)
    for _ in range(args.starts):
        for name, (argv, env) in table.items():
            server = Running(argv, port, env)
            results[name]["cpu"].append(server.kill_for_cpu())
            results[name]["start"].append(server.startup)
            results[name]["rss"].append(server.rss)
    report(results)
    print(f"load after: {os.getloadavg()}")


def report(results: dict[str, dict[str, list[float]]]) -> None:
    med = {name: {key: statistics.median(values) for key, values in r.items()} for name, r in results.items()}
    base = {"node": med["bare node:http"], "bun": med["bare Bun.serve"], "deno": med["bare Deno.serve"]}
    nitro = next((m for name, m in med.items() if name.startswith("Nitro")), None)
    print(
        f"{'server':38} {'req/s':>9} {'p99 ms':>7} {'vs bare':>8} {'vs Nitro':>8} {'start ms':>9} {'vs bare':>8}"
        f" {'CPU ms':>7} {'vs bare':>8} {'RSS MiB':>8}"
    )
    for name, m in med.items():
        kind = "bun" if "bun" in name.lower() else "deno" if "deno" in name.lower() else "node"
        b = base[kind]
        vs_nitro = f"{m['rps'] / nitro['rps']:.2f}x" if nitro and kind == "node" else ""
        print(
            f"{name:38} {m['rps']:9.0f} {m['p99']:7.1f} {m['rps'] / b['rps']:7.2f}x {vs_nitro:>8}"
            f" {m['start']:9.1f} {m['start'] / b['start']:7.2f}x {m['cpu']:7.1f} {m['cpu'] / b['cpu']:7.2f}x"
            f" {m['rss']:8.1f}"
        )


if __name__ == "__main__":
    main()
