"""Build-time benchmark: projects of 10 to 10000 tasks (with schedules), built with the real CLI.

Reports, per size: wall time of a build (median of --repeat runs), peak memory of the Python
compiler and of esbuild, the peak of the whole process tree (the sum of the RSS of Python and its
esbuild children, sampled from /proc) and the bundle size (every file; the entry alone, the
JavaScript Node loads before serving and all of it, without maps; every file but the maps, listed
for the small sizes); then the growth from the smallest to the
largest size, the `nitro-build --help`, `nitro --help`, `nitro-build check` and 10-task
`nitro-build` times, wall and CPU (median of --repeat * 3; check and build both warm and cold, see
cli_run), and the `nitro dev` reload of a --dev-tasks project: from the write of one changed task
file to the server answering with the new result (issues 14 and 17's goals). Numbers go in
closing notes; nothing here is enforced, since shared machines are noisy.

    python bench/bench_build.py [--sizes 10,100,1000,10000] [--repeat 3] [--dev-tasks 1000] [--dev-repeat 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_dev_reload import dev_reload
from bench_tree import tree_peak_kib

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
CRONS = (
    "* * * * *",
    "*/5 * * * *",
    "0 * * * *",
    "0 3 * * *",
    "0 9 * * MON-FRI",
    "30 2 L * *",
    "0 12 * * 5#2",
    "*/10 * * * * *",
    "@daily",
    "0 0 1 JAN,JUL *",
)

# Runs one build in a fresh interpreter and prints its own and its children's peak RSS.
PROBE = """
import resource, sys
from pathlib import Path
from nitro_build import build
build(Path(sys.argv[1]), "node_server")
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(own, kids)
"""


def make_project(root: Path, count: int) -> Path:
    """`count` TypeScript tasks in nested folders; one schedule per 10 tasks."""
    shutil.rmtree(root, ignore_errors=True)
    lines = ["[experimental]", "tasks = true", "", "[scheduledTasks]"]
    for i in range(count):
        file = root / "tasks" / f"group{i % 50}" / f"task{i}.ts"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(
            f'export default defineTask({{ meta: {{ description: "task {i}" }},\n'
            f"  run({{ payload }}) {{ return {{ result: {{ n: {i}, payload }} }}; }} }});\n"
        )
    for j in range(0, count, 10):
        k = j // 10
        # The fixed list covers the syntax; after it, distinct hourly 6-field expressions.
        expr = CRONS[k] if k < len(CRONS) else f"{k % 60} {k // 60 % 60} * * * *"
        names = [f"group{i % 50}:task{i}" for i in range(j, min(j + 10, count))]
        lines.append(f"{json.dumps(expr)} = {json.dumps(names)}")
    (root / "nitro.config.toml").write_text("\n".join(lines) + "\n")
    return root


# Without PYTHONDONTWRITEBYTECODE: an installed nitro-build has its .pyc files (pip compiles
# them), so the modules are not recompiled on every run as they would be under that variable.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV |= {"PYTHONPATH": str(REPO), "NITRO_ESBUILD": str(REPO / "node_modules/.bin/esbuild")}


def measure(project: Path) -> tuple[float, int, int, int]:
    """One build: (seconds, python peak KiB, esbuild peak KiB, process-tree peak KiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(project)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tree = tree_peak_kib(proc)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"build failed for {project}:\n{err}")
    own, kids = (int(x) for x in out.split())
    return elapsed, own, kids, tree


def cli_run(project: Path, *argv: str, cold: bool = False) -> tuple[float, float]:
    """(wall seconds, user + system CPU seconds of the process and its children) for one run of
    the installed console script `argv[0]` with `argv[1:]`, as a user starts it. `cold`: with an
    empty cache folder (XDG_CACHE_HOME), as the first run after a config change or an upgrade;
    otherwise the validated config and rendered sources of an earlier run are reused
    (compiler/user_cache.py)."""
    with tempfile.TemporaryDirectory(prefix="nitro-bench-cache-") as empty, tempfile.TemporaryFile() as err:
        env = {**ENV, "XDG_CACHE_HOME": empty} if cold else ENV
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*console_script(argv[0]), *argv[1:]], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {project}:\n{stderr}")
    return wall, usage.ru_utime + usage.ru_stime


def console_script(name: str) -> list[str]:
    """The command that runs console script `name` as installed (beside this Python), or the same
    entry point from `-c` without an installed script."""
    script = Path(sys.executable).parent / name
    if script.is_file():
        return [sys.executable, str(script)]
    code = (
        f"import sys; sys.argv[0] = {name!r}; from nitro_build import entry; entry.{name.replace('-', '_')}()"
    )
    return [sys.executable, "-c", code]


# name -> (argv, cold); run interleaved, one of each per round, so load drift hits all alike.
STARTUP_RUNS = {
    "nitro_build_help": (("nitro-build", "--help"), False),
    "nitro_help": (("nitro", "--help"), False),
    "check": (("nitro-build", "check"), False),
    "check_cold": (("nitro-build", "check"), True),
    "nitro_build_cli": (("nitro-build", "--preset", "node_server"), False),
    "nitro_build_cli_cold": (("nitro-build", "--preset", "node_server"), True),
}


def startup(project: Path, repeat: int) -> dict[str, float]:
    """Median wall and CPU seconds of `nitro-build --help`, `nitro --help`, `nitro-build check`
    and a `nitro-build` of `project` (the last two warm and cold)."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in STARTUP_RUNS}
    for _ in range(repeat):
        for name, (argv, cold) in STARTUP_RUNS.items():
            runs[name].append(cli_run(project, *argv, cold=cold))
    out: dict[str, float] = {}
    for name, found in runs.items():
        out[f"{name}_s"] = round(statistics.median(w for w, _ in found), 3)
        out[f"{name}_cpu_s"] = round(statistics.median(c for _, c in found), 3)
    return out


def bundle_size(project: Path) -> tuple[int, int]:
    files = [p for p in (project / ".output" / "server").rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


# A static `import ... from "./chunks/x.mjs"` (or `import "./x.mjs"`) in an esbuild ESM chunk; a
# minified one puts them all on one line (`import{a}from"./x.mjs";import{b}from"./y.mjs";`).
STATIC_IMPORT = re.compile(
    r'(?:^|;)\s*(?:import|export)\b[^;]*?\bfrom\s*"(\./[^"]+)"|(?:^|;)\s*import\s*"(\./[^"]+)"', re.M
)


def start_files(entry: Path) -> list[Path]:
    """The entry and every chunk it imports statically: what Node loads before serving (the
    chunks of tasks and routes load later, with import() or require())."""
    found: list[Path] = []
    todo = [entry.resolve()]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.append(path)
        for match in STATIC_IMPORT.finditer(path.read_text(encoding="utf-8")):
            todo.append((path.parent / (match.group(1) or match.group(2))).resolve())
    return found


def js_sizes(project: Path) -> dict[str, int]:
    """Bytes of the server entry, of the JavaScript loaded at start and of all of it, and of every
    file but the source maps (the dashboard's precompressed file among them)."""
    server = project / ".output" / "server"
    start = start_files(server / "index.mjs")
    return {
        "entry_bytes": (server / "index.mjs").stat().st_size,
        "start_js_bytes": sum(p.stat().st_size for p in start),
        "start_js_files": len(start),
        "all_js_bytes": sum(p.stat().st_size for p in server.rglob("*.mjs")),
        "all_js_files": len(list(server.rglob("*.mjs"))),
        "no_map_bytes": sum(p.stat().st_size for p in unmapped_files(server)),
    }


def unmapped_files(server: Path) -> list[Path]:
    return sorted(p for p in server.rglob("*") if p.is_file() and not p.name.endswith(".map"))


def print_files(project: Path) -> None:
    """Every file of .output/server but the source maps, with its size (chunk hashes as in the build)."""
    server = project / ".output" / "server"
    for path in unmapped_files(server):
        print(f"{path.stat().st_size:>10,} B  {path.relative_to(server).as_posix()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dev-tasks", type=int, default=1000, help="0 skips the dev reload")
    parser.add_argument("--dev-repeat", type=int, default=10, help="changes of each kind in the dev reload")
    args = parser.parse_args()
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    rows: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        project = make_project(OUT / f"tasks-{size}", size)
        runs = [measure(project) for _ in range(args.repeat)]
        size_bytes, files = bundle_size(project)
        rows.append(
            {
                "tasks": size,
                "schedules": (size + 9) // 10,
                "wall_s_median": round(statistics.median(r[0] for r in runs), 3),
                "wall_s_all": [round(r[0], 3) for r in runs],
                "python_peak_mib": round(max(r[1] for r in runs) / 1024, 1),
                "esbuild_peak_mib": round(max(r[2] for r in runs) / 1024, 1),
                "tree_peak_mib": round(max(r[3] for r in runs) / 1024, 1),
                "bundle_bytes": size_bytes,
                "bundle_files": files,
                **js_sizes(project),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        row = rows[-1]
        # Issue #14's measure: every .mjs under .output/server, source maps excluded.
        print(
            f"{size:>6} tasks: server JavaScript {row['all_js_bytes']:,} B in {row['all_js_files']} files"
            f" (maps excluded; entry {row['entry_bytes']:,} B, loaded before serving"
            f" {row['start_js_bytes']:,} B in {row['start_js_files']} files);"
            f" every file but the maps {row['no_map_bytes']:,} B",
            flush=True,
        )
        if size <= 100:
            print_files(project)
    base = rows[0]
    for row in rows[1:]:
        ratio = row["wall_s_median"] / base["wall_s_median"]
        print(
            f"{row['tasks']:>6} tasks: {row['wall_s_median']}s, "
            f"{ratio:.1f}x the time of {base['tasks']} for {row['tasks'] // base['tasks']}x the tasks; "
            f"tree peak {row['tree_peak_mib']} MiB ({row['tree_peak_mib'] / base['tree_peak_mib']:.1f}x)"
        )
    small = make_project(OUT / "tasks-10", 10)
    cli_run(small, "nitro-build")  # writes the .pyc files (and fills the caches) the timed runs use
    print(json.dumps(startup(small, args.repeat * 3)), flush=True)
    if args.dev_tasks:
        project = make_project(OUT / f"dev-{args.dev_tasks}", args.dev_tasks)
        print(json.dumps(dev_reload(project, ENV, args.dev_repeat)), flush=True)
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)


if __name__ == "__main__":
    main()
