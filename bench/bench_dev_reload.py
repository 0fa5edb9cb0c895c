"""`nitro dev` reload: from writing one changed task file to the server answering with its result.

Starts the real `nitro dev` on a generated project, waits for its first answer, then `repeat`
times rewrites tasks/group0/task0.ts with a new result and polls GET /_nitro/tasks/group0:task0
(loopback, as `nitro task` does) every 2 ms until the answer is the new one. The time is the
whole reload a developer waits for: the watcher noticing, the rebuild, the server swap.
"""

from __future__ import annotations

import json
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


def dev_reload(project: Path, env: dict[str, str], repeat: int) -> dict[str, Any]:
    """Median and all reload times (seconds) of `repeat` one-file changes, and the first start."""
    task = project / "tasks" / "group0" / "task0.ts"
    task.write_text(SOURCE.format(value="v0"))
    port = free_port()
    argv = [sys.executable, "-m", "nitro_build", "dev", "--dir", str(project), "--port", str(port)]
    log = (project / "dev.log").open("w")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        first = wait_for(port, "v0", 300)
        times = []
        for i in range(1, repeat + 1):
            time.sleep(0.5)  # let the watcher settle after the previous swap
            task.write_text(SOURCE.format(value=f"v{i}"))
            times.append(wait_for(port, f"v{i}", 120))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    tasks = sum(1 for _ in (project / "tasks").rglob("*.ts"))
    return {
        "dev_tasks": tasks,
        "dev_first_start_s": round(first, 3),
        "dev_reload_s_median": round(statistics.median(times), 3),
        "dev_reload_s_all": [round(t, 3) for t in times],
    }
