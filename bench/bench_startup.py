"""Start-up benchmark: cold start and RSS at the first 200 for 10 / 1,000 / 10,000 tasks,
nitro-build beside Nitro 3 on the same generated project.

For each size the same sources (TypeScript tasks importing `nitro/task`, one schedule per 10
tasks, `GET /api/hello`) are built by nitro-build and by Nitro 3 (npm `nitro@3.0.0`, installed by
this script into bench/.cache/nitro3 with `npm install --prefix`, not a project dependency). Starts
are interleaved (every server of a round once, then the next round) and the median of --repeat
rounds is reported: wall time from spawn to the first 200, the server's CPU time (user + system,
from /proc) at that moment, which a loaded machine distorts less than wall time, and its RSS. For
node_cluster, RSS is the largest worker's. workerd (Miniflare) reports start to first response;
the Vercel bundle runs under tests/js/vercel_launcher.mjs. At the largest size it also reports the
extra latency of a task's first run (its group chunk not yet loaded) over a second run, p50/p99,
wall time and the server's main-thread CPU time (which the machine's other load does not inflate).

    python bench/bench_startup.py [--sizes 10,1000,10000] [--repeat 7]
        [--runtimes node_server,node_cluster,bun,deno_server,cloudflare_module,vercel]
        [--nitro node_server]   # runtimes also built with Nitro 3 (its 10,000-task build is slow)
    python bench/bench_startup.py --first-run-only --sizes 10000 --runtimes node_server [--starts 3]
        # only the first-run figures (no cold starts, no Nitro 3); with --reuse, of an earlier build
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from nitro_build.lazy_tasks import group_of

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "startup"
NITRO3 = REPO / "bench" / ".cache" / "nitro3"
BIN = REPO / "node_modules" / ".bin"
TOKEN = "bench-token"
# Nitro's preset names for ours.
NITRO_PRESETS = {
    "node_server": "node_server",
    "node_cluster": "node_cluster",
    "bun": "bun",
    "deno_server": "deno_server",
    "cloudflare_module": "cloudflare_module",
    "vercel": "vercel",
}
MINIFLARE = """
import { dirname } from "node:path";
import { Miniflare } from "miniflare";
const [script] = process.argv.slice(1);
const t0 = performance.now();
// The module listed, as wrangler uploads it: given only scriptPath, Miniflare itself parses the
// script (6.7 MB at 10,000 tasks) to find further modules, which is no part of workerd's start.
// modulesRoot: module names are paths relative to it (the default, cwd, would need "..").
const mf = new Miniflare({ modules: [{ type: "ESModule", path: script }], modulesRoot: dirname(script),
  compatibilityDate: "2025-01-01", compatibilityFlags: ["nodejs_compat"] });
await mf.ready;
const t1 = performance.now();
const res = await mf.dispatchFetch("http://localhost/api/hello");
await res.text();
const t2 = performance.now();
console.log(JSON.stringify({ ms: t2 - t0, ready: t1 - t0, first: t2 - t1, status: res.status }));
await mf.dispose();
"""


def make_sources(root: Path, count: int) -> Path:
    """`count` tasks in 50 folders, schedules, and GET /api/hello."""
    shutil.rmtree(root, ignore_errors=True)
    for i in range(count):
        file = root / "tasks" / f"group{i % 50}" / f"task{i}.ts"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(
            'import { defineTask } from "nitro/task";\n'
            f'export default defineTask({{ meta: {{ description: "task {i}" }},\n'
            f"  run({{ payload }}) {{ return {{ result: {{ n: {i}, payload }} }}; }} }});\n"
        )
    (root / "api").mkdir(parents=True, exist_ok=True)
    (root / "api" / "hello.ts").write_text(
        'import { defineHandler } from "nitro/h3";\n'
        'export default defineHandler(() => ({ hello: "world" }));\n'
    )
    # One schedule per 10 tasks, at most 100 distinct expressions (Vercel's cron job limit).
    schedules: dict[str, list[str]] = {}
    for k, j in enumerate(range(0, count, 10)):
        names = [f"group{i % 50}:task{i}" for i in range(j, min(j + 10, count))]
        schedules.setdefault(f"{k % 100 % 60} {k % 100 // 60} * * *", []).extend(names)
    config = {"serverDir": "./", "experimental": {"tasks": True}, "scheduledTasks": schedules}
    (root / "nitro.config.ts").write_text(f"export default {json.dumps(config, indent=1)};\n")
    return root


def build(kind: str, project: Path, preset: str) -> float:
    """Build with nitro-build or Nitro 3; return the wall time."""
    if kind == "nitro":
        link = project / "node_modules"
        if not link.exists():
            link.symlink_to(NITRO3 / "node_modules")
        argv = [str(NITRO3 / "node_modules" / ".bin" / "nitro"), "build", "--preset", NITRO_PRESETS[preset]]
    else:
        argv = [sys.executable, "-m", "nitro_build", "build", "--preset", preset]
    start = time.perf_counter()
    subprocess.run(argv, cwd=project, check=True, capture_output=True)
    return time.perf_counter() - start


def install_nitro3() -> None:
    if (NITRO3 / "node_modules" / ".bin" / "nitro").exists():
        return
    NITRO3.mkdir(parents=True, exist_ok=True)
    (NITRO3 / "package.json").write_text('{"private": true}\n')
    subprocess.run(
        ["npm", "install", "--prefix", str(NITRO3), "--no-audit", "--no-fund", "nitro@3.0.0"], check=True
    )


def server_argv(preset: str, project: Path) -> list[str]:
    if preset == "bun":
        return [str(BIN / "bun"), ".output/server/index.mjs"]
    if preset == "deno_server":  # the command nitro.json documents (permissions, lazy imports)
        preview = (
            json.loads((project / ".output" / "nitro.json").read_text())
            .get("commands", {})
            .get("preview", "")
        )
        flags = shlex.split(preview)[2:-1] if preview.startswith("deno run") else ["-A"]
        return [str(BIN / "deno"), "run", *flags, ".output/server/index.mjs"]
    if preset == "vercel":
        return ["node", str(REPO / "tests" / "js" / "vercel_launcher.mjs"), ".vercel/output"]
    return ["node", ".output/server/index.mjs"]


def cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [pid] + [p for child in out.split() for p in tree(int(child))]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def get(port: int, path: str, method: str = "GET") -> int:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()
        return resp.status


def start(preset: str, project: Path, port: int) -> tuple[subprocess.Popen, float]:
    """Spawn the server and wait for its first 200 on /api/hello; return it and the wall ms."""
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "NITRO_TASKS_TOKEN": TOKEN,
        "NITRO_CLUSTER_WORKERS": "2",
    }
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        server_argv(preset, project),
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while True:
        try:
            if get(port, "/api/hello") == 200:
                return proc, (time.perf_counter() - t0) * 1000
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{preset} server in {project} exited {proc.returncode}") from None
            time.sleep(0.002)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, 9)
    proc.wait()


def cold_start(preset: str, project: Path, port: int) -> dict[str, float]:
    if preset == "cloudflare_module":
        script = project / ".output" / "server" / "index.mjs"
        out = subprocess.run(
            ["node", "--input-type=module", "-e", MINIFLARE, str(script)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        answer = json.loads(out.splitlines()[-1])
        return {k: answer[k] for k in ("ms", "ready", "first")}
    proc, ms = start(preset, project, port)
    try:
        pids = tree(proc.pid)
        workers = pids[1:] if preset == "node_cluster" else pids[:1]
        return {"ms": ms, "cpu": sum(cpu_ms(p) for p in pids), "rss": max(rss_mib(p) for p in workers)}
    finally:
        stop(proc)


def thread_cpu_ms(pid: int) -> float:
    """CPU time of the process's main thread (its task id is the pid), in ns steps: the time it ran,
    which other processes on the machine do not add to (unlike the wall time)."""
    return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[0]) / 1e6


def first_runs(preset: str, project: Path, count: int, port: int) -> list[tuple[float, float]]:
    """Extra wall ms and main-thread CPU ms of a task's first run (its group chunk not yet loaded)
    over its second, over HTTP: `first`, the first task run after the start (it also pays for the
    run route's own first use), then one task of every other group (compiler/lazy_tasks.py)."""
    groups = len(list((project / ".nitro" / "build" / preset / "lazy").glob("tasks-*.mjs")))
    picked: dict[int, str] = {}
    for i in range(count):
        picked.setdefault(group_of(f"group{i % 50}:task{i}", groups), f"group{i % 50}:task{i}")
    proc, _ = start(preset, project, port)
    extra = []
    try:
        for name in picked.values():
            times = []
            for _ in range(2):
                c0, t0 = thread_cpu_ms(proc.pid), time.perf_counter()
                get(port, f"/_nitro/tasks/{name}", "POST")
                times.append(((time.perf_counter() - t0) * 1000, thread_cpu_ms(proc.pid) - c0))
            extra.append((times[0][0] - times[1][0], times[0][1] - times[1][1]))
    finally:
        stop(proc)
    return extra


def first_run_stats(preset: str, project: Path, count: int, port: int, starts: int = 3) -> dict[str, float]:
    """first_runs over `starts` server starts: the median first, p50/p99 of the others pooled,
    for the wall time and (`cpu_` keys) the server's main-thread CPU time."""
    runs = [first_runs(preset, project, count, port) for _ in range(starts)]
    stats = {}
    for key, k in (("", 0), ("cpu_", 1)):
        rest = sorted(x[k] for run in runs for x in run[1:]) or [float("nan")]
        stats[f"{key}first"] = statistics.median(run[0][k] for run in runs)
        stats[f"{key}p50"] = statistics.median(rest)
        stats[f"{key}p99"] = rest[min(len(rest) - 1, int(len(rest) * 0.99))]
    return stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,1000,10000")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--runtimes", default="node_server,node_cluster,bun,deno_server,cloudflare_module,vercel")
    ap.add_argument("--nitro", default="node_server", help="runtimes also built with Nitro 3 ('' for none)")
    ap.add_argument(
        "--first-run-only",
        action="store_true",
        help="measure only the first run of not-yet-loaded tasks (node_server, bun, deno_server)",
    )
    ap.add_argument("--starts", type=int, default=3, help="server starts for the first-run figures")
    ap.add_argument("--reuse", action="store_true", help="start the builds of an earlier run, build none")
    ap.add_argument(
        "--reuse-nitro",
        action="store_true",
        help="keep Nitro 3 builds of an earlier run (its 10,000 take minutes)",
    )
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    runtimes = args.runtimes.split(",")
    nitro = [] if args.first_run_only else [r for r in args.nitro.split(",") if r]
    if nitro:
        install_nitro3()
    print(f"load average before: {os.getloadavg()}")
    servers = []  # (kind, preset, size, project)
    for size in sizes:
        sources = OUT / f"src-{size}" if args.reuse else make_sources(OUT / f"src-{size}", size)
        for kind, presets in (("nitro-build", runtimes), ("nitro", nitro)):
            for preset in presets:
                project = OUT / f"{kind}-{preset}-{size}"
                kept = kind == "nitro" and args.reuse_nitro and (project / ".output").is_dir()
                if not args.reuse and not kept:
                    shutil.rmtree(project, ignore_errors=True)
                    shutil.copytree(sources, project)
                    secs = build(kind, project, preset)
                    print(f"built {kind} {preset} {size}: {secs:.2f} s", flush=True)
                servers.append((kind, preset, size, project))
    if not args.first_run_only:
        cold_starts(servers, args.repeat)
    first_run_report(servers, args.starts)
    print(f"load average after: {os.getloadavg()}")


def first_run_report(servers: list[tuple[str, str, int, Path]], starts: int) -> None:
    """Print first_run_stats of every nitro-build node_server, bun and deno_server."""
    for kind, preset, size, project in servers:
        if preset in ("node_server", "bun", "deno_server") and kind == "nitro-build":
            r = first_run_stats(preset, project, size, 21000, starts)
            print(
                f"first run of a not-yet-loaded task, {preset}, {size:,} tasks: first after start "
                f"+{r['first']:.2f} ms; other groups +{r['p50']:.2f} ms p50, +{r['p99']:.2f} ms p99; "
                f"main-thread CPU: first +{r['cpu_first']:.2f} ms, others +{r['cpu_p50']:.2f} ms p50, "
                f"+{r['cpu_p99']:.2f} ms p99",
                flush=True,
            )


def cold_starts(servers: list[tuple[str, str, int, Path]], repeat: int) -> None:
    """Interleaved cold starts of every server, `repeat` rounds; print the table of medians."""
    results: dict[tuple[str, str, int], list[dict[str, float]]] = {s[:3]: [] for s in servers}
    for _ in range(repeat):
        for n, (kind, preset, size, project) in enumerate(servers):
            results[(kind, preset, size)].append(cold_start(preset, project, 20000 + n))
    print(f"load average after the cold starts: {os.getloadavg()}\n")
    print("| runtime | tasks | tool | cold start ms | CPU ms | RSS MiB |\n|---|---|---|---|---|---|")
    for (kind, preset, size), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        cells = [f"{med[k]:.1f}" if k in med else "" for k in ("ms", "cpu", "rss")]
        print(f"| {preset} | {size:,} | {kind} | " + " | ".join(cells) + " |")
        if "first" in med:  # workerd: Miniflare (and workerd) ready, then the first response
            print(f"|  | | Miniflare ready {med['ready']:.0f} ms, first response {med['first']:.1f} ms | | |")


if __name__ == "__main__":
    main()
