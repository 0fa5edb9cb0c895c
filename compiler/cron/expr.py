"""CronExpr: a parsed expression, its day rule, and the data templates/runtime/cron.mjs evaluates."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CronExpr:
    """A parsed, validated cron expression (croner's semantics)."""

    source: str
    fields: tuple[str, ...]  # six field texts, seconds first ("0" when the source had five)
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]  # plain day-of-month values
    last_day: bool  # L
    last_weekday: bool  # LW
    nearest_weekdays: tuple[int, ...]  # nW
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # plain weekdays, 0 = Sunday
    nth_weekdays: tuple[tuple[int, int], ...]  # (weekday, n): 5#2 is the second Friday
    last_weekdays: tuple[int, ...]  # 5L / 5#L: the last Friday
    dom_restricted: bool
    dow_restricted: bool
    dom_and_dow: bool  # croner's `+` modifier, only kept when both sides are restricted
    fixed_time: bool  # croner's DST rule: one value each in seconds, minutes and hours
    zone: str | None = None  # the `CRON_TZ=` prefix's IANA zone (compiler/cron/zones.py)

    def compiled(self) -> dict:
        """The JSON data templates/runtime/cron.mjs evaluates (deterministic, sorted lists)."""
        return {
            "seconds": list(self.seconds),
            "minutes": list(self.minutes),
            "hours": list(self.hours),
            "days": list(self.days),
            "lastDay": self.last_day,
            "lastWeekday": self.last_weekday,
            "nearestWeekdays": list(self.nearest_weekdays),
            "months": list(self.months),
            "weekdays": list(self.weekdays),
            "nthWeekdays": [list(p) for p in self.nth_weekdays],
            "lastWeekdays": list(self.last_weekdays),
            "domRestricted": self.dom_restricted,
            "dowRestricted": self.dow_restricted,
            "domAndDow": self.dom_and_dow,
            "fixedTime": self.fixed_time,
        }

    def day_matches(self, day: int, dim: int, weekday: int) -> bool:
        """Whether `day` (of a month with `dim` days, on `weekday`, 0 = Sunday) is a firing day."""
        if not self.dom_restricted:
            return not self.dow_restricted or _dow_ok(self, day, dim, weekday)
        if not self.dow_restricted:
            return _dom_ok(self, day, dim, weekday)
        dom, dow = _dom_ok(self, day, dim, weekday), _dow_ok(self, day, dim, weekday)
        return (dom and dow) if self.dom_and_dow else (dom or dow)


def _dom_ok(e: CronExpr, day: int, dim: int, weekday: int) -> bool:
    """Day-of-month side of the day rule."""
    if day in e.days or (e.last_day and day == dim):
        return True
    if e.last_weekday and day == _nearest_weekday(dim, dim, (weekday + dim - day) % 7):
        return True
    return any(
        n <= dim and day == _nearest_weekday(n, dim, (weekday + n - day) % 7) for n in e.nearest_weekdays
    )


def _nearest_weekday(n: int, dim: int, weekday_of_n: int) -> int:
    """croner's `nW`: Saturday moves to Friday and Sunday to Monday, never across the month."""
    if weekday_of_n == 6:
        return n - 1 if n > 1 else n + 2
    if weekday_of_n == 0:
        return n + 1 if n < dim else n - 2
    return n


def _dow_ok(e: CronExpr, day: int, dim: int, weekday: int) -> bool:
    """Day-of-week side of the day rule."""
    if weekday in e.weekdays:
        return True
    if weekday in e.last_weekdays and day + 7 > dim:
        return True
    return (weekday, (day - 1) // 7 + 1) in e.nth_weekdays
