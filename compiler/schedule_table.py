"""The registry's schedule table, compact: templates/runtime/schedule_table.mjs expands it.

Each distinct list (a spec field's values, a schedule's task names) is stored once in `lists`;
each schedule is one row: its cron, its task list's index, then its spec's values in SPEC_KEYS
order (a list's index, a flag as 0/1, the time zone or None). An 86,400-schedule table was 43 MB
of repeated lists as JSON objects, which esbuild then had to parse and copy (issue 10).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

# The spec's keys (compiler/cron/expr.py CronExpr.compiled(), plus timeZone), sorted; the
# runtime's SPEC_KEYS is the same list.
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
    """`[{cron, tasks, spec}]` -> `{"lists": [...], "rows": [[cron, tasks, *spec values]]}`."""
    lists: list[list[Any]] = []
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
            lists.append(values)
        return found

    rows = []
    for s in schedules:
        spec, tasks = s["spec"], ref(s["tasks"])
        row = [(1 if v else 0) if flag else ref(v) for v, flag in zip(_values(spec), _IS_FLAG, strict=True)]
        row.insert(_ZONE_AT, spec.get("timeZone"))
        rows.append([s["cron"], tasks, *row])
    return {"lists": lists, "rows": rows}
