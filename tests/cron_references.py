"""How croniter and the platforms read cron text, for tests/test_cron_conformance.py: croniter's
spelling of croner's rules, Cloudflare's (saffron's) rules as a firing calculator, Vercel's syntax.

Reference readers only: they never import the code under test's translations, so a translation
is checked against the platform's rules, not against itself.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from nitro_build.cron import NICKNAMES

MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAYS = "SUN MON TUE WED THU FRI SAT".split()


# --- croniter, our third opinion ----------------------------------------------------------------


def croniter_form(expr: str) -> tuple[str, ...] | None:
    """The expression in croniter's spelling (see `croniter_split`), or None where croniter cannot say it."""
    text = NICKNAMES.get(expr.lower(), expr).replace("?", "*")
    fields = text.split()
    dom, dow = fields[-3].upper(), fields[-1].upper()
    if "+" in dow or dom == "LW" or ("W" in dom and "," in dom):
        return None
    parts = []
    for item in dow.split(","):
        m = re.fullmatch(r"([0-7]|[A-Z]{3})(?:#L|L)", item)
        if m:
            day = m.group(1)
            parts.append("L" + str(DAYS.index(day) if day in DAYS else int(day) % 7))
        elif re.search(r"[-/*].*(#|L$)", item):
            return None  # ranges or steps with # or L
        else:
            parts.append(item)
    fields[-1] = ",".join(parts)
    # croniter reads a range with equal ends (1-1) as the whole field; croner as that one value.
    fields = [re.sub(r"\b(\w+)-\1\b(/\d+)?", r"\1", f, flags=re.I) for f in fields]
    return croniter_split(" ".join(fields))


def croniter_split(text: str) -> tuple[str, ...]:
    """croniter's spelling of croner's OR rules: the union of simpler expressions.

    croniter ORs plain day fields, but applies only one of them when day-of-week has L or # or
    day-of-month has W, and it drops the plain weekdays of a list that also holds L (`FRI,L5`).
    Firing on the union of the parts is croner's (and Cloudflare's) rule.
    """
    fields = text.split(" ")
    dom, dow = fields[-3], fields[-1]
    plain = [item for item in dow.split(",") if not re.search(r"[L#]", item)]
    special = [item for item in dow.split(",") if re.search(r"[L#]", item)]
    dow_parts = ([",".join(plain)] if plain else []) + special if dow != "*" else []
    parts = [(dom, "*")] if dom != "*" else []
    parts += [("*" if dom != "*" else dom, part) for part in dow_parts]
    if len(parts) <= 1:
        return (text,)
    return tuple(" ".join(fields[:-3] + [d, fields[-2], w]) for d, w in parts)


def croniter_runs(job: tuple) -> list[list[int]] | None:
    """Next `count` firings (epoch ms) from each start with croniter (union of the forms), or None."""
    forms, tz_name, starts, count = job
    tz = UTC if tz_name == "UTC" else ZoneInfo(tz_name)
    out = []
    try:
        for start in starts:
            runs: set[int] = set()
            for form in forms:
                first = datetime.fromtimestamp(start / 1000, tz)
                it = croniter(form, first, second_at_beginning=len(form.split()) == 6)
                runs.update(round(it.get_next(float) * 1000) for _ in range(count))
            out.append(sorted(runs)[:count])
    except Exception:  # croniter's refusal is information, not a failure
        return None
    return out


# --- the platforms' dialects, read with their own rules ------------------------------------------
# Cloudflare: https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions
# (5 fields; weekdays 1-7 from Sunday or names; L, LW, nW, dL, d#n; the parser is cloudflare/saffron,
# whose nW, dL and d#n rules are spelled out in `_cf_dom_matches` and `_cf_dow_matches`).
# Vercel: https://vercel.com/docs/cron-jobs#cron-expressions (numbers only; no L, W, #; one of
# day-of-month and day-of-week must be *).

CF_DAYS = {name: i + 1 for i, name in enumerate(DAYS)}  # Cloudflare: SUN = 1 ... SAT = 7
CF_MONTHS = {name: i + 1 for i, name in enumerate(MONTHS)}


def platform_croniter_form(text: str, platform: str) -> tuple[str, ...] | None:
    """A translated string in croniter's spelling (Cloudflare's weekday numbers moved to 0-6)."""
    if platform == "vercel":
        return (text,)
    fields = text.split(" ")
    dom, dow = fields[2], fields[4]
    if dom == "LW":
        return None  # croniter has no LW; the Cloudflare evaluator below still checks it
    m = re.fullmatch(r"([A-Z]{3}|[1-7])L", dow)
    if m:
        day = m.group(1)
        fields[4] = f"L{CF_DAYS[day] - 1 if day in CF_DAYS else int(day) - 1}"
    else:
        fields[4] = re.sub(r"(?<![#\d])[1-7]\b", lambda d: str(int(d.group()) - 1), dow)  # 1 = Sunday -> 0
    return croniter_split(" ".join(fields))


def _cf_value(text: str, lo: int, hi: int, names: dict | None) -> int:
    """A Cloudflare value: digits or (months, weekdays) a 3-letter name; raises if out of range."""
    value = names[text.upper()] if names and text.upper() in names else int(text)
    assert lo <= value <= hi, f"{text} out of {lo}-{hi}"
    return value


def _cf_list(text: str, lo: int, hi: int, names: dict | None = None) -> set[int] | None:
    """A Cloudflare list field; None for `*`. Refuses what its parser refuses (and wrapping ranges)."""
    if text == "*":
        return None
    out: set[int] = set()
    for i, item in enumerate(text.split(",")):
        m = re.fullmatch(r"(\*|\w+)(?:-(\w+))?(?:/(\d+))?", item)
        assert m, f"not Cloudflare syntax: {item!r} in {text!r}"
        start, end, step = m.groups()
        assert start != "*" or (i == 0 and step and not end), f"* only as */n first: {text!r}"
        a = lo if start == "*" else _cf_value(start, lo, hi, names)
        b = _cf_value(end, lo, hi, names) if end else (hi if step else a)
        assert a <= b, f"wrapping range {item!r}"
        assert step is None or 1 <= int(step) <= hi - lo, f"step {step} out of range"
        out.update(range(a, b + 1, int(step or 1)))
    return out


def _cf_dom_rule(dom: str):
    """saffron's day-of-month rules (`L`, `LW`, `nW`, lists) as a predicate of (day, dim, weekday)."""
    if dom == "L":
        return lambda d, dim, wd: d == dim
    if dom == "LW":  # weekday: Monday = 0
        return lambda d, dim, wd: (wd < 5 and d == dim) or (wd == 4 and dim - d < 3)
    if dom.endswith("W"):
        n = _cf_value(dom[:-1], 1, 31, None)
        return lambda d, dim, wd: (
            (wd < 5 and d == n)
            or (wd == 0 and d - 1 == n)
            or (wd == 0 and d == 3 and n == 1)
            or (wd == 4 and d + 1 == n)
            or (wd == 4 and d + 2 == n == dim)
        )
    days = _cf_list(dom, 1, 31)
    assert days is not None, "`*` has no day-of-month rule"
    return lambda d, dim, wd: d in days


def _cf_dow_rule(dow: str):
    """saffron's day-of-week rules (`dL`, `d#n`, lists) in Cloudflare's numbering (Sunday = 1)."""
    m = re.fullmatch(r"(\w+?)(L|#(\d))", dow)
    if m:
        weekday = _cf_value(m.group(1), 1, 7, CF_DAYS)
        if m.group(2) == "L":
            return lambda d, dim, wd: (wd + 1) % 7 + 1 == weekday and d + 7 > dim
        nth = int(m.group(3))
        assert 1 <= nth <= 5, dow
        return lambda d, dim, wd: (wd + 1) % 7 + 1 == weekday and (d - 1) // 7 + 1 == nth
    days = _cf_list(dow, 1, 7, CF_DAYS)
    assert days is not None, "`*` has no day-of-week rule"
    return lambda d, dim, wd: (wd + 1) % 7 + 1 in days


def cloudflare_firings(text: str, start_ms: int, count: int) -> list[int]:
    """Firings of a Cloudflare Cron Trigger (UTC) after `start_ms`, read with Cloudflare's rules."""
    fields = text.split(" ")
    assert len(fields) == 5, f"Cloudflare takes 5 fields: {text!r}"
    minute, hour, dom, month, dow = fields
    hours, minutes = sorted(_cf_list(hour, 0, 23) or range(24)), sorted(_cf_list(minute, 0, 59) or range(60))
    times = [(h, m) for h in hours for m in minutes]
    months = _cf_list(month, 1, 12, CF_MONTHS) or set(range(1, 13))
    dom_ok = None if dom == "*" else _cf_dom_rule(dom)
    dow_ok = None if dow == "*" else _cf_dow_rule(dow)
    out: list[int] = []
    day = datetime.fromtimestamp(start_ms / 1000, UTC).date()
    while len(out) < count:
        dim = calendar.monthrange(day.year, day.month)[1]
        if day.month not in months:
            day += timedelta(days=dim - day.day + 1)
            continue
        d, wd = day.day, day.weekday()
        rules = [r(d, dim, wd) for r in (dom_ok, dow_ok) if r]
        if not rules or (any(rules) if len(rules) == 2 else rules[0]):  # both restricted: either
            base = calendar.timegm(day.timetuple()) * 1000
            out += [t for t in (base + (h * 60 + m) * 60000 for h, m in times) if t > start_ms]
        day += timedelta(days=1)
    return out[:count]


VERCEL_FIELD = r"\*|(\*/\d+|\d+(-\d+)?(/\d+)?)(,(\d+(-\d+)?(/\d+)?))*"


def assert_vercel_syntax(text: str) -> None:
    """Vercel: 5 numeric fields, no names, L, W, # or ?, and one of the day fields is `*`."""
    fields = text.split(" ")
    assert len(fields) == 5 and all(re.fullmatch(VERCEL_FIELD, f) for f in fields), text
    assert "*" in (fields[2], fields[4]), f"Vercel needs * in day-of-month or day-of-week: {text}"
    assert all(int(v) <= 6 for v in re.findall(r"\d+", fields[4].split("/")[0])), text
