"""Build-time benchmark: projects of 10 to 10000 tasks (with schedules), built with the real CLI.

Reports, per size: wall time of `nitro build` (median of --repeat runs), peak memory of the
Python compiler and of esbuild, and the bundle size. Numbers go in closing notes; nothing here
is enforced, since shared machines are noisy.

    python bench/bench_build.py [--sizes 10,100,1000,10000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
CRONS = ("* * * * *", "*/5 * * * *", "0 * * * *", "0 3 * * *", "0 9 * * MON-FRI", "30 2 L * *",
         "0 12 * * 5#2", "*/10 * * * * *", "@daily", "0 0 1 JAN,JUL *")

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


def measure(project: Path) -> tuple[float, int, int]:
    """One build: (seconds, python peak KiB, esbuild peak KiB)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NITRO_ESBUILD": str(REPO / "node_modules/.bin/esbuild")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PROBE, str(project)], env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"build failed for {project}:\n{proc.stderr}")
    own, kids = (int(x) for x in proc.stdout.split())
    return elapsed, own, kids


def bundle_size(project: Path) -> tuple[int, int]:
    files = [p for p in (project / ".output" / "server").rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        project = make_project(OUT / f"tasks-{size}", size)
        runs = [measure(project) for _ in range(args.repeat)]
        size_bytes, files = bundle_size(project)
        rows.append({
            "tasks": size,
            "schedules": (size + 9) // 10,
            "wall_s_median": round(statistics.median(r[0] for r in runs), 3),
            "wall_s_all": [round(r[0], 3) for r in runs],
            "python_peak_mib": round(max(r[1] for r in runs) / 1024, 1),
            "esbuild_peak_mib": round(max(r[2] for r in runs) / 1024, 1),
            "bundle_bytes": size_bytes,
            "bundle_files": files,
        })
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]
    for row in rows[1:]:
        ratio = row["wall_s_median"] / base["wall_s_median"]
        print(f"{row['tasks']:>6} tasks: {row['wall_s_median']}s, "
              f"{ratio:.1f}x the time of {base['tasks']} for {row['tasks'] // base['tasks']}x the tasks")


if __name__ == "__main__":
    main()
