"""The expressions tests/test_cron_conformance.py checks: hand-written ones covering every
feature of croner's dialect, hand-written refusals with their reasons, and seeded random ones.
"""

from __future__ import annotations

import random
import re

from cron_references import DAYS, MONTHS
from nitro_build.cron import NICKNAMES

SEED = 20240229  # the random expressions are the same on every run

# Every syntax feature of the input dialect, written by hand.
HAND_WRITTEN = [
    # plain fields, lists, ranges, steps
    "* * * * *",
    "0 * * * *",
    "0 0 * * *",
    "30 4 1 1 *",
    "5 4 * * 0",
    "15 14 1 * *",
    "0,15,30,45 * * * *",
    "1-5 * * * *",
    "*/5 * * * *",
    "*/7 * * * *",
    "1-10/2 * * * *",
    "5/15 * * * *",
    "0 */3 * * *",
    "0 9-17 * * *",
    "0 9-17/2 * * 1-5",
    "0 22 * * 1-5",
    "23 0-20/2 * * *",
    "0 0,12 1 */2 *",
    "0 4 8-14 * *",
    "0 0 1-7 * 1",
    "59 23 31 12 *",
    "0 0 */10 * *",
    "0 0 1,15,L * *",
    "*/30 9-17 * 1-6,9-12 1-5",
    "0 0 * * */2",
    "0 0 * * 1/2",
    "*/60 * * * *",
    "10-20/60 * * * *",
    "1-1 * * * *",
    "0 2,2 * * *",
    "0 0-0 3 * *",
    # seconds first (6 fields)
    "* * * * * *",
    "*/10 * * * * *",
    "30 * * * * *",
    "0 0 12 * * *",
    "15 30 2 * * *",
    "0 0 0 29 2 *",
    "5/20 */2 * * * *",
    "0-10 0 0 * * *",
    "59 59 23 31 12 *",
    "0 30 1 * * *",
    # ? as *
    "0 0 ? * 1",
    "0 0 1 * ?",
    "? * * * *",
    "0 0 ? ? ?",
    "0 ? 2 * * *",
    # names, any case
    "0 0 1 JAN *",
    "0 0 1 jan-mar *",
    "0 0 * * MON",
    "0 0 * * mon-fri",
    "0 0 * * SUN,sat",
    "0 0 1 JAN/3 *",
    "0 12 * * Tue",
    "0 0 15 jun-aug Fri",
    "0 0 * * MON-WED/2",
    "0 0 1 dec *",
    "0 0 * feb,Aug sun",
    # weekday 0-7, 7 = Sunday
    "0 0 * * 7",
    "0 0 * * 0",
    "0 0 * * 5-7",
    "0 0 * * 0-7",
    "0 0 * * 6-7",
    "0 0 * * 1-7/2",
    "0 0 * * 7-7",
    # L, W, # and friends
    "0 0 L * *",
    "0 0 L 2 *",
    "0 12 L 2,4 *",
    "0 0 1,L * *",
    "0 0 LW * *",
    "0 0 LW 2 *",
    "0 0 15W * *",
    "0 0 1W * *",
    "0 0 31W * *",
    "0 0 30W * *",
    "0 0 28W 2 *",
    "0 0 29W 2 *",
    "0 0 1W,15W * *",
    "0 0 L,15W * *",
    "0 0 5,L * 5L",
    "0 0 * * 5L",
    "0 0 * * FRIL",
    "0 0 * * 5#L",
    "0 0 * * fri#l",
    "0 0 * * 0L",
    "0 0 * * 7L",
    "0 0 * * 1-5L",
    "0 0 * * MON-FRIL",
    "0 0 * * 5#2",
    "0 0 * * MON#1",
    "0 0 * * 7#1",
    "0 0 * * 5#5",
    "0 0 * 2 1#5",
    "0 0 * * 1#2,5L",
    "0 0 * * 1-5#2",
    "0 0 * * 1-5/2#2",
    "0 0 * * */2#2",
    "0 0 * * SUN#1,SAT#5",
    "0 0 * * 5#L,1",
    "0 0 * * MON,5L",
    # both day fields restricted: OR (croner's default), or AND with +
    "0 0 1 * MON",
    "0 0 13 * 5",
    "0 0 1,15 * 3",
    "0 0 */2 * 1",
    "0 0 1-31 * 1",
    "0 0 1 * 0-6",
    "0 0 15W * MON",
    "0 0 L * MON",
    "0 0 LW * 1#1",
    "0 0 L * 5L",
    "0 12 1 * +MON",
    "0 0 L * +MON",
    "0 0 LW * +FRI",
    "0 0 13 * +FRI",
    "0 0 * * +MON",
    "0 0 1 * +*",
    "0 0 1 * +?",
    "0 0 29 2 +MON",
    "0 0 1-7 * +1",
    # nicknames
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
    "@DAILY",
    # DST-sensitive: fixed-time (one value each) and interval jobs around 01:00-03:00
    "30 2 * * *",
    "0 2 * * *",
    "30 1 * * *",
    "0 1 * * *",
    "0 3 * * *",
    "59 1 * * *",
    "*/20 1 * * *",
    "*/20 2 * * *",
    "*/15 * * * *",
    "30 1,2,3 * * *",
    "30 0,1,2 * * *",
    "0 1,13 * * *",
    "0 1-3 * * *",
    "0 0-23/2 * * *",
    "15 30 2 * * *",
    "* 30 2 * * *",
    "0 30 2 * * 0",
    "0 30 2 10 * *",
    # rare: Feb 29, leap years and long gaps
    "0 0 29 2 *",
    "0 0 29 2 1",
    "0 0 L 2 *",
    "0 0 * 2 5#5",
    "0 0 29 2 +5#5",
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
        "value": v(a),
        "range": f"{v(a)}-{v(b)}",
        "range_step": f"{v(a)}-{v(b)}/{step}",
        "star_step": f"*/{step}",
        "start_step": f"{v(a)}/{step}",
    }[kind]


def _plain_field(rng: random.Random, lo: int, hi: int, names=None, star=0.3) -> str:
    """A whole field: `*`, `?`, or a list of one to three entries."""
    r = rng.random()
    if r < star:
        return "*"
    if r < star + 0.05:
        return "?"
    return ",".join(_plain_part(rng, lo, hi, names) for _ in range(rng.choice([1, 1, 1, 2, 3])))


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
        field = rng.choice(
            [
                f"{d}L",
                f"{name}L",
                f"{d}#{rng.randint(1, 5)}",
                f"{name}#{rng.randint(1, 5)}",
                f"{d}#L",
                f"1-5#{rng.randint(1, 5)}",
                f"{d}#2,{(d + 3) % 7}L",
                f"{name},{d}L",
            ]
        )
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
            _plain_field(rng, 0, 59, star=0.2),
            _plain_field(rng, 0, 23, star=0.35),
            _dom_field(rng),
            _plain_field(rng, 1, 12, names=MONTHS, star=0.6),
            _dow_field(rng),
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
        "seconds": six,
        "question": "?" in expr,
        "list": "," in expr,
        "range": bool(re.search(r"\w-\w", expr)),
        "star_step": "*/" in expr,
        "range_step": bool(re.search(r"\w-\w+/", expr)),
        "start_step": bool(re.search(r"(^|[ ,])\w+/", expr)),
        "month_name": bool(re.search(r"[A-Za-z]{3}", f[-2])),
        "day_name": bool(re.search(r"[A-Za-z]{3}", dow.replace("L", "").replace("+", ""))),
        "weekday_7": bool(re.search(r"(^|[^#\d])7", f[-1])),
        "dom_L": bool(re.search(r"(^|,)L(,|$)", dom)),
        "dom_LW": dom == "LW",
        "dom_W": bool(re.search(r"\dW", dom)),
        "dow_L": bool(re.search(r"[0-7A-Z]L", dow)),
        "dow_hash": bool(re.search(r"#[1-5]", dow)),
        "dow_hash_L": "#L" in dow,
        "and_plus": "+" in dow,
        "lower_case": bool(re.search(r"[a-z]", expr)),
        "or_rule": dom.lstrip("+") not in ("*", "?") and dow.lstrip("+") not in ("*", "?") and "+" not in dow,
    }
    return {name for name, present in tags.items() if present}


ALL_FEATURES = {
    "seconds",
    "question",
    "list",
    "range",
    "star_step",
    "range_step",
    "start_step",
    "month_name",
    "day_name",
    "weekday_7",
    "dom_L",
    "dom_LW",
    "dom_W",
    "dow_L",
    "dow_hash",
    "dow_hash_L",
    "and_plus",
    "lower_case",
    "or_rule",
    "nickname",
}
