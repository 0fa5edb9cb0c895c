"""The registry's compact schedule table (compiler/schedule_table.py) expands, in the shipped
runtime (templates/runtime/schedule_table.mjs, run by real Node), back to exactly the schedules
and specs it was made from: every expression of the cron corpus, with time zones and task lists,
given the task lists as parsed lists or as the JSON text the registry leaves unparsed until a
schedule's tasks are first read."""

from __future__ import annotations

import json
import subprocess

from conftest import NODE, REPO
from cron_corpus import HAND_WRITTEN, generated_expressions
from nitro_build.cron.parse import parse_cron
from nitro_build.schedule_table import SPEC_KEYS, schedule_table

EXPAND = """import { expandSchedules } from %s;
let text = "";
for await (const chunk of process.stdin) text += chunk;
const { lists, rows, tasks } = JSON.parse(text);
const parsed = expandSchedules({ lists, rows }, tasks);
const lazy = expandSchedules({ lists, rows }, JSON.stringify(tasks));
// The same list object each time a schedule's tasks are read (the text is parsed once).
if (lazy.length > 0 && lazy[0].tasks !== lazy[0].tasks) throw new Error("tasks parsed on every read");
// The text is not parsed until a schedule's tasks are read: expanding with text that is not JSON
// works, and gives the specs; only reading `tasks` fails.
const unread = expandSchedules({ lists, rows }, "not JSON");
if (JSON.stringify(unread.map((s) => s.spec)) !== JSON.stringify(parsed.map((s) => s.spec))) throw new Error("specs differ");
let failed = false;
try { unread[0].tasks; } catch { failed = true; }
if (!failed) throw new Error("the task lists were parsed before a schedule's tasks were read");
process.stdout.write(JSON.stringify([parsed, lazy]));
"""


def schedules() -> list[dict]:
    out = []
    for n, cron in enumerate([*HAND_WRITTEN, *generated_expressions(300)]):
        spec = parse_cron(cron).compiled()
        if n % 7 == 0:
            spec["timeZone"] = "Europe/Paris" if n % 2 else "America/New_York"
        out.append({"cron": cron, "tasks": ["a", f"t{n % 5}"][: 1 + n % 2], "spec": spec})
    return out


def test_the_runtime_expands_the_table_to_the_same_schedules(tmp_path) -> None:
    given = schedules()
    table = schedule_table(given)
    assert len(table["rows"]) == len(given)
    script = tmp_path / "expand.mjs"
    script.write_text(EXPAND % json.dumps(str(REPO / "templates/runtime/schedule_table.mjs")))
    proc = subprocess.run(
        [NODE, str(script)], input=json.dumps(table), capture_output=True, text=True, timeout=60, check=True
    )
    parsed, lazy = json.loads(proc.stdout)
    assert parsed == given
    assert lazy == given
    # Each distinct task list once (the table's text grows with distinct lists, not schedules).
    assert len(table["tasks"]) == len({tuple(s["tasks"]) for s in given})
    assert all(set(s["spec"]) <= set(SPEC_KEYS) for s in given)


def test_the_same_schedules_give_the_same_table() -> None:
    assert json.dumps(schedule_table(schedules())) == json.dumps(schedule_table(schedules()))
