"""`nitro dev` reload: from writing one changed task file to the server answering with its result.

Starts the real `nitro dev` on a generated project, waits for its first answer, then `repeat`
times rewrites tasks/group0/task0.ts with a new result and polls GET /_nitro/tasks/group0:task0
(loopback, as `nitro task` does) every 2 ms until the answer is the new one. The time is the
whole reload a developer waits for: the watcher noticing, the rebuild, the swap. Two kinds of
change: a new result only (nitro dev bundles the task alone and the server keeps running,
compiler/dev/hot.py), and a new result with a new `meta.description` (the registry changes: the
full rebuild and server restart), for comparison.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

TASK = "group0:task0"
SOURCE = 'export default defineTask({{ run() {{ return {{ result: "{value}" }}; }} }});\n'
# A new description: what the build reads from the file changes, so nitro dev rebuilds it all.
FULL = 'export default defineTask({{ meta: {{ description: "{value}" }}, run() {{ return {{ result: "{value}" }}; }} }});\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answer(port: int) -> Any:
    """The task's result, or None while no server answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_nitro/tasks/{TASK}", timeout=2) as r:
            return json.load(r).get("result")
    except (OSError, ValueError):
        return None


def wait_for(port: int, value: str, timeout: float) -> float:
    """Seconds until the server answers `value`."""
    start = time.perf_counter()
    while answer(port) != value:
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"nitro dev did not answer {value!r} within {timeout}s")
        time.sleep(0.002)
    return time.perf_counter() - start


def percentile(times: list[float], p: float) -> float:
    """The p-th percentile, nearest rank."""
    ordered = sorted(times)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def changes(task: Path, port: int, source: str, values: list[str]) -> list[float]:
    times = []
    for value in values:
        time.sleep(0.5)  # let the watcher settle after the previous swap
        task.write_text(source.format(value=value))
        times.append(wait_for(port, value, 120))
    return times


def summary(prefix: str, times: list[float]) -> dict[str, Any]:
    return {
        f"{prefix}_s_median": round(statistics.median(times), 3),
        f"{prefix}_s_p90": round(percentile(times, 90), 3),
        f"{prefix}_s_all": [round(t, 3) for t in times],
    }


def dev_reload(project: Path, env: dict[str, str], repeat: int) -> dict[str, Any]:
    """Median, p90 and all reload times (seconds) of `repeat` one-file changes of each kind, the
    first start, and how many changes the server took without a restart."""
    task = project / "tasks" / "group0" / "task0.ts"
    task.write_text(SOURCE.format(value="v0"))
    port = free_port()
    argv = [sys.executable, "-m", "nitro_build", "dev", "--dir", str(project), "--port", str(port)]
    log = (project / "dev.log").open("w")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        first = wait_for(port, "v0", 300)
        hot = changes(task, port, SOURCE, [f"v{i}" for i in range(1, repeat + 1)])
        full = changes(task, port, FULL, [f"f{i}" for i in range(1, repeat + 1)])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    tasks = sum(1 for _ in (project / "tasks").rglob("*.ts"))
    output = (project / "dev.log").read_text()
    return {
        "dev_tasks": tasks,
        "dev_load_average": [round(x, 2) for x in os.getloadavg()],
        "dev_first_start_s": round(first, 3),
        **summary("dev_reload", hot),
        "dev_reloads_without_restart": output.count("(server kept running)"),
        **summary("dev_full_restart", full),
    }
