"""Cron field bounds and names in croner's dialect (https://croner.56k.guru/usage/pattern/)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass

# croner's nicknames (README "Predefined schedule nicknames"). croner has no @every.
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTH_NAMES = {n.upper(): i for i, n in enumerate(calendar.month_abbr) if n}
DAY_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
CF_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTH_LABELS = tuple(calendar.month_name)


@dataclass(frozen=True)
class Field:
    """Bounds of one cron field; `star_hi` and `step_max` follow croner (steps up to the field size)."""

    name: str
    lo: int
    hi: int
    star_hi: int
    step_max: int
    names: dict[str, int] | None = None


SECOND = Field("second", 0, 59, 59, 60)
MINUTE = Field("minute", 0, 59, 59, 60)
HOUR = Field("hour", 0, 23, 23, 24)
DOM = Field("day-of-month", 1, 31, 31, 31)
MONTH = Field("month", 1, 12, 12, 12, MONTH_NAMES)
# croner reads `*` and `a/n` in day-of-week as ending at 6 but accepts 7 (Sunday) in ranges.
DOW = Field("day-of-week", 0, 7, 6, 7, DAY_NAMES)
