"""The peak memory of a process tree: the sum of the RSS of a process and all its descendants.

`ru_maxrss` of RUSAGE_CHILDREN is the largest single child's peak, not the tree's, so the tree is
sampled from /proc (Linux) every few milliseconds while it runs; a short spike between two
samples can be missed, so this is a lower bound of the true peak.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc/PID/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                pass
    return found


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_peak_kib(proc: subprocess.Popen[str], interval: float = 0.005) -> int:
    """Sample `proc`'s tree until it exits; the largest sum of RSS seen, in KiB."""
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(rss_kib(p) for p in descendants(proc.pid)))
        time.sleep(interval)
    return peak
