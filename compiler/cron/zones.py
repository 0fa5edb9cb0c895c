"""Time zones of schedules: the `CRON_TZ=Zone` prefix, zone names, and UTC translation.

A schedule fires at the wall-clock time of its zone: the key's `CRON_TZ=Europe/Berlin` prefix
(written as croner and cronie do: https://man7.org/linux/man-pages/man5/crontab.5.html), else
`scheduler.timezone`, else the server's own zone (server presets) or UTC (platforms).
Platforms whose cron service fires only in UTC (Cloudflare, Vercel) get `to_utc`: a zone with
a fixed UTC offset for the next ten years is shifted into a UTC expression that fires at the
same instants; any other zone is refused, since no UTC expression follows daylight saving.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

from ..errors import CronError
from .expr import CronExpr
from .fields import DOW, HOUR, MINUTE

# crontab's `CRON_TZ=Zone ` (cronie) or `TZ=Zone ` (croner's README) before the expression.
ZONE_PREFIX = re.compile(r"\s*(?:CRON_)?TZ=(\S*)(?:\s+|$)", re.IGNORECASE)
FIXED_YEARS = 10  # a zone counts as fixed when its offset does not change within this many years
UTC_NAMES = frozenset(
    {
        "UTC",
        "Etc/UTC",
        "Etc/UCT",
        "UCT",
        "Etc/Universal",
        "Universal",
        "Zulu",
        "Etc/Zulu",
        "GMT",
        "Etc/GMT",
        "Etc/GMT0",
        "Etc/GMT+0",
        "Etc/GMT-0",
        "GMT0",
        "GMT+0",
        "GMT-0",
        "Greenwich",
        "Etc/Greenwich",
    }
)


def split_zone(text: str) -> tuple[str | None, str]:
    """(`Europe/Berlin`, `0 9 * * *`) for `CRON_TZ=Europe/Berlin 0 9 * * *`; (None, text) without."""
    match = ZONE_PREFIX.match(text)
    if not match:
        return None, text
    if not match.group(1):
        raise CronError("CRON_TZ= needs an IANA zone name, e.g. CRON_TZ=Europe/Berlin 0 9 * * *")
    return check_zone(match.group(1)), text[match.end() :]


@functools.lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    import zoneinfo  # here, not at the top: it imports sysconfig, and most builds use no zone

    return frozenset(zoneinfo.available_timezones())


def check_zone(name: str) -> str:
    """`name` if it is an IANA zone this machine's tz database knows, else CronError with did-you-mean."""
    if name in _zone_names() or name == "UTC":
        return name
    import difflib  # error path only

    close = difflib.get_close_matches(name, sorted(_zone_names()), n=1, cutoff=0.6)
    if not close:
        lowered = {z.lower(): z for z in _zone_names()}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise CronError(
        f"unknown time zone {name!r}{hint} (an IANA name such as Europe/Berlin or America/New_York: "
        "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones)"
    )


def fixed_offset(zone: str, now: datetime | None = None) -> timedelta | None:
    """The zone's UTC offset if it stays the same for FIXED_YEARS from `now`, else None."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    start = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    offset = start.astimezone(tz).utcoffset()
    # Offsets change on the hour or half hour; a sample every 30 minutes sees every change.
    for step in range(FIXED_YEARS * 366 * 48):
        if (start + timedelta(minutes=30 * step)).astimezone(tz).utcoffset() != offset:
            return None
    return offset


@functools.lru_cache(maxsize=256)
def _cached_fixed_offset(zone: str, day: str) -> timedelta | None:
    return fixed_offset(zone, datetime.fromisoformat(day).replace(tzinfo=UTC))


def to_utc(e: CronExpr, zone: str) -> str:
    """A 5- or 6-field UTC expression firing at the same instants as `e` in `zone`, or CronError."""
    if zone in UTC_NAMES:
        return e.source if e.zone is None else " ".join(e.fields)
    offset = _cached_fixed_offset(zone, datetime.now(UTC).date().isoformat())
    if offset is None:
        raise CronError(
            f"time zone {zone} changes its UTC offset (daylight saving or a scheduled change) "
            f"within {FIXED_YEARS} years, and this platform fires cron only in UTC: no UTC "
            "expression follows it; use a server preset or kubernetes, or write the schedule in UTC"
        )
    return _shift(e, int(offset.total_seconds()) // 60, zone)


def _shift(e: CronExpr, offset_minutes: int, zone: str) -> str:
    """Shift `e`'s times of day by -offset into UTC; days move only when the day rule allows it."""
    by_day: dict[int, set[tuple[int, int]]] = {}
    for h in e.hours:
        for m in e.minutes:
            total = h * 60 + m - offset_minutes
            by_day.setdefault(total // 1440, set()).add(divmod(total % 1440, 60))
    times = set().union(*by_day.values())
    hours, minutes = sorted({h for h, _ in times}), sorted({m for _, m in times})
    if {(h, m) for h in hours for m in minutes} != times:
        raise _inexact(e, zone, "its times of day do not form hour and minute fields in UTC")
    every_day = not e.dom_restricted and not e.dow_restricted
    if not every_day and len(by_day) > 1:
        raise _inexact(e, zone, "some of its times fall on the previous or next day in UTC, others do not")
    shift = next(iter(by_day)) if not every_day else 0
    days, weekdays = e.fields[3], e.fields[5]
    if shift:
        weekdays = _shift_weekdays(e, shift, zone)
    from .translate import _fmt  # the canonical field text the platform translators write

    seconds = "" if e.fields[0] == "0" else f"{e.fields[0]} "
    return (
        f"{seconds}{_fmt(tuple(minutes), MINUTE)} {_fmt(tuple(hours), HOUR)} {days} {e.fields[4]} {weekdays}"
    )


def _shift_weekdays(e: CronExpr, shift: int, zone: str) -> str:
    """Plain weekdays moved by `shift` days; day-of-month, L, W and # do not move exactly."""
    if e.dom_restricted or e.last_weekdays or e.nth_weekdays or len(e.months) != 12:
        raise _inexact(
            e,
            zone,
            "it fires on the previous or next day in UTC, and only plain weekdays "
            "(no day-of-month, month, L or #) can move by a day",
        )
    from .translate import _runs

    moved = tuple(sorted((d + shift) % 7 for d in e.weekdays))
    return ",".join(_runs(moved, str, step_form=False, field=DOW))


def _inexact(e: CronExpr, zone: str, why: str) -> CronError:
    return CronError(
        f"'{' '.join(e.fields[1:]) if e.fields[0] == '0' else ' '.join(e.fields)}' in {zone} has no "
        f"exact UTC equivalent: {why}; this platform fires cron only in UTC, so write the schedule in UTC"
    )
