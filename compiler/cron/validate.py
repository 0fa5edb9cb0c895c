"""The never-fires check: an expression whose day rule matches no day of its months is refused."""

from __future__ import annotations

import calendar

from .expr import CronExpr
from .fields import MONTH_LABELS


def _month_fires(e: CronExpr, dim: int, first_weekday: int) -> bool:
    """Whether any day of a month of `dim` days starting on `first_weekday` fires."""
    return any(e.day_matches(d, dim, (first_weekday + d - 1) % 7) for d in range(1, dim + 1))


def never_fires_reason(e: CronExpr) -> str | None:
    """Why `e` can never fire, or None. Every month starts on every weekday within 400 years."""
    lengths = {m: ((28, 29) if m == 2 else (calendar.monthrange(2001, m)[1],)) for m in e.months}
    if any(_month_fires(e, dim, wd) for m in e.months for dim in lengths[m] for wd in range(7)):
        return None
    missing = _missing_days_reason(e)
    if missing:
        return missing
    if e.dom_and_dow:
        return "no day matches both day-of-month and day-of-week, as + requires"
    return "no day of the selected months matches"


def _missing_days_reason(e: CronExpr) -> str | None:
    """'day 31 does not exist in February' when only plain or W days beyond the months' ends are asked."""
    if (e.dow_restricted and not e.dom_and_dow) or e.last_day or e.last_weekday:
        return None
    days = sorted(set(e.days) | set(e.nearest_weekdays))
    longest = max(29 if m == 2 else calendar.monthrange(2001, m)[1] for m in e.months)
    if not days or days[0] <= longest:
        return None
    label = f"day {days[0]}" if len(days) == 1 else "days " + ", ".join(map(str, days))
    verb = "does" if len(days) == 1 else "do"
    return f"{label} {verb} not exist in {_join_or([MONTH_LABELS[m] for m in e.months])}"


def _join_or(words: list[str]) -> str:
    """'A', 'A or B', 'A, B or C'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
