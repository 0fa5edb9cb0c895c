"""Parse cron text into a CronExpr, refusing what croner refuses with the exact reason."""

from __future__ import annotations

import calendar
import functools

from ..errors import CronError
from .expr import CronExpr
from .fields import DOM, DOW, HOUR, MINUTE, MONTH, NICKNAMES, SECOND, Field
from .validate import never_fires_reason
from .zones import split_zone

# Large enough for a table of one schedule per second of a day (86,400): a merge and the build
# summary each parse every schedule, and a smaller cache made the second pass parse them again.
# Each field text is parsed once per build too (FIELD_CACHE): such tables repeat them.
PARSE_CACHE = 1 << 17
FIELD_CACHE = 4096


@functools.lru_cache(maxsize=PARSE_CACHE)
def parse_cron(expr: str) -> CronExpr:
    """Parse and validate `expr`; raise CronError with the reason if it is invalid or never fires."""
    zone, text = split_zone(expr)
    texts = _split_fields(text)
    parsed = _build(expr, texts, zone)
    reason = _day_rule_reason(texts[3:], parsed)
    if reason:
        raise CronError(f"never fires ({reason})")
    return parsed


_REASONS: dict[tuple[str, ...], str | None] = {}


def _day_rule_reason(day_texts: tuple[str, ...], parsed: CronExpr) -> str | None:
    """never_fires_reason, once per day-of-month, month and day-of-week texts (it reads only those)."""
    if day_texts not in _REASONS:
        if len(_REASONS) >= FIELD_CACHE:
            _REASONS.clear()
        _REASONS[day_texts] = never_fires_reason(parsed)
    return _REASONS[day_texts]


def _split_fields(expr: str) -> tuple[str, ...]:
    """The six field texts (seconds first), nicknames expanded and `?` read as `*`."""
    text = expr.strip()
    if not text:
        raise CronError("empty cron expression")
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


def _build(source: str, texts: tuple[str, ...], zone: str | None) -> CronExpr:
    """Assemble a CronExpr from six field texts."""
    sec_t, min_t, hour_t, dom_t, mon_t, dow_t = texts
    seconds, minutes, hours = (_values(t, f) for t, f in ((sec_t, SECOND), (min_t, MINUTE), (hour_t, HOUR)))
    dom = _parse_dom(dom_t)
    and_mode = dow_t.startswith("+")
    dow = _parse_dow(dow_t[1:] if and_mode else dow_t)
    dom_restricted, dow_restricted = dom_t != "*", dow_t.lstrip("+") != "*"
    return CronExpr(
        source=source,
        fields=texts,
        zone=zone,
        seconds=seconds,
        minutes=minutes,
        hours=hours,
        days=dom["days"],
        last_day=dom["last"],
        last_weekday=dom["lw"],
        nearest_weekdays=dom["nearest"],
        months=_values(mon_t, MONTH),
        weekdays=dow["days"],
        nth_weekdays=dow["nth"],
        last_weekdays=dow["last"],
        dom_restricted=dom_restricted,
        dow_restricted=dow_restricted,
        dom_and_dow=and_mode and dom_restricted and dow_restricted,
        fixed_time=all(_single_value(t, v) for t, v in ((sec_t, seconds), (min_t, minutes), (hour_t, hours))),
    )


def _single_value(text: str, values: tuple[int, ...]) -> bool:
    """croner's default fixedTimeRule: one value, written without a wildcard or a step."""
    return len(values) == 1 and "*" not in text and "/" not in text


def _values(text: str, field: Field) -> tuple[int, ...]:
    """_expand_values, once per text and field (Field holds a dict, so it is keyed by name)."""
    return _values_by_name(text, field.name)


_FIELDS = {f.name: f for f in (SECOND, MINUTE, HOUR, DOM, MONTH, DOW)}


@functools.lru_cache(maxsize=FIELD_CACHE)
def _values_by_name(text: str, name: str) -> tuple[int, ...]:
    return _expand_values(text, _FIELDS[name])


def _expand_values(text: str, field: Field) -> tuple[int, ...]:
    """Expand a list of values, ranges and steps into sorted values (7 in day-of-week is 0)."""
    out: set[int] = set()
    for item in text.split(","):
        out.update(_expand_item(item, field, text))
    if field is DOW and 7 in out:
        out = (out - {7}) | {0}
    return tuple(sorted(out))


def _expand_item(item: str, field: Field, text: str) -> range:
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


def _range_bounds(base: str, field: Field) -> tuple[int, int]:
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


def _step(text: str, field: Field) -> int:
    """A step: a number from 1 to the field size (croner's limit)."""
    if not _is_number(text):
        raise CronError(f"{field.name} step '{_short(text)}' is not a number")
    step = _to_int(text)
    if not 1 <= step <= field.step_max:
        raise CronError(f"{field.name} step {_short(text)} is out of range 1-{field.step_max}")
    return step


def _value(text: str, field: Field) -> int:
    """A number or (month, day-of-week) a three-letter name, within the field's range."""
    if field.names and text.upper() in field.names:
        return field.names[text.upper()]
    if not _is_number(text):
        kind = "a number or a name" if field.names else "a number"
        raise CronError(f"{field.name} value '{_short(text)}' is not {kind}")
    value = _to_int(text)
    if not field.lo <= value <= field.hi:
        raise CronError(f"{field.name} {_short(text)} is out of range {field.lo}-{field.hi}")
    return value


def _is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²' and other digits int() refuses."""
    return text.isascii() and text.isdigit()


def _to_int(text: str) -> int:
    """int(text) for _is_number text; a huge number (int() refuses > 4300 digits) becomes one that
    is out of range of every field."""
    return int(text) if len(text) <= 9 else 10**9


def _short(text: str) -> str:
    return text if len(text) <= 20 else f"{text[:12]}...({len(text)} characters)"


@functools.lru_cache(maxsize=FIELD_CACHE)
def _parse_dom(text: str) -> dict:
    """_day_of_month, once per text (callers only read the result)."""
    return _day_of_month(text)


def _day_of_month(text: str) -> dict:
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
    if not _is_number(day):
        raise CronError(f"day-of-month W takes a single day, not '{_short(day)}' ('{_short(text)}')")
    return _value(day, DOM)


@functools.lru_cache(maxsize=FIELD_CACHE)
def _parse_dow(text: str) -> dict:
    """_day_of_week, once per text (callers only read the result)."""
    return _day_of_week(text)


def _day_of_week(text: str) -> dict:
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
            nth.update((v, int(modifier)) for v in values)  # an occurrence 1-5 (L is handled above)
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
    if not _is_number(day) or _to_int(day) > 7:
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
    if not _is_number(text) or not 1 <= _to_int(text) <= 5:
        raise CronError(f"day-of-week '{item}': the occurrence after # must be 1-5 or L")
    return int(text)
