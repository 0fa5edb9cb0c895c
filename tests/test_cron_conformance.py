"""The shipped scheduler (templates/runtime/cron.mjs under real Node) against croner and croniter.

Every expression (a hand-written list covering each syntax feature, plus seeded random ones) is
compiled by compiler/cron/, then its next firings from several start instants are computed:
- by cron.mjs, in one Node process per time zone (tests/js/cron_driver.mjs),
- by croner (npm, the engine Nitro uses; our input dialect) in the same Node process,
- by croniter (Python) where it can read the expression.
cron.mjs must equal croner exactly, everywhere. It must equal croniter too, except where croniter
and croner disagree; then croner wins, and each such disagreement must fall in a documented class
(see `explain_disagreement`): unexplained differences fail the test.

The platform translations are checked the same way: each translated string, read with the
platform's own rules (Cloudflare's weekday numbering 1-7 from Sunday, names; Vercel's numbers),
must fire at the same instants as the original over its next 200 firings in UTC.
"""
from __future__ import annotations

import calendar
import json
import os
import random
import re
import shutil
import subprocess
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from nitro_build.cron import NICKNAMES, parse_cron, to_cloudflare, to_vercel
from nitro_build.errors import CronError

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "js" / "cron_driver.mjs"
NODE = shutil.which("node") or "/usr/bin/node"
COUNT = 20
TRANSLATION_COUNT = 200
SEED = 20240229


def ms(text: str) -> int:
    """Epoch ms of an ISO 8601 instant."""
    return round(datetime.fromisoformat(text).timestamp() * 1000)


# Start instants per zone: month ends, Feb 29 of a leap year, year end, DST changes, a fraction.
STARTS = {
    "UTC": [
        ms("2024-01-31T23:59:30+00:00"),  # month end
        ms("2024-02-28T23:00:00+00:00"),  # the day before Feb 29, 2024
        ms("2023-12-31T23:59:59+00:00"),  # year end
        ms("2025-05-17T08:07:06.500+00:00"),  # mid-second
    ],
    "America/New_York": [
        ms("2024-03-10T01:30:00-05:00"),  # 30 min before spring forward (02:00 -> 03:00)
        ms("2024-11-03T01:30:00-04:00"),  # inside the first pass of the repeated hour
    ],
    "Europe/Berlin": [
        ms("2024-03-31T01:30:00+01:00"),  # 30 min before spring forward (02:00 -> 03:00)
        ms("2024-10-27T00:30:00+02:00"),  # 2 h before fall back (03:00 -> 02:00)
    ],
}
TRANSLATION_START = ms("2024-01-01T00:00:00+00:00")
CRONER_END = ms("3000-01-01T00:00:00+00:00")  # croner stops searching at year 3000


def before_3000(runs: list[int]) -> list[int]:
    """Firings croner can see (a few rare schedules, like `0 0 * 2 1#5`, reach past 3000)."""
    return [t for t in runs if t < CRONER_END]

# Every syntax feature of the input dialect, written by hand.
HAND_WRITTEN = [
    # plain fields, lists, ranges, steps
    "* * * * *", "0 * * * *", "0 0 * * *", "30 4 1 1 *", "5 4 * * 0", "15 14 1 * *",
    "0,15,30,45 * * * *", "1-5 * * * *", "*/5 * * * *", "*/7 * * * *", "1-10/2 * * * *",
    "5/15 * * * *", "0 */3 * * *", "0 9-17 * * *", "0 9-17/2 * * 1-5", "0 22 * * 1-5",
    "23 0-20/2 * * *", "0 0,12 1 */2 *", "0 4 8-14 * *", "0 0 1-7 * 1", "59 23 31 12 *",
    "0 0 */10 * *", "0 0 1,15,L * *", "*/30 9-17 * 1-6,9-12 1-5", "0 0 * * */2", "0 0 * * 1/2",
    "*/60 * * * *", "10-20/60 * * * *", "1-1 * * * *", "0 2,2 * * *", "0 0-0 3 * *",
    # seconds first (6 fields)
    "* * * * * *", "*/10 * * * * *", "30 * * * * *", "0 0 12 * * *", "15 30 2 * * *",
    "0 0 0 29 2 *", "5/20 */2 * * * *", "0-10 0 0 * * *", "59 59 23 31 12 *", "0 30 1 * * *",
    # ? as *
    "0 0 ? * 1", "0 0 1 * ?", "? * * * *", "0 0 ? ? ?", "0 ? 2 * * *",
    # names, any case
    "0 0 1 JAN *", "0 0 1 jan-mar *", "0 0 * * MON", "0 0 * * mon-fri", "0 0 * * SUN,sat",
    "0 0 1 JAN/3 *", "0 12 * * Tue", "0 0 15 jun-aug Fri", "0 0 * * MON-WED/2",
    "0 0 1 dec *", "0 0 * feb,Aug sun",
    # weekday 0-7, 7 = Sunday
    "0 0 * * 7", "0 0 * * 0", "0 0 * * 5-7", "0 0 * * 0-7", "0 0 * * 6-7", "0 0 * * 1-7/2",
    "0 0 * * 7-7",
    # L, W, # and friends
    "0 0 L * *", "0 0 L 2 *", "0 12 L 2,4 *", "0 0 1,L * *", "0 0 LW * *", "0 0 LW 2 *",
    "0 0 15W * *", "0 0 1W * *", "0 0 31W * *", "0 0 30W * *", "0 0 28W 2 *", "0 0 29W 2 *",
    "0 0 1W,15W * *", "0 0 L,15W * *", "0 0 5,L * 5L",
    "0 0 * * 5L", "0 0 * * FRIL", "0 0 * * 5#L", "0 0 * * fri#l", "0 0 * * 0L", "0 0 * * 7L",
    "0 0 * * 1-5L", "0 0 * * MON-FRIL",
    "0 0 * * 5#2", "0 0 * * MON#1", "0 0 * * 7#1", "0 0 * * 5#5", "0 0 * 2 1#5",
    "0 0 * * 1#2,5L", "0 0 * * 1-5#2", "0 0 * * 1-5/2#2", "0 0 * * */2#2", "0 0 * * SUN#1,SAT#5",
    "0 0 * * 5#L,1", "0 0 * * MON,5L",
    # both day fields restricted: OR (croner's default), or AND with +
    "0 0 1 * MON", "0 0 13 * 5", "0 0 1,15 * 3", "0 0 */2 * 1", "0 0 1-31 * 1",
    "0 0 1 * 0-6", "0 0 15W * MON", "0 0 L * MON", "0 0 LW * 1#1", "0 0 L * 5L",
    "0 12 1 * +MON", "0 0 L * +MON", "0 0 LW * +FRI", "0 0 13 * +FRI", "0 0 * * +MON",
    "0 0 1 * +*", "0 0 1 * +?", "0 0 29 2 +MON", "0 0 1-7 * +1",
    # nicknames
    "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@DAILY",
    # DST-sensitive: fixed-time (one value each) and interval jobs around 01:00-03:00
    "30 2 * * *", "0 2 * * *", "30 1 * * *", "0 1 * * *", "0 3 * * *", "59 1 * * *",
    "*/20 1 * * *", "*/20 2 * * *", "*/15 * * * *", "30 1,2,3 * * *", "30 0,1,2 * * *",
    "0 1,13 * * *", "0 1-3 * * *", "0 0-23/2 * * *", "15 30 2 * * *", "* 30 2 * * *",
    "0 30 2 * * 0", "0 30 2 10 * *",
    # rare: Feb 29, leap years and long gaps
    "0 0 29 2 *", "0 0 29 2 1", "0 0 L 2 *", "0 0 * 2 5#5", "0 0 29 2 +5#5",
]

# Refused, with the reason each gets; croner refuses all of these too, except those that never fire.
HAND_REFUSED = {
    "61 * * * *": "minute 61 is out of range 0-59",
    "* * * *": "expected 5 or 6 fields, got 4",
    "1 2 3 4 5 6 7": "expected 5 or 6 fields, got 7",
    "0 0 31 2 *": "never fires (day 31 does not exist in February)",
    "0 0 30 2 *": "never fires (day 30 does not exist in February)",
    "0 0 31 4,6,9,11 *": "never fires (day 31 does not exist in April, June, September or November)",
    "0 0 31W 2 *": "never fires (day 31 does not exist in February)",
    "0 0 1 * +5L": "never fires (no day matches both day-of-month and day-of-week, as + requires)",
    "0 0 * * L5": "day-of-week 'L5' is not valid: croner writes L after the weekday; write the last Friday as 5L",
    "0 0 * * L": "day-of-week 'L' is not valid: croner writes L after the weekday",
    "0 24 * * *": "hour 24 is out of range 0-23",
    "0 0 0 * *": "day-of-month 0 is out of range 1-31",
    "0 0 32 * *": "day-of-month 32 is out of range 1-31",
    "0 0 * 13 *": "month 13 is out of range 1-12",
    "0 0 * 0 *": "month 0 is out of range 1-12",
    "0 0 * * 8": "day-of-week 8 is out of range 0-7",
    "0 60 * * * *": "minute 60 is out of range 0-59",
    "*/0 * * * *": "minute step 0 is out of range 1-60",
    "*/61 * * * *": "minute step 61 is out of range 1-60",
    "0 0 * * */8": "day-of-week step 8 is out of range 1-7",
    "0 0 10-1 * *": "day-of-month range 10-1 is backwards (croner does not wrap ranges); use a list such as 10-31,1-1",
    "0 0 * * FRI-MON": "day-of-week range FRI-MON is backwards (croner does not wrap ranges); use a list such as FRI-7,0-MON",
    "0 0 1,,2 * *": "empty entry in day-of-month field '1,,2'",
    "0 0 * * MON-": "day-of-week range 'MON-' is incomplete",
    "-1 * * * *": "minute range '-1' is incomplete",
    "0 0 * * MONDAY": "day-of-week value 'MONDAY' is not a number or a name",
    "0 0 * * tues": "day-of-week value 'tues' is not a number or a name",
    "0 0 * JANUARY *": "month value 'JANUARY' is not a number or a name",
    "0 MON * * *": "hour value 'MON' is not a number",
    "0 0 L-2 * *": "day-of-month L must stand alone ('L-2'; croner has no L-n or ranges with L)",
    "0 0 1-L * *": "day-of-month L must stand alone ('1-L'; croner has no L-n or ranges with L)",
    "0 0 LW,L * *": "LW must be the whole day-of-month field, not part of a list ('LW,L')",
    "0 0 W * *": "day-of-month W needs a day before it, e.g. 15W ('W')",
    "0 0 1-5W * *": "day-of-month W takes a single day, not '1-5' ('1-5W')",
    "0 0 0W * *": "day-of-month 0 is out of range 1-31",
    "0 0 32W * *": "day-of-month 32 is out of range 1-31",
    "0 0 * * *L": "day-of-week '*L' needs a weekday before L or #, e.g. 5L or FRI#2",
    "0 0 * * *#2": "day-of-week '*#2' needs a weekday before L or #, e.g. 5L or FRI#2",
    "0 0 * * 5#6": "day-of-week '5#6': the occurrence after # must be 1-5 or L",
    "0 0 * * 5#0": "day-of-week '5#0': the occurrence after # must be 1-5 or L",
    "0 0 * * MON#1-3": "day-of-week 'MON#1-3': the occurrence after # must be 1-5 or L",
    "0 0 1 * ++MON": "day-of-week + (AND with day-of-month) may only start the field, once",
    "0 0 1 * 1,+2": "day-of-week + (AND with day-of-month) may only start the field, once",
    "@every 5m": "@every is not supported (croner has no @every); write a cron expression such as */5 * * * *",
    "@reboot": "@reboot is not supported: there is no boot event to fire on",
    "@often": "unknown nickname @often (expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)",
    "": "empty cron expression",
}


# --- seeded random expressions ----------------------------------------------------------------

def _case(rng: random.Random, word: str) -> str:
    """A name in upper, lower or title case."""
    return rng.choice([word.upper(), word.lower(), word.title()])


def _plain_part(rng: random.Random, lo: int, hi: int, names: list[str] | None = None) -> str:
    """One list entry: a value, a range, or a step form (names sometimes)."""
    def v(x: int) -> str:
        return _case(rng, names[x - lo]) if names and rng.random() < 0.3 else str(x)
    a, b = sorted(rng.sample(range(lo, hi + 1), 2))
    kind = rng.choice(["value", "value", "range", "range_step", "star_step", "start_step"])
    step = rng.randint(2, max(2, (hi - lo) // 2))
    return {
        "value": v(a), "range": f"{v(a)}-{v(b)}", "range_step": f"{v(a)}-{v(b)}/{step}",
        "star_step": f"*/{step}", "start_step": f"{v(a)}/{step}",
    }[kind]


def _plain_field(rng: random.Random, lo: int, hi: int, names=None, star=0.3) -> str:
    """A whole field: `*`, `?`, or a list of one to three entries."""
    r = rng.random()
    if r < star:
        return "*"
    if r < star + 0.05:
        return "?"
    return ",".join(_plain_part(rng, lo, hi, names) for _ in range(rng.choice([1, 1, 1, 2, 3])))


MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
DAYS = "SUN MON TUE WED THU FRI SAT".split()


def _dom_field(rng: random.Random) -> str:
    """Day-of-month, with L, LW and nW sometimes."""
    if rng.random() < 0.7:
        return _plain_field(rng, 1, 31, star=0.45)
    n = rng.randint(1, 31)
    return rng.choice(["L", "LW", f"{n}W", f"{n}W,{rng.randint(1, 28)}W", f"L,{n}W", f"{n},L", f"1-{n},L"])


def _dow_field(rng: random.Random) -> str:
    """Day-of-week, with 7, names, nL, #n, #L and + sometimes."""
    if rng.random() < 0.75:
        field = _plain_field(rng, 0, 7, names=DAYS + ["SUN"], star=0.45)
    else:
        d = rng.randint(0, 7)
        name = _case(rng, DAYS[d % 7])
        field = rng.choice([f"{d}L", f"{name}L", f"{d}#{rng.randint(1, 5)}", f"{name}#{rng.randint(1, 5)}",
                            f"{d}#L", f"1-5#{rng.randint(1, 5)}", f"{d}#2,{(d + 3) % 7}L", f"{name},{d}L"])
    return ("+" + field) if rng.random() < 0.08 and field not in ("*", "?") else field


def generated_expressions(count: int) -> list[str]:
    """`count` random expressions in croner's dialect (some invalid or never firing), seeded."""
    rng = random.Random(SEED)
    out = []
    for _ in range(count):
        if rng.random() < 0.03:
            out.append(rng.choice(list(NICKNAMES)))
            continue
        fields = [
            _plain_field(rng, 0, 59, star=0.2), _plain_field(rng, 0, 23, star=0.35),
            _dom_field(rng), _plain_field(rng, 1, 12, names=MONTHS, star=0.6), _dow_field(rng),
        ]
        if rng.random() < 0.3:
            fields.insert(0, rng.choice(["0", "30", "*/15", "5,35", _plain_field(rng, 0, 59, star=0.1)]))
        out.append(" ".join(fields))
    return out


def feature_tags(expr: str) -> set[str]:
    """The syntax features an expression uses (to prove the corpus covers them all)."""
    if expr.startswith("@"):
        return {"nickname"}
    f = expr.split()
    six = len(f) == 6
    dom, dow = f[-3].upper(), f[-1].upper()
    tags = {
        "seconds": six, "question": "?" in expr, "list": "," in expr,
        "range": bool(re.search(r"\w-\w", expr)), "star_step": "*/" in expr,
        "range_step": bool(re.search(r"\w-\w+/", expr)), "start_step": bool(re.search(r"(^|[ ,])\w+/", expr)),
        "month_name": bool(re.search(r"[A-Za-z]{3}", f[-2])),
        "day_name": bool(re.search(r"[A-Za-z]{3}", dow.replace("L", "").replace("+", ""))),
        "weekday_7": bool(re.search(r"(^|[^#\d])7", f[-1])), "dom_L": bool(re.search(r"(^|,)L(,|$)", dom)),
        "dom_LW": dom == "LW", "dom_W": bool(re.search(r"\dW", dom)),
        "dow_L": bool(re.search(r"[0-7A-Z]L", dow)),
        "dow_hash": bool(re.search(r"#[1-5]", dow)), "dow_hash_L": "#L" in dow, "and_plus": "+" in dow,
        "lower_case": bool(re.search(r"[a-z]", expr)),
        "or_rule": dom.lstrip("+") not in ("*", "?") and dow.lstrip("+") not in ("*", "?") and "+" not in dow,
    }
    return {name for name, present in tags.items() if present}


ALL_FEATURES = {
    "seconds", "question", "list", "range", "star_step", "range_step", "start_step", "month_name", "day_name",
    "weekday_7", "dom_L", "dom_LW", "dom_W", "dow_L", "dow_hash", "dow_hash_L", "and_plus", "lower_case",
    "or_rule", "nickname",
}


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


# --- Node ---------------------------------------------------------------------------------------

def run_node(cases: list[dict], tz: str) -> threading.Thread:
    """Start the driver for `cases` in `tz` in a thread; the thread's `.result` is its output."""
    def target():
        proc = subprocess.run(
            [NODE, str(DRIVER)], input=json.dumps({"cases": cases}), capture_output=True, text=True,
            env={**os.environ, "TZ": tz}, cwd=ROOT, timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        thread.result = json.loads(proc.stdout)["results"]
    thread = threading.Thread(target=target)
    thread.start()
    return thread


# --- the corpus, computed once ------------------------------------------------------------------

def _parse_all(exprs: list[str]) -> tuple[dict, dict]:
    """Split expressions into accepted (expr -> CronExpr) and refused (expr -> reason)."""
    accepted, refused = {}, {}
    for expr in exprs:
        try:
            accepted[expr] = parse_cron(expr)
        except CronError as err:
            refused[expr] = str(err)
    return accepted, refused


def _translations(accepted: dict) -> dict:
    """expr -> {platform: translated text or None}."""
    out = {}
    for expr in accepted:
        row: dict[str, str | None] = {}
        for platform, fn in (("cloudflare", to_cloudflare), ("vercel", to_vercel)):
            try:
                row[platform] = fn(expr)
            except CronError:
                row[platform] = None
        out[expr] = row
    return out


@pytest.fixture(scope="module")
def corpus():
    """Everything computed once: parses, Node results per zone, croniter results, translations."""
    generated = generated_expressions(420)
    accepted, refused = _parse_all(list(dict.fromkeys(HAND_WRITTEN + generated + list(HAND_REFUSED))))
    specs = {e: c.compiled() for e, c in accepted.items()}
    translations = _translations(accepted)
    translatable = [e for e in accepted if any(translations[e].values())]
    threads = {tz: run_node([{"expr": e, "spec": specs[e], "starts": starts, "count": COUNT, "croner": True}
                             for e in accepted], tz) for tz, starts in STARTS.items()}
    threads["refused"] = run_node([{"expr": e, "croner": True, "starts": [TRANSLATION_START], "count": 1}
                                   for e in refused], "UTC")
    originals = [{"expr": e, "spec": specs[e], "starts": [TRANSLATION_START], "utc": True,
                  "count": TRANSLATION_COUNT, "croner": True} for e in translatable]
    threads["originals"] = run_node(originals, "UTC")
    jobs = {}
    for tz, starts in STARTS.items():
        for e in accepted:
            form = croniter_form(e)
            if form:
                jobs[(tz, e)] = (form, tz, starts, COUNT)
    forms = {}  # translated strings in croniter's spelling, each computed once
    for e in translatable:
        for platform, text in translations[e].items():
            form = text and platform_croniter_form(text, platform)
            if form:
                forms[(platform, e)] = form
    for form in set(forms.values()):
        jobs[form] = (form, "UTC", [TRANSLATION_START], TRANSLATION_COUNT)
    with ProcessPoolExecutor(max_workers=2) as pool:
        croniter_results = dict(zip(jobs, pool.map(croniter_runs, jobs.values(), chunksize=16), strict=False))
    croniter_results.update({key: croniter_results[form] for key, form in forms.items()})
    for t in threads.values():
        t.join()
    return {
        "generated": generated, "accepted": accepted, "refused": refused, "translations": translations,
        "node": {tz: dict(zip(accepted, threads[tz].result, strict=False)) for tz in STARTS},
        "refused_croner": dict(zip(refused, threads["refused"].result, strict=False)),
        "originals": dict(zip(translatable, threads["originals"].result, strict=False)),
        "croniter": croniter_results,
    }


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
            (wd < 5 and d == n) or (wd == 0 and d - 1 == n) or (wd == 0 and d == 3 and n == 1)
            or (wd == 4 and d + 1 == n) or (wd == 4 and d + 2 == n == dim)
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


# --- disagreements between croniter and croner ---------------------------------------------------

def _dst_near(tz_name: str, t_ms: int) -> bool:
    """Whether `tz_name` changes its UTC offset within a day of `t_ms`."""
    tz = ZoneInfo(tz_name)
    t = datetime.fromtimestamp(t_ms / 1000, UTC)
    before, after = (t - timedelta(days=1)).astimezone(tz), (t + timedelta(days=1)).astimezone(tz)
    return before.utcoffset() != after.utcoffset()


def explain_disagreement(expr: str, tz: str, croner_runs: list[int], croniter_runs: list[int]) -> str | None:
    """The documented class of a croner/croniter difference, or None if it is unexplained.

    - "dst": a spring-forward gap: croniter fires every job whose time the gap skips once, at hh:mm:ss
      after the gap (03:00 for `*/20 2 * * *`, 03:00:15 for `15 30 2 * * *`); croner skips the gap
      for interval jobs and runs a fixed-time job at the first instant after it (03:00:00). A
      fall-back fold: croniter runs fixed-time jobs on both passes, croner once, on the first
      (https://croner.56k.guru/usage/pattern/, DST; croner follows Vixie cron and croner-rust).
    - "nearest-weekday": croniter moves `31W` to the last weekday of a shorter month; croner never
      fires nW in a month without day n.
    """
    horizon = min(croner_runs[-1:] + croniter_runs[-1:]) if croner_runs and croniter_runs else 0
    diff = {t for t in set(croner_runs) ^ set(croniter_runs) if t <= horizon}
    if not diff:
        return "horizon"  # lists differ only past the shorter one's end
    if tz != "UTC" and all(_dst_near(tz, t) for t in diff):
        return "dst"
    zone = UTC if tz == "UTC" else ZoneInfo(tz)
    days = {datetime.fromtimestamp(t / 1000, zone).day for t in diff}
    if "W" in expr.upper().split()[-3] and all(d >= 26 for d in days):
        return "nearest-weekday"
    return None


# --- tests ----------------------------------------------------------------------------------------

def test_corpus_is_large_and_covers_every_feature(corpus):
    """At least 500 accepted expressions; hand-written and generated ones each use every feature."""
    assert len(corpus["accepted"]) >= 500
    assert len(HAND_WRITTEN) >= 140
    hand = set().union(*(feature_tags(e) for e in HAND_WRITTEN))
    generated = set().union(*(feature_tags(e) for e in corpus["generated"] if e in corpus["accepted"]))
    assert hand >= ALL_FEATURES, ALL_FEATURES - hand
    assert generated >= ALL_FEATURES, ALL_FEATURES - generated
    assert not [e for e in HAND_WRITTEN if e not in corpus["accepted"]]


@pytest.mark.parametrize("tz", list(STARTS))
def test_runtime_equals_croner(corpus, tz):
    """cron.mjs gives exactly croner's next 20 firings from every start, in every zone."""
    results = corpus["node"][tz].items()
    mismatches = [(e, r["mine"], r["croner"]) for e, r in results if r["mine"] != r["croner"]]
    assert not mismatches, mismatches[:3]


@pytest.mark.parametrize("tz", list(STARTS))
def test_runtime_equals_croniter_except_documented(corpus, tz):
    """cron.mjs equals croniter wherever croniter reads the expression, but for croner's documented ways."""
    compared, classes, unexplained = 0, {}, []
    for expr, r in corpus["node"][tz].items():
        theirs = corpus["croniter"].get((tz, expr))
        if theirs is None:
            continue
        for mine, croner_runs, croniter_list in zip(r["mine"], r["croner"], theirs, strict=False):
            compared += 1
            if mine == croniter_list:
                continue
            why = explain_disagreement(expr, tz, croner_runs, croniter_list)
            classes[why] = classes.get(why, 0) + 1
            if why is None:
                unexplained.append((expr, mine[:5], croniter_list[:5]))
    assert compared >= 300 * len(STARTS[tz])
    assert not unexplained, unexplained[:5]


def test_refusals_agree_with_croner(corpus):
    """What we refuse, croner refuses or never fires; each hand-written refusal has its exact reason."""
    for expr, reason in HAND_REFUSED.items():
        assert corpus["refused"].get(expr) == reason, (expr, corpus["refused"].get(expr))
    for expr, result in corpus["refused_croner"].items():
        croner = result["croner"]
        if isinstance(croner, dict):
            continue  # croner refuses too
        assert corpus["refused"][expr].startswith("never fires"), (expr, corpus["refused"][expr], croner)
        assert croner == [[]], (expr, croner)


def test_croner_accepts_what_we_accept(corpus):
    """Everything we accept, croner (with sloppyRanges, for `5/15`) accepts too."""
    refused_by_croner = [e for e, r in corpus["node"]["UTC"].items() if isinstance(r["croner"], dict)]
    assert not refused_by_croner


def test_cloudflare_translation_fires_at_the_same_instants(corpus):
    """Each Cloudflare translation, read with Cloudflare's rules and by croniter, fires as the original."""
    checked = 0
    for expr, row in corpus["translations"].items():
        text = row["cloudflare"]
        if text is None:
            continue
        original = corpus["originals"][expr]["croner"][0]
        assert before_3000(corpus["originals"][expr]["mine"][0]) == original, expr
        cloudflare = cloudflare_firings(text, TRANSLATION_START, TRANSLATION_COUNT)
        assert before_3000(cloudflare) == original, (expr, text)
        theirs = corpus["croniter"].get(("cloudflare", expr))
        if theirs is not None:
            assert before_3000(theirs[0]) == original, (expr, text)
        checked += 1
    assert checked >= 250


def test_vercel_translation_fires_at_the_same_instants(corpus):
    """Each Vercel translation is Vercel syntax and, read by croniter, fires as the original."""
    checked = 0
    for expr, row in corpus["translations"].items():
        text = row["vercel"]
        if text is None:
            continue
        assert_vercel_syntax(text)
        original = corpus["originals"][expr]["croner"][0]
        assert before_3000(corpus["croniter"][("vercel", expr)][0]) == original, (expr, text)
        checked += 1
    assert checked >= 150
