"""Run history (templates/runtime/runs.mjs): bounded per task, truncated output, triggers."""

from __future__ import annotations

import json
import subprocess

from conftest import NODE, REPO


def history() -> dict:
    proc = subprocess.run(
        [NODE, str(REPO / "tests" / "js" / "run_history.mjs")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


def test_history_keeps_the_last_50_runs_per_task_with_bounded_output() -> None:
    h = history()
    assert h["limit"] == 50
    # 2,000 runs over 20 tasks (100 each, +1 for t0 and t1): each keeps its last 50, newest first.
    assert h["perTask"] == {**{f"t{i}": 50 for i in range(20)}, "big": 1, "fail": 1}
    assert h["newestT0"]["trigger"] == "schedule" and h["newestT0"]["cron"] == "* * * * *"
    assert h["newestT1"]["trigger"] == "runTask"  # an unknown trigger counts as a plain runTask
    # t2 ran for n = 2, 22, ..., 1982: the oldest of its last 50 is n = 1982 - 49 * 20 = 1002.
    oldest = h["oldestT2"]
    assert oldest["result"] == {"result": 1002} and oldest["payloadKeys"] == ["n", "other"]
    assert oldest["trigger"] == "cli" and oldest["outcome"] == "success"
    big, fail = h["big"], h["fail"]
    assert big["truncated"] is True and len(big["result"]) == h["textLimit"] == 2000
    assert fail["outcome"] == "error" and len(fail["error"]["message"]) == 2000
    assert len(fail["error"]["stack"]) <= 2000
    assert h["maxJson"] < 5000  # no record grows with its task's output
