"""Build-time benchmark for huge schedule tables (issue #10: 16-44 s for 86,400 entries, 18.5 s
for 40,000 schedules naming an unknown task).

Generates two projects and builds each with the real CLI (node_server), printing wall time:
- `table`: one schedule per second of a day (`S M H * * *` = "a"), 86,400 entries;
- `unknown`: 40,000 schedules each naming a task that does not exist (one warning each).

    python bench/bench_schedules.py [--entries 86400] [--unknown 40000] [--profile]

`--profile` runs each build in-process under cProfile and prints the 15 costliest functions.
Nothing here is enforced; shared machines are noisy.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
TASK = "export default defineTask({ run() { return 1 } });\n"


def table_project(root: Path, entries: int) -> Path:
    """`entries` schedules, each a different second of the day, all running task `a`."""
    lines = ["[experimental]", "tasks = true", "[scheduledTasks]"]
    for n in range(entries):
        s, m, h = n % 60, n // 60 % 60, n // 3600 % 24
        lines.append(f'"{s} {m} {h} * * *" = "a"')
    return _write(root, "\n".join(lines) + "\n")


def unknown_project(root: Path, count: int) -> Path:
    """`count` schedules naming tasks that do not exist, beside one real task."""
    lines = ["[experimental]", "tasks = true", "[scheduledTasks]"]
    for n in range(count):
        s, m, h = n % 60, n // 60 % 60, n // 3600 % 24
        lines.append(f'"{s} {m} {h} * * *" = ["a", "ghost{n}"]')
    return _write(root, "\n".join(lines) + "\n")


def _write(root: Path, config: str) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    (root / "tasks").mkdir(parents=True)
    (root / "tasks" / "a.ts").write_text(TASK)
    (root / "nitro.config.toml").write_text(config)
    return root


def timed_build(project: Path) -> tuple[float, float]:
    """Wall time and CPU time (compiler and esbuild) of one build through the CLI."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.setdefault("NITRO_ESBUILD", str(REPO / "node_modules" / ".bin" / "esbuild"))
    started, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(
        [sys.executable, "-m", "nitro_build", "build", "--dir", str(project)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"build of {project} failed:\n{proc.stderr[-2000:]}")
    return elapsed, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def profiled_build(project: Path) -> None:
    from nitro_build import build

    os.environ.setdefault("NITRO_ESBUILD", str(REPO / "node_modules" / ".bin" / "esbuild"))
    profile = cProfile.Profile()
    profile.runcall(build, project, "node_server")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=86_400)
    parser.add_argument("--unknown", type=int, default=40_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    projects = {
        f"table of {args.entries} schedules": table_project(OUT / "schedules-table", args.entries),
        f"{args.unknown} schedules naming unknown tasks": unknown_project(
            OUT / "schedules-unknown", args.unknown
        ),
    }
    for label, project in projects.items():
        if args.profile:
            print(f"== {label}")
            profiled_build(project)
        else:
            wall, cpu = timed_build(project)
            print(f"{label:<45} {wall:7.2f} s wall {cpu:7.2f} s CPU")


if __name__ == "__main__":
    main()
