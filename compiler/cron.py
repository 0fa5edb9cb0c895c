"""Cron expressions in croner's dialect: parse, validate, compile for the runtime, translate.

The input dialect is croner's (https://croner.56k.guru/usage/pattern/), the engine Nitro uses
for its Node, Bun and Deno presets: 5 fields, or 6 with seconds first; `*` `?` `,` `-` `/`;
`L` and `W` in day-of-month; `L` and `#` in day-of-week; `+` before day-of-week for AND;
JAN-DEC and SUN-SAT names; weekday 0-7 (0 and 7 are Sunday); @yearly-style nicknames.
When day-of-month and day-of-week are both restricted a day matches if either matches.

`CronExpr.compiled()` is the data `templates/runtime/cron.mjs` evaluates; the runtime never
parses cron text. Errors raise `CronError` with a reason and no file name: the caller prefixes
the file and key path.
"""
from __future__ import annotations

import bisect
import calendar
import functools
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .errors import CronError

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
SEARCH_YEARS = 400  # the Gregorian calendar repeats every 400 years

CLOUDFLARE_DOC = (
    "https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions"
)
VERCEL_DOC = "https://vercel.com/docs/cron-jobs#cron-expressions"


@dataclass(frozen=True)
class _Field:
    """Bounds of one cron field; `star_hi` and `step_max` follow croner (steps up to the field size)."""

    name: str
    lo: int
    hi: int
    star_hi: int
    step_max: int
    names: dict[str, int] | None = None


SECOND = _Field("second", 0, 59, 59, 60)
MINUTE = _Field("minute", 0, 59, 59, 60)
HOUR = _Field("hour", 0, 23, 23, 24)
DOM = _Field("day-of-month", 1, 31, 31, 31)
MONTH = _Field("month", 1, 12, 12, 12, MONTH_NAMES)
# croner reads `*` and `a/n` in day-of-week as ending at 6 but accepts 7 (Sunday) in ranges.
DOW = _Field("day-of-week", 0, 7, 6, 7, DAY_NAMES)


@dataclass(frozen=True)
class CronExpr:
    """A parsed, validated cron expression (croner's semantics)."""

    source: str
    fields: tuple[str, ...]  # six field texts, seconds first ("0" when the source had five)
    has_seconds: bool
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


# --- parsing -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def parse_cron(expr: str) -> CronExpr:
    """Parse and validate `expr`; raise CronError with the reason if it is invalid or never fires."""
    texts = _split_fields(expr)
    parsed = _build(expr, texts)
    reason = _never_fires_reason(parsed)
    if reason:
        raise CronError(f"never fires ({reason})")
    return parsed


# crontab's `CRON_TZ=Zone` / `TZ=Zone` prefix: schedules have no time zone of their own here.
TIME_ZONE_PREFIX = re.compile(r"\s*((?:CRON_)?TZ=\S*)", re.IGNORECASE)


def _split_fields(expr: str) -> tuple[str, ...]:
    """The six field texts (seconds first), nicknames expanded and `?` read as `*`."""
    text = expr.strip()
    if not text:
        raise CronError("empty cron expression")
    if zone := TIME_ZONE_PREFIX.match(text):
        raise CronError(
            f"a time zone ({zone.group(1)}) is not supported on a schedule: Cloudflare Cron "
            "Triggers and Vercel Cron Jobs fire in UTC, server presets in the server's local "
            "time zone; remove the prefix and write the expression in that time"
        )
    if text.startswith("@"):
        text = _expand_nickname(text)
    parts = text.replace("?", "*").split()
    if len(parts) not in (5, 6):
        raise CronError(f"expected 5 or 6 fields, got {len(parts)}")
    return tuple(parts) if len(parts) == 6 else ("0", *parts)


def _expand_nickname(text: str) -> str:
    """Replace a croner nickname by its expression."""
    key = text.lower()
    if key in NICKNAMES:
        return NICKNAMES[key]
    if key.split()[0] == "@every":
        raise CronError(
            "@every is not supported (croner has no @every); write a cron expression such as */5 * * * *"
        )
    if key == "@reboot":
        raise CronError("@reboot is not supported: there is no boot event to fire on")
    raise CronError(f"unknown nickname {text.split()[0]} (expected one of {', '.join(NICKNAMES)})")


def _build(source: str, texts: tuple[str, ...]) -> CronExpr:
    """Assemble a CronExpr from six field texts."""
    sec_t, min_t, hour_t, dom_t, mon_t, dow_t = texts
    seconds, minutes, hours = (_values(t, f) for t, f in ((sec_t, SECOND), (min_t, MINUTE), (hour_t, HOUR)))
    dom = _parse_dom(dom_t)
    and_mode = dow_t.startswith("+")
    dow = _parse_dow(dow_t[1:] if and_mode else dow_t)
    dom_restricted, dow_restricted = dom_t != "*", dow_t.lstrip("+") != "*"
    return CronExpr(
        source=source, fields=texts, has_seconds=len(source.split()) == 6,
        seconds=seconds, minutes=minutes, hours=hours,
        days=dom["days"], last_day=dom["last"], last_weekday=dom["lw"], nearest_weekdays=dom["nearest"],
        months=_values(mon_t, MONTH),
        weekdays=dow["days"], nth_weekdays=dow["nth"], last_weekdays=dow["last"],
        dom_restricted=dom_restricted, dow_restricted=dow_restricted,
        dom_and_dow=and_mode and dom_restricted and dow_restricted,
        fixed_time=all(_single_value(t, v) for t, v in ((sec_t, seconds), (min_t, minutes), (hour_t, hours))),
    )


def _single_value(text: str, values: tuple[int, ...]) -> bool:
    """croner's default fixedTimeRule: one value, written without a wildcard or a step."""
    return len(values) == 1 and "*" not in text and "/" not in text


def _values(text: str, field: _Field) -> tuple[int, ...]:
    """Expand a list of values, ranges and steps into sorted values (7 in day-of-week is 0)."""
    out: set[int] = set()
    for item in text.split(","):
        out.update(_expand_item(item, field, text))
    if field is DOW and 7 in out:
        out = (out - {7}) | {0}
    return tuple(sorted(out))


def _expand_item(item: str, field: _Field, text: str) -> range:
    """One list entry: `*`, `a`, `a-b`, each optionally `/step` (`a/step` runs to the end)."""
    if not item:
        raise CronError(f"empty entry in {field.name} field '{text}'")
    base, slash, step_text = item.partition("/")
    step = _step(step_text, field) if slash else 1
    if base == "*":
        return range(field.lo, field.star_hi + 1, step)
    if "-" in base:
        lo, hi = _range_bounds(base, field)
        return range(lo, hi + 1, step)
    value = _value(base, field)
    if not slash:
        return range(value, value + 1)
    if value > field.star_hi:  # croner reads 7/2 in day-of-week as 7-6/2: no day at all
        raise CronError(f"{field.name} '{item}' selects nothing: a/n runs from a to {field.star_hi}")
    return range(value, field.star_hi + 1, step)


def _range_bounds(base: str, field: _Field) -> tuple[int, int]:
    """The bounds of `a-b`, refusing backwards ranges as croner does."""
    a, _, b = base.partition("-")
    if not a or not b:
        raise CronError(f"{field.name} range '{base}' is incomplete")
    lo = _value(a, field)
    hi = 7 if field is DOW and b.upper() == "SUN" else _value(b, field)  # croner: MON-SUN is 1-7
    if lo > hi:
        raise CronError(
            f"{field.name} range {base} is backwards (croner does not wrap ranges); "
            f"use a list such as {a}-{field.hi},{field.lo}-{b}"
        )
    return lo, hi


def _step(text: str, field: _Field) -> int:
    """A step: a number from 1 to the field size (croner's limit)."""
    if not text.isdigit():
        raise CronError(f"{field.name} step '{text}' is not a number")
    step = int(text)
    if not 1 <= step <= field.step_max:
        raise CronError(f"{field.name} step {step} is out of range 1-{field.step_max}")
    return step


def _value(text: str, field: _Field) -> int:
    """A number or (month, day-of-week) a three-letter name, within the field's range."""
    if field.names and text.upper() in field.names:
        return field.names[text.upper()]
    if not text.isdigit():
        kind = "a number or a name" if field.names else "a number"
        raise CronError(f"{field.name} value '{text}' is not {kind}")
    value = int(text)
    if not field.lo <= value <= field.hi:
        raise CronError(f"{field.name} {value} is out of range {field.lo}-{field.hi}")
    return value


def _parse_dom(text: str) -> dict:
    """Day-of-month: plain values plus croner's `L` (last day), `LW` and `nW` (nearest weekday)."""
    out: dict = {"days": (), "last": False, "lw": False, "nearest": ()}
    if text == "*":
        return {**out, "days": tuple(range(1, 32))}
    items = text.upper().split(",")
    if "LW" in items and len(items) > 1:
        raise CronError(f"LW must be the whole day-of-month field, not part of a list ('{text}')")
    plain, nearest = [], []
    for item in items:
        if item == "L":
            out["last"] = True
        elif item == "LW":
            out["lw"] = True
        elif item.endswith("W"):
            nearest.append(_nearest_day(item, text))
        elif "L" in item:
            raise CronError(f"day-of-month L must stand alone ('{item}'; croner has no L-n or ranges with L)")
        else:
            plain.append(item)
    days = _values(",".join(plain), DOM) if plain else ()
    return {**out, "days": days, "nearest": tuple(sorted(set(nearest)))}


def _nearest_day(item: str, text: str) -> int:
    """The day of `nW`: a single day, as croner refuses W on ranges and steps."""
    day = item[:-1]
    if not day:
        raise CronError(f"day-of-month W needs a day before it, e.g. 15W ('{text}')")
    if not day.isdigit():
        raise CronError(f"day-of-month W takes a single day, not '{day}' ('{text}')")
    return _value(day, DOM)


def _parse_dow(text: str) -> dict:
    """Day-of-week: plain weekdays plus `5L`/`5#L` (last Friday) and `5#2` (second Friday)."""
    if "+" in text:
        raise CronError("day-of-week + (AND with day-of-month) may only start the field, once")
    days: set[int] = set()
    nth: set[tuple[int, int]] = set()
    last: set[int] = set()
    for item in text.split(","):
        base, modifier = _split_dow_modifier(item, text)
        values = _values(base, DOW) if base else ()
        if modifier is None:
            days.update(values)
        elif modifier == "L":
            last.update(values)
        else:
            nth.update((v, modifier) for v in values)
    return {"days": tuple(sorted(days)), "nth": tuple(sorted(nth)), "last": tuple(sorted(last))}


def _split_dow_modifier(item: str, text: str) -> tuple[str, str | int | None]:
    """Split `5L`, `5#L` and `5#2` into the weekday part and "L", n or None."""
    upper = item.upper()
    if upper.startswith("L"):
        hint = _last_hint(upper[1:])
        raise CronError(f"day-of-week '{item}' is not valid: croner writes L after the weekday{hint}")
    base, hash_, nth = upper.partition("#")
    if hash_:
        return _check_modifier_base(base, item), _nth(nth, item)
    if upper.endswith("L"):
        return _check_modifier_base(upper[:-1], item), "L"
    return item, None


def _last_hint(day: str) -> str:
    """'; write the last Friday as 5L' for croniter's `L5` spelling."""
    if not day.isdigit() or int(day) > 7:
        return ""
    return f"; write the last {calendar.day_name[(int(day) + 6) % 7]} as {day}L"


def _check_modifier_base(base: str, item: str) -> str:
    """croner needs explicit weekdays before L or #, not `*`."""
    if base in ("", "*"):
        raise CronError(f"day-of-week '{item}' needs a weekday before L or #, e.g. 5L or FRI#2")
    return base


def _nth(text: str, item: str) -> str | int:
    """The n of `#n`: 1-5, or L for the last occurrence."""
    if text == "L":
        return "L"
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise CronError(f"day-of-week '{item}': the occurrence after # must be 1-5 or L")
    return int(text)


# --- day rules (shared by the never-fires check and next_firings) --------------------------


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


def _month_fires(e: CronExpr, dim: int, first_weekday: int) -> bool:
    """Whether any day of a month of `dim` days starting on `first_weekday` fires."""
    return any(e.day_matches(d, dim, (first_weekday + d - 1) % 7) for d in range(1, dim + 1))


def _never_fires_reason(e: CronExpr) -> str | None:
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


# --- next firings (CLI summary) ------------------------------------------------------------


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
        day = _next_candidate_day(e, day)
        if day is None:
            return


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
    dim = calendar.monthrange(day.year, day.month)[1]
    return e.day_matches(day.day, dim, (day.weekday() + 1) % 7)


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


# --- platform dialects ---------------------------------------------------------------------
# Cloudflare Cron Triggers (CLOUDFLARE_DOC): 5 fields, UTC; `* , - /` everywhere, `L W` in
# day-of-month, `L #` in day-of-week; weekdays 1-7 from Sunday or names; no `?`. Its parser
# (github.com/cloudflare/saffron) takes `L`, `LW`, `nW`, `dL` and `d#n` only as a whole field.
# Vercel Cron Jobs (VERCEL_DOC): 5 numeric fields, UTC; no names, no `L W #`; day-of-month and
# day-of-week cannot both be set. Both translators write canonical fields from the parsed values.


def to_cloudflare(expr: str) -> str:
    """Translate to Cloudflare Cron Triggers (5 fields, UTC, weekdays as names), or raise CronError."""
    e = parse_cron(expr)
    _drop_zero_seconds(e, "Cloudflare Cron Triggers")
    if e.dom_and_dow:  # CLOUDFLARE_DOC: both day fields set means either matches; no AND
        raise CronError("Cloudflare Cron Triggers cannot AND day-of-month with day-of-week (the + modifier)")
    minutes, hours, months = _fmt(e.minutes, MINUTE), _fmt(e.hours, HOUR), _fmt(e.months, MONTH)
    return f"{minutes} {hours} {_cloudflare_dom(e)} {months} {_cloudflare_dow(e)}"


def _drop_zero_seconds(e: CronExpr, platform: str) -> None:
    """Minute-precision platforms: a seconds field of 0 is dropped, any other is refused."""
    # CLOUDFLARE_DOC and VERCEL_DOC: five fields, minute first.
    if e.seconds != (0,):
        raise CronError(
            f"{platform} have no seconds field; only a seconds field of 0 can be dropped "
            f"(got '{e.fields[0]}')"
        )


def _cloudflare_dom(e: CronExpr) -> str:
    """Day-of-month for Cloudflare: `*`, `L`, `LW`, one `nW`, or values (one kind per field)."""
    if not e.dom_restricted:
        return "*"  # `?` is not in CLOUDFLARE_DOC's table; `*` means the same
    kinds = [bool(e.days), e.last_day, e.last_weekday, bool(e.nearest_weekdays)]
    if sum(kinds) > 1 or len(e.nearest_weekdays) > 1:  # saffron: L, LW and nW stand alone
        raise CronError(
            "Cloudflare Cron Triggers accept L, LW or one nW only as the whole day-of-month field "
            f"(got '{e.fields[3]}')"
        )
    if e.last_day:
        return "L"
    if e.last_weekday:
        return "LW"
    if e.nearest_weekdays:
        return _cloudflare_nearest(e, e.nearest_weekdays[0])
    return _fmt(e.days, DOM, keep_restricted=True)  # 1-31 stays restricted: the OR rule needs it


def _cloudflare_nearest(e: CronExpr, day: int) -> str:
    """`nW` for Cloudflare, refused where a selected month can be shorter than n days.

    croner never fires `31W` in a 30-day month; saffron's rule fires on Friday the 30th when the
    31st would be a Saturday, so the two only agree on days that every selected month has.
    """
    shortest = min(28 if m == 2 else calendar.monthrange(2001, m)[1] for m in e.months)
    if day > shortest:
        raise CronError(
            f"{day}W is not translated for Cloudflare Cron Triggers: in months shorter than {day} days "
            "its nearest-weekday rule differs from croner's"
        )
    return f"{day}W"


def _cloudflare_dow(e: CronExpr) -> str:
    """Day-of-week for Cloudflare as names: a list, `FRIL` or `FRI#2`."""
    # CLOUDFLARE_DOC: weekdays are 1-7 from Sunday (0 is refused), so names are unambiguous.
    if not e.dow_restricted:
        return "*"
    specials = len(e.last_weekdays) + len(e.nth_weekdays)
    if specials and (specials > 1 or e.weekdays):  # saffron: dL and d#n stand alone
        raise CronError(
            "Cloudflare Cron Triggers accept L or # only as the whole day-of-week field, for one weekday "
            f"(got '{e.fields[5]}')"
        )
    if e.last_weekdays:
        return f"{CF_DAY_NAMES[e.last_weekdays[0]]}L"  # CLOUDFLARE_DOC example: `friL`
    if e.nth_weekdays:
        weekday, n = e.nth_weekdays[0]
        return f"{CF_DAY_NAMES[weekday]}#{n}"
    return ",".join(_runs(e.weekdays, lambda v: CF_DAY_NAMES[v], step_form=False))


def to_vercel(expr: str) -> str:
    """Translate to Vercel Cron Jobs (5 numeric fields, UTC, no L/W/#, one day field), or raise CronError."""
    e = parse_cron(expr)
    _drop_zero_seconds(e, "Vercel Cron Jobs")
    dom, dow = _vercel_days(e)
    return f"{_fmt(e.minutes, MINUTE)} {_fmt(e.hours, HOUR)} {dom} {_fmt(e.months, MONTH)} {dow}"


def _vercel_days(e: CronExpr) -> tuple[str, str]:
    """Vercel's day fields: numbers only (weekdays 0-6 from Sunday), one of them `*`."""
    if e.last_day or e.last_weekday or e.nearest_weekdays:  # VERCEL_DOC: no L or W
        raise CronError(f"Vercel Cron Jobs do not support L or W in day-of-month (got '{e.fields[3]}')")
    if e.last_weekdays or e.nth_weekdays:  # VERCEL_DOC: no L or #
        raise CronError(f"Vercel Cron Jobs do not support L or # in day-of-week (got '{e.fields[5]}')")
    if _every_day(e):
        return "*", "*"
    if e.dom_restricted and e.dow_restricted:  # VERCEL_DOC: "when one has a value, the other must be *"
        raise CronError(
            "Vercel Cron Jobs cannot set both day-of-month and day-of-week (when one has a value the "
            "other must be *); split it into two schedules"
        )
    if e.dom_restricted:
        return _fmt(e.days, DOM), "*"
    return "*", ",".join(_runs(e.weekdays, str, step_form=False))  # VERCEL_DOC: no MON, SUN, JAN, DEC


def _every_day(e: CronExpr) -> bool:
    """Whether the day rule matches every day (no day field set, or an OR'd side that covers all)."""
    if not (e.dom_restricted or e.dow_restricted):
        return True
    if e.dom_and_dow:
        return False
    return (e.dom_restricted and len(e.days) == 31) or (e.dow_restricted and len(e.weekdays) == 7)


def fires_more_than_daily(expr: str) -> bool:
    """Whether `expr` can fire more than once on a day (Vercel's Hobby plan allows daily jobs only)."""
    # https://vercel.com/docs/cron-jobs/usage-and-pricing: Hobby cron jobs run at most once a day.
    e = parse_cron(expr)
    return len(e.seconds) * len(e.minutes) * len(e.hours) > 1


def _fmt(values: tuple[int, ...], field: _Field, keep_restricted: bool = False) -> str:
    """Canonical text for a set of values: `*`, `*/n`, `a-b/n`, or a list with ranges."""
    if len(values) == field.star_hi - field.lo + 1 and not keep_restricted:
        return "*"
    return ",".join(_runs(values, str, step_form=True, field=field))


def _runs(values, name, step_form: bool, field: _Field | None = None) -> list[str]:
    """Compress sorted values into parts: a step form when evenly spaced, else runs and singles."""
    if step_form and len(values) >= 3:
        step = values[1] - values[0]
        if step > 1 and all(b - a == step for a, b in itertools.pairwise(values)):
            whole = field and values[0] == field.lo and values[-1] + step > field.star_hi
            return [f"*/{step}" if whole else f"{values[0]}-{values[-1]}/{step}"]
    parts, run = [], [values[0]]
    for v in values[1:]:
        if v == run[-1] + 1:
            run.append(v)
            continue
        parts += _run_text(run, name)
        run = [v]
    return parts + _run_text(run, name)


def _run_text(run: list[int], name) -> list[str]:
    """A run of consecutive values: `a-b` from three values on, else the values."""
    return [f"{name(run[0])}-{name(run[-1])}"] if len(run) >= 3 else [name(v) for v in run]
