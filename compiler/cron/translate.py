"""Translate an expression into the Cloudflare Cron Triggers, Deno.cron and Vercel Cron Jobs dialects."""

from __future__ import annotations

import calendar
import itertools

from ..errors import CronError
from .expr import CronExpr
from .fields import DOM, HOUR, MINUTE, MONTH, Field
from .parse import parse_cron

# Cloudflare Cron Triggers (CLOUDFLARE_DOC): 5 fields, UTC; `* , - /` everywhere, `L W` in
# day-of-month, `L #` in day-of-week; weekdays 1-7 from Sunday or names; no `?`. Its parser
# (github.com/cloudflare/saffron) takes `L`, `LW`, `nW`, `dL` and `d#n` only as a whole field.
# Vercel Cron Jobs (VERCEL_DOC): 5 numeric fields, UTC; no names, no `L W #`; day-of-month and
# day-of-week cannot both be set. Both translators write canonical fields from the parsed values.
# Deno.cron (DENO_DOC) reads saffron's dialect too: Deno's own parser (denoland/deno
# ext/cron/cron.rs, "Saffron compat") keeps numeric weekdays 1-7 from Sunday, names, `L`, `LW`,
# `nW`, `dL`, `d#n` as whole fields, 5 fields, no nicknames, UTC; so Deno gets Cloudflare's text.
# CLOUDFLARE_DOC: https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions
DENO_DOC = "https://docs.deno.com/runtime/fundamentals/cron/"
# Netlify: "the cron expression format used by tools like crontab ... executed according to the UTC
# timezone", nicknames but @reboot and @annually (NETLIFY_DOC).
NETLIFY_DOC = "https://docs.netlify.com/build/functions/scheduled-functions/"
VERCEL_DOC = "https://vercel.com/docs/cron-jobs#cron-expressions"
CF_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def to_cloudflare(expr: str) -> str:
    """Translate to Cloudflare Cron Triggers (5 fields, UTC, weekdays as names), or raise CronError."""
    return _to_saffron(expr, "Cloudflare Cron Triggers")


def to_deno(expr: str) -> str:
    """Translate to Deno.cron's dialect (saffron's, as Cloudflare's), or raise CronError."""
    return _to_saffron(expr, "Deno.cron schedules")


def _to_saffron(expr: str, platform: str) -> str:
    """saffron's dialect: 5 fields, weekdays as names (numbers count from Sunday = 1), no AND."""
    e = parse_cron(expr)
    _drop_zero_seconds(e, platform)
    if e.dom_and_dow:  # CLOUDFLARE_DOC: both day fields set means either matches; no AND
        raise CronError(f"{platform} cannot AND day-of-month with day-of-week (the + modifier)")
    minutes, hours, months = _fmt(e.minutes, MINUTE), _fmt(e.hours, HOUR), _fmt(e.months, MONTH)
    return f"{minutes} {hours} {_cloudflare_dom(e, platform)} {months} {_cloudflare_dow(e, platform)}"


def _drop_zero_seconds(e: CronExpr, platform: str) -> None:
    """Minute-precision platforms: a seconds field of 0 is dropped, any other is refused."""
    # CLOUDFLARE_DOC and VERCEL_DOC: five fields, minute first.
    if e.seconds != (0,):
        raise CronError(
            f"{platform} have no seconds field; only a seconds field of 0 can be dropped "
            f"(got '{e.fields[0]}')"
        )


def _cloudflare_dom(e: CronExpr, platform: str) -> str:
    """Day-of-month for Cloudflare: `*`, `L`, `LW`, one `nW`, or values (one kind per field)."""
    if not e.dom_restricted:
        return "*"  # `?` is not in CLOUDFLARE_DOC's table; `*` means the same
    kinds = [bool(e.days), e.last_day, e.last_weekday, bool(e.nearest_weekdays)]
    if sum(kinds) > 1 or len(e.nearest_weekdays) > 1:  # saffron: L, LW and nW stand alone
        raise CronError(
            f"{platform} accept L, LW or one nW only as the whole day-of-month field (got '{e.fields[3]}')"
        )
    if e.last_day:
        return "L"
    if e.last_weekday:
        return "LW"
    if e.nearest_weekdays:
        return _cloudflare_nearest(e, e.nearest_weekdays[0], platform)
    return _fmt(e.days, DOM, keep_restricted=True)  # 1-31 stays restricted: the OR rule needs it


def _cloudflare_nearest(e: CronExpr, day: int, platform: str) -> str:
    """`nW` for Cloudflare, refused where a selected month can be shorter than n days.

    croner never fires `31W` in a 30-day month; saffron's rule fires on Friday the 30th when the
    31st would be a Saturday, so the two only agree on days that every selected month has.
    """
    shortest = min(28 if m == 2 else calendar.monthrange(2001, m)[1] for m in e.months)
    if day > shortest:
        raise CronError(
            f"{day}W is not translated for {platform}: in months shorter than {day} days "
            "its nearest-weekday rule differs from croner's"
        )
    return f"{day}W"


def _cloudflare_dow(e: CronExpr, platform: str) -> str:
    """Day-of-week for Cloudflare as names: a list, `FRIL` or `FRI#2`."""
    # CLOUDFLARE_DOC: weekdays are 1-7 from Sunday (0 is refused), so names are unambiguous.
    if not e.dow_restricted:
        return "*"
    specials = len(e.last_weekdays) + len(e.nth_weekdays)
    if specials and (specials > 1 or e.weekdays):  # saffron: dL and d#n stand alone
        raise CronError(
            f"{platform} accept L or # only as the whole day-of-week field, for one weekday "
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
    return _to_plain(expr, "Vercel Cron Jobs")


def to_netlify(expr: str) -> str:
    """Translate to Netlify Scheduled Functions (NETLIFY_DOC: crontab's 5 fields in UTC, no L/W/#);
    written as Vercel's plain numeric subset, which every crontab reader fires alike."""
    return _to_plain(expr, "Netlify Scheduled Functions")


def _to_plain(expr: str, platform: str) -> str:
    """crontab's plain subset: 5 numeric fields, no L/W/#, at most one restricted day field."""
    e = parse_cron(expr)
    _drop_zero_seconds(e, platform)
    dom, dow = _vercel_days(e, platform)
    return f"{_fmt(e.minutes, MINUTE)} {_fmt(e.hours, HOUR)} {dom} {_fmt(e.months, MONTH)} {dow}"


def _vercel_days(e: CronExpr, platform: str) -> tuple[str, str]:
    """Vercel's day fields: numbers only (weekdays 0-6 from Sunday), one of them `*`."""
    if e.last_day or e.last_weekday or e.nearest_weekdays:  # VERCEL_DOC: no L or W
        raise CronError(f"{platform} do not support L or W in day-of-month (got '{e.fields[3]}')")
    if e.last_weekdays or e.nth_weekdays:  # VERCEL_DOC: no L or #
        raise CronError(f"{platform} do not support L or # in day-of-week (got '{e.fields[5]}')")
    if _every_day(e):
        return "*", "*"
    if e.dom_restricted and e.dow_restricted:  # VERCEL_DOC: "when one has a value, the other must be *"
        raise CronError(
            f"{platform} cannot set both day-of-month and day-of-week (when one has a value the "
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


# Kubernetes CronJobs (KUBERNETES_DOC) read robfig/cron's standard parser: 5 fields, no seconds,
# no L, W or #; names, `?` and nicknames are accepted, weekdays 0-6. A day field that starts with
# `*` or `?` counts as unrestricted there (robfig's star bit), so restricted day fields are
# written without `*`; with both day fields restricted a day matches if either matches.
KUBERNETES_DOC = "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax"


def to_kubernetes(expr: str) -> str:
    """Translate to a Kubernetes CronJob schedule (5 numeric fields; the zone goes in timeZone)."""
    e = parse_cron(expr)
    _drop_zero_seconds(e, "Kubernetes CronJobs")
    if e.last_day or e.last_weekday or e.nearest_weekdays:
        raise CronError(f"Kubernetes CronJobs do not support L or W in day-of-month (got '{e.fields[3]}')")
    if e.last_weekdays or e.nth_weekdays:
        raise CronError(f"Kubernetes CronJobs do not support L or # in day-of-week (got '{e.fields[5]}')")
    if e.dom_and_dow:
        raise CronError("Kubernetes CronJobs cannot AND day-of-month with day-of-week (the + modifier)")
    dom = _no_star(_fmt(e.days, DOM, keep_restricted=True), DOM) if e.dom_restricted else "*"
    dow = ",".join(_runs(e.weekdays, str, step_form=False)) if e.dow_restricted else "*"
    return f"{_fmt(e.minutes, MINUTE)} {_fmt(e.hours, HOUR)} {dom} {_fmt(e.months, MONTH)} {dow}"


def _no_star(text: str, field: Field) -> str:
    """`*/2` as `1-31/2`: robfig would read a leading `*` as an unrestricted day field."""
    return f"{field.lo}-{field.star_hi}/{text[2:]}" if text.startswith("*/") else text


def fires_more_than_daily(expr: str) -> bool:
    """Whether `expr` can fire more than once on a day (Vercel's Hobby plan allows daily jobs only)."""
    # https://vercel.com/docs/cron-jobs/usage-and-pricing: Hobby cron jobs run at most once a day.
    e = parse_cron(expr)
    return len(e.seconds) * len(e.minutes) * len(e.hours) > 1


def _fmt(values: tuple[int, ...], field: Field, keep_restricted: bool = False) -> str:
    """Canonical text for a set of values: `*`, `*/n`, `a-b/n`, or a list with ranges."""
    if len(values) == field.star_hi - field.lo + 1 and not keep_restricted:
        return "*"
    return ",".join(_runs(values, str, step_form=True, field=field))


def _runs(values, name, step_form: bool, field: Field | None = None) -> list[str]:
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
