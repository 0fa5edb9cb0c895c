"""compiler/cron/: parsing croner's dialect, refusals, the compiled spec, translations, next firings.

The broad comparison with croner and croniter lives in test_cron_conformance.py; these are the
readable cases, with their exact messages and results.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from nitro_build.cron import (
    fires_more_than_daily,
    next_firings,
    parse_cron,
    to_cloudflare,
    to_deno,
    to_netlify,
    to_vercel,
)
from nitro_build.errors import CompilerError, CronError

ROOT = Path(__file__).resolve().parents[1]
NODE = shutil.which("node") or "/usr/bin/node"
NY, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")


def run_js(cases: list[dict], tz: str) -> list[dict]:
    """Evaluate cases with templates/runtime/cron.mjs under real Node (tests/js/cron_driver.mjs)."""
    proc = subprocess.run(
        [NODE, str(ROOT / "tests/js/cron_driver.mjs")],
        input=json.dumps({"cases": cases}),
        capture_output=True,
        text=True,
        env={"TZ": tz, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["results"]


def js_firings(expr: str, start: datetime, count: int, tz: str) -> list[datetime]:
    """The next `count` firings of `expr` by cron.mjs in zone `tz`, as aware datetimes."""
    spec = parse_cron(expr).compiled()
    case = {"expr": expr, "spec": spec, "starts": [start.timestamp() * 1000], "count": count}
    zone = ZoneInfo(tz)
    return [datetime.fromtimestamp(t / 1000, zone) for t in run_js([case], tz)[0]["mine"][0]]


def local(text: str, zone: ZoneInfo, fold: int = 0) -> datetime:
    """An aware local time from 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


# --- parsing ---------------------------------------------------------------------------------


def test_five_and_six_fields():
    five, six = parse_cron("*/15 9-17 * * 1-5"), parse_cron("30 */15 9-17 * * 1-5")
    assert five.seconds == (0,) and six.seconds == (30,)
    assert five.minutes == six.minutes == (0, 15, 30, 45)
    assert five.hours == tuple(range(9, 18))
    assert five.weekdays == (1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    "expr, field, values",
    [
        ("1,5,9 * * * *", "minutes", (1, 5, 9)),
        ("1-10/2 * * * *", "minutes", (1, 3, 5, 7, 9)),
        ("5/15 * * * *", "minutes", (5, 20, 35, 50)),  # start/step runs to the end of the field
        ("*/60 * * * *", "minutes", (0,)),  # croner allows steps up to the field size
        ("0 0 * JAN-mar *", "months", (1, 2, 3)),
        ("0 0 * * mon-FRI", "weekdays", (1, 2, 3, 4, 5)),
        ("0 0 * * 0,7", "weekdays", (0,)),  # 0 and 7 are Sunday
        ("0 0 * * 5-7", "weekdays", (0, 5, 6)),
        ("0 0 * * FRI-SUN", "weekdays", (0, 5, 6)),  # croner reads a range ending in SUN as ending at 7
        ("0 0 * * */2", "weekdays", (0, 2, 4, 6)),
        ("0 0 * * 1/2", "weekdays", (1, 3, 5)),  # `*` and `a/n` end at 6 in croner
        ("0 0 ? * 1", "days", tuple(range(1, 32))),
    ],
)
def test_values(expr, field, values):
    assert getattr(parse_cron(expr), field) == values


def test_l_w_and_hash():
    e = parse_cron("0 0 1,L,15W * 5L,MON#2,fri#l,3#5")
    assert (e.days, e.last_day, e.nearest_weekdays) == ((1,), True, (15,))
    assert e.last_weekdays == (5,)  # 5L and fri#l are the same rule
    assert e.nth_weekdays == ((1, 2), (3, 5))
    assert parse_cron("0 0 LW * *").last_weekday


@pytest.mark.parametrize(
    "nickname, expr",
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_nicknames(nickname, expr):
    assert parse_cron(nickname).compiled() == parse_cron(expr).compiled()


def test_day_fields_restricted_and_the_or_rule():
    assert not parse_cron("0 0 * * *").dom_restricted
    assert not parse_cron("0 0 ? * ?").dow_restricted
    e = parse_cron("0 0 1 * MON")
    assert e.dom_restricted and e.dow_restricted and not e.dom_and_dow
    assert parse_cron("0 0 1 * +MON").dom_and_dow
    assert not parse_cron("0 0 * * +MON").dom_and_dow  # + only matters when both are restricted


@pytest.mark.parametrize(
    "expr, fixed",
    [
        ("30 2 * * *", True),
        ("0 30 2 * * *", True),
        ("0 2-2 * * *", True),
        ("@daily", True),
        ("*/5 * * * *", False),
        ("30 1,2 * * *", False),
        ("0 */24 * * *", False),
        ("* 30 2 * * *", False),
    ],
)
def test_fixed_time_follows_croners_single_value_rule(expr, fixed):
    assert parse_cron(expr).fixed_time is fixed


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, reason",
    [
        ("61 * * * *", "minute 61 is out of range 0-59"),
        ("* * * *", "expected 5 or 6 fields, got 4"),
        ("0 0 0 1 1 * 2030", "expected 5 or 6 fields, got 7"),
        ("0 0 31 2 *", "never fires (day 31 does not exist in February)"),
        ("0 0 30 2 *", "never fires (day 30 does not exist in February)"),
        ("0 0 30,31 2 *", "never fires (days 30, 31 do not exist in February)"),
        ("0 0 31 4,6 *", "never fires (day 31 does not exist in April or June)"),
        ("0 0 31W 2 *", "never fires (day 31 does not exist in February)"),
        ("0 0 31 2 +MON", "never fires (day 31 does not exist in February)"),
        ("0 0 1 * +5L", "never fires (no day matches both day-of-month and day-of-week, as + requires)"),
        (
            "0 0 * * L5",
            "day-of-week 'L5' is not valid: croner writes L after the weekday; write the last Friday as 5L",
        ),
        (
            "0 0 * * 5-1",
            "day-of-week range 5-1 is backwards (croner does not wrap ranges); use a list such as 5-7,0-1",
        ),
        ("*/0 * * * *", "minute step 0 is out of range 1-60"),
        ("0 0 * * MONDAY", "day-of-week value 'MONDAY' is not a number or a name"),
        ("0 0 L-2 * *", "day-of-month L must stand alone ('L-2'; croner has no L-n or ranges with L)"),
        ("0 0 * * 5#6", "day-of-week '5#6': the occurrence after # must be 1-5 or L"),
        (
            "@every 5m",
            "@every is not supported (croner has no @every); write a cron expression such as */5 * * * *",
        ),
        ("   ", "empty cron expression"),
    ],
)
def test_refused_with_reason(expr, reason):
    with pytest.raises(CronError) as info:
        parse_cron(expr)
    assert str(info.value) == reason
    assert isinstance(info.value, CompilerError)


def test_messages_leave_the_file_name_to_the_caller():
    with pytest.raises(CronError) as info:
        parse_cron("61 * * * *")
    assert "nitro.config" not in str(info.value) and "scheduledTasks" not in str(info.value)


@pytest.mark.parametrize("expr", ["0 0 29 2 *", "0 0 29 2 1", "0 0 * 2 5#5", "0 0 29 2 +MON", "0 0 L 2 +5#5"])
def test_rare_but_real_schedules_are_accepted(expr):
    parse_cron(expr)


# --- the compiled spec ------------------------------------------------------------------------


def test_compiled_shape():
    assert parse_cron("0 30 9 1,L,15W * 1-5,5L,MON#2").compiled() == {
        "seconds": [0],
        "minutes": [30],
        "hours": [9],
        "days": [1],
        "lastDay": True,
        "lastWeekday": False,
        "nearestWeekdays": [15],
        "months": list(range(1, 13)),
        "weekdays": [1, 2, 3, 4, 5],
        "nthWeekdays": [[1, 2]],
        "lastWeekdays": [5],
        "domRestricted": True,
        "dowRestricted": True,
        "domAndDow": False,
        "fixedTime": True,
    }


def test_compiled_is_deterministic_and_spelling_independent():
    parse_cron.cache_clear()
    first = json.dumps(parse_cron("0 9 * * MON,fri").compiled())
    parse_cron.cache_clear()
    assert json.dumps(parse_cron("0 9 * * MON,fri").compiled()) == first
    assert parse_cron("0 9 * * 5,1").compiled() == json.loads(first)
    assert parse_cron("0 0 9 ? * 1,5").compiled() == json.loads(first)


# --- next firings: Python (CLI summary) and cron.mjs agree on readable cases ----------------------


@pytest.mark.parametrize(
    "expr, start, expected",
    [
        # spring forward in New York: 02:00 -> 03:00 on 2024-03-10
        (
            "30 2 * * *",
            "2024-03-09 12:00",
            ["2024-03-10 03:00", "2024-03-11 02:30"],
        ),  # fixed: at the gap's end
        ("*/30 2 * * *", "2024-03-09 12:00", ["2024-03-11 02:00", "2024-03-11 02:30"]),  # interval: skipped
        ("0 1-4 * * *", "2024-03-10 00:30", ["2024-03-10 01:00", "2024-03-10 03:00", "2024-03-10 04:00"]),
        # fall back in New York: 02:00 -> 01:00 on 2024-11-03
        (
            "30 1 * * *",
            "2024-11-02 12:00",
            ["2024-11-03 01:30", "2024-11-04 01:30"],
        ),  # fixed: first pass only
    ],
)
def test_dst_in_new_york(expr, start, expected):
    want = [local(t, NY) for t in expected]
    assert next_firings(expr, local(start, NY), len(want)) == want
    assert js_firings(expr, local(start, NY), len(want), "America/New_York") == want


def test_interval_jobs_run_on_both_passes_of_a_repeated_hour():
    expr, start = "*/20 1 * * *", local("2024-11-03 00:00", NY)
    utc = [t.astimezone(UTC).strftime("%H:%M") for t in next_firings(expr, start, 6)]
    assert utc == ["05:00", "05:20", "05:40", "06:00", "06:20", "06:40"]  # 01:xx EDT, then 01:xx EST
    assert js_firings(expr, start, 6, "America/New_York") == next_firings(expr, start, 6)


def test_six_field_fixed_job_in_a_berlin_gap_runs_when_the_clock_jumps():
    start = local("2024-03-30 12:00", BERLIN)
    want = [local("2024-03-31 03:00:00", BERLIN), local("2024-04-01 02:30:15", BERLIN)]
    assert next_firings("15 30 2 * * *", start, 2) == want
    assert js_firings("15 30 2 * * *", start, 2, "Europe/Berlin") == want


@pytest.mark.parametrize(
    "expr, start, expected",
    [
        ("0 0 29 2 *", "2024-03-01 00:00", ["2028-02-29 00:00", "2032-02-29 00:00"]),
        ("0 0 L * *", "2024-01-31 00:00", ["2024-02-29 00:00", "2024-03-31 00:00"]),
        ("0 0 LW * *", "2024-03-01 00:00", ["2024-03-29 00:00", "2024-04-30 00:00"]),
        ("0 0 1W * *", "2024-06-01 00:00", ["2024-06-03 00:00", "2024-07-01 00:00"]),  # Sat 1st -> Mon 3rd
        ("0 0 31W * *", "2024-03-01 00:00", ["2024-03-29 00:00", "2024-05-31 00:00"]),  # no April (30 days)
        ("0 0 * * 5L", "2024-01-01 00:00", ["2024-01-26 00:00", "2024-02-23 00:00"]),
        ("0 0 * * 1#5", "2024-01-01 00:00", ["2024-01-29 00:00", "2024-04-29 00:00"]),
        ("0 0 13 * FRI", "2024-09-01 00:00", ["2024-09-06 00:00", "2024-09-13 00:00", "2024-09-20 00:00"]),
        ("0 0 13 * +FRI", "2024-09-01 00:00", ["2024-09-13 00:00", "2024-12-13 00:00"]),
        ("59 59 23 31 12 *", "2023-12-31 23:59:59", ["2024-12-31 23:59:59", "2025-12-31 23:59:59"]),
    ],
)
def test_calendar_rules_in_utc(expr, start, expected):
    want = [local(t, ZoneInfo("UTC")) for t in expected]
    assert next_firings(expr, local(start, ZoneInfo("UTC")), len(want)) == want
    assert js_firings(expr, local(start, ZoneInfo("UTC")), len(want), "UTC") == want


def test_next_firings_with_a_naive_start_is_wall_clock():
    assert next_firings("0 12 * * *", datetime(2024, 5, 1, 12, 0, 0, 1), 1) == [datetime(2024, 5, 2, 12)]


def test_runtime_is_fast_on_sparse_schedules():
    """cron.mjs jumps over months and days: sparse schedules resolve in well under a millisecond each."""
    cases = [
        {"expr": e, "spec": parse_cron(e).compiled(), "starts": [0], "count": 200}
        for e in ("59 59 23 31 12 *", "0 0 29 2 +MON", "0 0 * 2 5#5", "0 0 1 1 *")
    ]
    results = run_js(cases, "Europe/Berlin")
    assert [len(r["mine"][0]) for r in results] == [200] * 4
    assert sum(r["ms"] for r in results) < 1500  # 800 firings, most decades apart


def test_utc_variant_ignores_the_process_zone():
    spec = parse_cron("0 9 * * *").compiled()
    case = {"expr": "0 9 * * *", "spec": spec, "starts": [0], "count": 1, "utc": True}
    assert run_js([case], "Asia/Tokyo")[0]["mine"] == [[9 * 3600 * 1000]]


# --- translations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, cloudflare",
    [
        ("0 9 * * 1", "0 9 * * MON"),
        ("@daily", "0 0 * * *"),
        ("@weekly", "0 0 * * SUN"),
        ("0 0 9 * * 1-5", "0 9 * * MON-FRI"),  # a seconds field of 0 is dropped
        ("*/15 * * * *", "*/15 * * * *"),
        ("5/15 * * * *", "5-50/15 * * * *"),
        ("0 0 ? * 7", "0 0 * * SUN"),
        ("0 0 * * 0,5-6", "0 0 * * SUN,FRI,SAT"),
        ("0 0 * * 0-7", "0 0 * * SUN-SAT"),  # restricted, so the OR rule still applies
        ("0 0 1-31 * MON", "0 0 1-31 * MON"),
        ("0 0 1 JAN-MAR *", "0 0 1 1-3 *"),
        ("0 0 L * *", "0 0 L * *"),
        ("0 0 LW * *", "0 0 LW * *"),
        ("0 0 15W * *", "0 0 15W * *"),
        ("0 0 * * 5L", "0 0 * * FRIL"),
        ("0 0 * * fri#L", "0 0 * * FRIL"),
        ("0 0 * * 5#2", "0 0 * * FRI#2"),
        ("0 0 1 * MON", "0 0 1 * MON"),
        ("0 0 * * +MON", "0 0 * * MON"),
    ],
)
def test_to_cloudflare(expr, cloudflare):
    assert to_cloudflare(expr) == cloudflare


@pytest.mark.parametrize(
    "expr, reason",
    [
        (
            "30 * * * * *",
            "Cloudflare Cron Triggers have no seconds field; only a seconds field of 0 can be dropped (got '30')",
        ),
        (
            "0 0 1 * +MON",
            "Cloudflare Cron Triggers cannot AND day-of-month with day-of-week (the + modifier)",
        ),
        (
            "0 0 1,L * *",
            "Cloudflare Cron Triggers accept L, LW or one nW only as the whole day-of-month field (got '1,L')",
        ),
        (
            "0 0 1W,15W * *",
            "Cloudflare Cron Triggers accept L, LW or one nW only as the whole day-of-month field (got '1W,15W')",
        ),
        (
            "0 0 * * MON,5L",
            "Cloudflare Cron Triggers accept L or # only as the whole day-of-week field, for one weekday (got 'MON,5L')",
        ),
        (
            "0 0 * * 1-5#2",
            "Cloudflare Cron Triggers accept L or # only as the whole day-of-week field, for one weekday (got '1-5#2')",
        ),
        (
            "0 0 31W * *",
            "31W is not translated for Cloudflare Cron Triggers: in months shorter than 31 days its nearest-weekday rule differs from croner's",
        ),
    ],
)
def test_to_cloudflare_refuses(expr, reason):
    with pytest.raises(CronError) as info:
        to_cloudflare(expr)
    assert str(info.value) == reason


def test_cloudflare_nearest_weekday_late_in_long_months_only():
    assert to_cloudflare("0 0 31W 1,3 *") == "0 0 31W 1,3 *"
    assert to_cloudflare("0 0 28W * *") == "0 0 28W * *"


@pytest.mark.parametrize(
    "expr",
    [
        "0 9 * * 1",
        "@weekly",
        "0 0 9 * * 1-5",
        "5/15 * * * *",
        "0 0 * * 0,5-6",
        "0 0 1-31 * MON",
        "0 0 LW * *",
        "0 0 15W * *",
        "0 0 * * fri#L",
        "0 0 * * 5#2",
    ],
)
def test_to_deno_is_the_cloudflare_text(expr):
    # Deno.cron's parser keeps saffron's dialect, as Cloudflare's (denoland/deno ext/cron/cron.rs).
    assert to_deno(expr) == to_cloudflare(expr)


@pytest.mark.parametrize(
    "expr, reason",
    [
        (
            "30 * * * * *",
            "Deno.cron schedules have no seconds field; only a seconds field of 0 can be dropped (got '30')",
        ),
        ("0 0 1 * +MON", "Deno.cron schedules cannot AND day-of-month with day-of-week (the + modifier)"),
        (
            "0 0 1W,15W * *",
            "Deno.cron schedules accept L, LW or one nW only as the whole day-of-month field (got '1W,15W')",
        ),
        (
            "0 0 * * 1-5#2",
            "Deno.cron schedules accept L or # only as the whole day-of-week field, for one weekday (got '1-5#2')",
        ),
        (
            "0 0 31W * *",
            "31W is not translated for Deno.cron schedules: in months shorter than 31 days its nearest-weekday rule differs from croner's",
        ),
    ],
)
def test_to_deno_refuses(expr, reason):
    with pytest.raises(CronError) as info:
        to_deno(expr)
    assert str(info.value) == reason


@pytest.mark.parametrize(
    "expr, vercel",
    [
        ("0 9 * * MON", "0 9 * * 1"),
        ("0 9 * * 7", "0 9 * * 0"),
        ("@hourly", "0 * * * *"),
        ("0 0 9 1 JAN *", "0 9 1 1 *"),
        ("*/10 9-17 * * mon-fri", "*/10 9-17 * * 1-5"),
        ("0 0 ? * ?", "0 0 * * *"),
        ("0 0 1 * 0-6", "0 0 * * *"),  # every weekday OR the 1st: every day
        ("0 0 1-31 * MON", "0 0 * * *"),
    ],
)
def test_to_vercel(expr, vercel):
    assert to_vercel(expr) == vercel


@pytest.mark.parametrize(
    "expr, reason",
    [
        (
            "*/30 * * * * *",
            "Vercel Cron Jobs have no seconds field; only a seconds field of 0 can be dropped (got '*/30')",
        ),
        (
            "0 0 1 * MON",
            "Vercel Cron Jobs cannot set both day-of-month and day-of-week (when one has a value the other must be *); split it into two schedules",
        ),
        ("0 0 L * *", "Vercel Cron Jobs do not support L or W in day-of-month (got 'L')"),
        ("0 0 15W * *", "Vercel Cron Jobs do not support L or W in day-of-month (got '15W')"),
        ("0 0 * * 5L", "Vercel Cron Jobs do not support L or # in day-of-week (got '5L')"),
        ("0 0 * * 1#1", "Vercel Cron Jobs do not support L or # in day-of-week (got '1#1')"),
    ],
)
def test_to_vercel_refuses(expr, reason):
    with pytest.raises(CronError) as info:
        to_vercel(expr)
    assert str(info.value) == reason


@pytest.mark.parametrize(
    "expr", ["0 9 * * MON", "@hourly", "0 0 9 1 JAN *", "*/10 9-17 * * mon-fri", "0 0 1-31 * MON"]
)
def test_to_netlify_is_the_vercel_text(expr):
    # crontab's plain numeric subset, whose firings test_cron_conformance proves for Vercel.
    assert to_netlify(expr) == to_vercel(expr)


def test_to_netlify_refuses_naming_netlify():
    with pytest.raises(CronError, match="^Netlify Scheduled Functions do not support L or W in day-of-month"):
        to_netlify("0 0 LW * *")


@pytest.mark.parametrize(
    "expr, more",
    [
        ("0 9 * * *", False),
        ("@daily", False),
        ("0 9 * * 1-5", False),
        ("0 0 1 * *", False),
        ("0 9,21 * * *", True),
        ("*/5 * * * *", True),
        ("@hourly", True),
        ("0 0 0 * * *", False),
        ("* 0 0 * * *", True),
    ],
)
def test_fires_more_than_daily(expr, more):
    assert fires_more_than_daily(expr) is more


def test_invalid_input_raises_before_translation():
    for fn in (to_cloudflare, to_deno, to_netlify, to_vercel, fires_more_than_daily):
        with pytest.raises(CronError, match="minute 61 is out of range 0-59"):
            fn("61 * * * *")
