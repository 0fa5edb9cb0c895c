"""Next firing times of an expression (the CLI summary), with croner's DST rules."""

from __future__ import annotations

import bisect
import calendar
import functools
import itertools
from datetime import UTC, date, datetime, timedelta, timezone

from .expr import CronExpr
from .parse import parse_cron

SEARCH_YEARS = 400  # the Gregorian calendar repeats every 400 years


def next_firings(expr: str, start: datetime, count: int) -> list[datetime]:
    """The next `count` firings strictly after `start`, in start's time zone (naive: wall clock).

    DST follows croner (as templates/runtime/cron.mjs does): a fixed-time job (one value each in
    seconds, minutes and hours) whose time is skipped runs when the clock jumps, and runs once at a
    repeated time; other jobs skip skipped times and run on both passes of a repeated time.
    """
    e = parse_cron(expr)
    if count <= 0:
        return []
    if start.tzinfo is None:
        return list(itertools.islice((w for w in _walls(e, start) if w > start), count))
    if isinstance(start.tzinfo, timezone):
        # A fixed offset (what datetime.now().astimezone() gives): no DST to map walls through.
        # The build summary of an 86,400-schedule table took 20 s on the general path.
        local = start.replace(tzinfo=None)
        walls = itertools.islice((w for w in _walls(e, local) if w > local), count)
        return [w.replace(tzinfo=start.tzinfo) for w in walls]
    return _zoned_firings(e, start, count)


def _walls(e: CronExpr, start: datetime):
    """Matching wall-clock times (naive) from `start` on, in order, for up to 400 years."""
    times = list(itertools.product(e.hours, e.minutes, e.seconds))
    first_time = (start.hour, start.minute, start.second)
    day = start.date()
    for _ in range(SEARCH_YEARS * 366):
        if day.month in e.months and _date_fires(e, day):
            for h, m, s in times:
                if day > start.date() or (h, m, s) >= first_time:
                    yield datetime(day.year, day.month, day.day, h, m, s)
        following = _next_candidate_day(e, day)
        if following is None:
            return
        day = following


def _next_candidate_day(e: CronExpr, day: date) -> date | None:
    """The next day, jumping over months the expression excludes."""
    nxt = day + timedelta(days=1)
    while nxt.month not in e.months:
        if nxt.year > day.year + SEARCH_YEARS:
            return None
        nxt = date(nxt.year + (nxt.month == 12), nxt.month % 12 + 1, 1)
    return nxt


def _date_fires(e: CronExpr, day: date) -> bool:
    """The day rule for a calendar date."""
    return e.day_matches(day.day, _days_in_month(day.year, day.month), (day.weekday() + 1) % 7)


@functools.lru_cache(maxsize=4096)
def _days_in_month(year: int, month: int) -> int:
    """calendar.monthrange, cached: it was a tenth of the summary of an 86,400-schedule table."""
    return calendar.monthrange(year, month)[1]


def _zoned_firings(e: CronExpr, start: datetime, count: int) -> list[datetime]:
    """Firings in start's zone, mapping wall times to instants with croner's DST rules."""
    tz = start.tzinfo
    utc_start = start.astimezone(UTC)
    local = start.astimezone(tz).replace(tzinfo=None)
    found: list[datetime] = []
    # Near a DST change, look 3 h back for times repeated after `start` (the second pass of a fold).
    for wall in _walls(e, local - _dst_margin(tz, utc_start)):
        if len(found) >= count and wall > _local(found[count - 1], tz) + _dst_margin(tz, found[count - 1]):
            break
        for t in _instants(wall, tz, e.fixed_time):
            if t > utc_start:
                bisect.insort(found, t)
        del found[count:]
    return [t.astimezone(tz) for t in found[:count]]


def _local(t: datetime, tz) -> datetime:
    """The naive wall time of instant `t` in `tz`."""
    return t.astimezone(tz).replace(tzinfo=None)


def _dst_margin(tz, t: datetime) -> timedelta:
    """3 hours when the UTC offset changes within 3 hours of `t`, else nothing."""
    offsets = {(t + timedelta(hours=h)).astimezone(tz).utcoffset() for h in (-3, 0, 3)}
    return timedelta(hours=3) if len(offsets) > 1 else timedelta(0)


def _instants(wall: datetime, tz, fixed: bool) -> list[datetime]:
    """The UTC instants a wall time fires at: one, both passes of a fold, or the end of a gap."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second:
        return [first]
    if first.astimezone(tz).replace(tzinfo=None) == wall:  # repeated time (fold)
        return [first] if fixed else [first, second]
    return [_transition(second, first, tz)] if fixed else []  # skipped time (gap)


def _transition(before: datetime, after: datetime, tz) -> datetime:
    """The first instant (whole second) in (before, after] with after's UTC offset."""
    target = after.astimezone(tz).utcoffset()
    lo, hi = before, after
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=((hi - lo).total_seconds() // 2))
        lo, hi = (lo, mid) if mid.astimezone(tz).utcoffset() == target else (mid, hi)
    return hi
