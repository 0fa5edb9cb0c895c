"""The registry's schedule table, compact: templates/runtime/schedule_table.mjs expands it.

Each distinct spec field's values are stored once in `lists`, each distinct task list once in
`tasks`; each schedule is one row: its cron, its task list's index in `tasks`, then its spec's
values in SPEC_KEYS order (a list's index, a flag as 0/1, the time zone or None). An 86,400-
schedule table was 43 MB of repeated lists as JSON objects, which esbuild then had to parse and
copy (issue 10). The task lists are kept apart because the server reads them only when a
schedule fires or is listed: the registry leaves them as an unparsed string until then, so a
start with 10,000 scheduled tasks does not parse their names (issue 18). A list of three or more
evenly spaced values is written as a run, "0-59" or "0-55/5" (`_run`): the lists of `* * * * *`
took 360 bytes of every bundle with a schedule, as runs they take 25 (issue 14).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

# The spec's keys (compiler/cron/expr.py CronExpr.compiled(), plus timeZone), sorted; the
# runtime's spec() (templates/runtime/schedule_table.mjs) reads them at the same row indexes.
SPEC_KEYS = (
    "days",
    "domAndDow",
    "domRestricted",
    "dowRestricted",
    "fixedTime",
    "hours",
    "lastDay",
    "lastWeekday",
    "lastWeekdays",
    "minutes",
    "months",
    "nearestWeekdays",
    "nthWeekdays",
    "seconds",
    "timeZone",
    "weekdays",
)
FLAGS = frozenset(("domAndDow", "domRestricted", "dowRestricted", "fixedTime", "lastDay", "lastWeekday"))
_FIELDS = tuple(key for key in SPEC_KEYS if key != "timeZone")
_ZONE_AT = SPEC_KEYS.index("timeZone")
_IS_FLAG = tuple(key in FLAGS for key in _FIELDS)
_values = itemgetter(*_FIELDS)


def schedule_table(schedules: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """`[{cron, tasks, spec}]` -> `{"lists": [[...] or "first-last[/step]"], "tasks": [[name, ...]], "rows": [[cron,
    task list index, *spec values]]}`."""
    lists: list[list[Any] | str] = []
    task_lists: list[list[Any] | str] = []
    ref, task_ref = _interner(lists), _interner(task_lists)
    rows = []
    for s in schedules:
        spec, tasks = s["spec"], task_ref(s["tasks"])
        row = [(1 if v else 0) if flag else ref(v) for v, flag in zip(_values(spec), _IS_FLAG, strict=True)]
        row.insert(_ZONE_AT, spec.get("timeZone"))
        rows.append([s["cron"], tasks, *row])
    return {"lists": lists, "tasks": task_lists, "rows": rows}


def _interner(lists: list[list[Any] | str]) -> Callable[[list[Any]], int]:
    """`ref(values)`: the index of `values` in `lists`, appended the first time it is seen."""
    index: dict[tuple[Any, ...], int] = {}

    def ref(values: list[Any]) -> int:
        key = tuple(values)
        try:
            found = index.get(key)
        except TypeError:  # nthWeekdays: a list of pairs
            key = tuple(map(tuple, values))
            found = index.get(key)
        if found is None:
            found = index[key] = len(lists)
            lists.append(_run(values))
        return found

    return ref


def _run(values: list[Any]) -> list[Any] | str:
    """Three or more evenly spaced, increasing integers as "first-last" or "first-last/step" (the
    runtime's runValues expands it back), else `values` as they are."""
    if len(values) < 3 or not all(type(v) is int for v in values):
        return values
    step = values[1] - values[0]
    if step <= 0 or any(b - a != step for a, b in zip(values, values[1:], strict=False)):
        return values
    return f"{values[0]}-{values[-1]}" + (f"/{step}" if step != 1 else "")
