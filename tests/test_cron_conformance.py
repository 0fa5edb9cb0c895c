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
platform's own rules (Cloudflare's weekday numbering 1-7 from Sunday, names; Vercel's numbers;
Deno.cron's parser, which keeps saffron's rules as Cloudflare's), must fire at the same instants as
the original over its next 200 firings in UTC; every Deno.cron string is also registered with the
real Deno.cron, whose parser must accept it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cron_corpus import ALL_FEATURES, HAND_REFUSED, HAND_WRITTEN, feature_tags, generated_expressions
from cron_references import (
    assert_vercel_syntax,
    cloudflare_firings,
    croniter_form,
    croniter_runs,
    platform_croniter_form,
)
from nitro_build.cron import parse_cron, to_cloudflare, to_deno, to_vercel
from nitro_build.errors import CronError

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "js" / "cron_driver.mjs"
NODE = shutil.which("node") or "/usr/bin/node"
DENO = ROOT / "node_modules" / ".bin" / "deno"
COUNT = 20
TRANSLATION_COUNT = 200


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


# --- Node ---------------------------------------------------------------------------------------


def run_node(cases: list[dict], tz: str) -> threading.Thread:
    """Start the driver for `cases` in `tz` in a thread; the thread's `.result` is its output."""

    def target():
        proc = subprocess.run(
            [NODE, str(DRIVER)],
            input=json.dumps({"cases": cases}),
            capture_output=True,
            text=True,
            env={**os.environ, "TZ": tz},
            cwd=ROOT,
            timeout=300,
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
    threads = {
        tz: run_node(
            [
                {"expr": e, "spec": specs[e], "starts": starts, "count": COUNT, "croner": True}
                for e in accepted
            ],
            tz,
        )
        for tz, starts in STARTS.items()
    }
    threads["refused"] = run_node(
        [{"expr": e, "croner": True, "starts": [TRANSLATION_START], "count": 1} for e in refused], "UTC"
    )
    originals = [
        {
            "expr": e,
            "spec": specs[e],
            "starts": [TRANSLATION_START],
            "utc": True,
            "count": TRANSLATION_COUNT,
            "croner": True,
        }
        for e in translatable
    ]
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
        "generated": generated,
        "accepted": accepted,
        "refused": refused,
        "translations": translations,
        "node": {tz: dict(zip(accepted, threads[tz].result, strict=False)) for tz in STARTS},
        "refused_croner": dict(zip(refused, threads["refused"].result, strict=False)),
        "originals": dict(zip(translatable, threads["originals"].result, strict=False)),
        "croniter": croniter_results,
    }


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


def deno_verdicts(schedules: list[str]) -> list[str | None]:
    """Real Deno's verdict on each schedule: None if Deno.cron registers it, else its error."""
    proc = subprocess.run(
        [str(DENO), "run", "--unstable-cron", str(ROOT / "tests" / "js" / "deno_cron_accepts.mjs")],
        input=json.dumps(schedules),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)


def test_deno_translation_fires_at_the_same_instants_and_deno_accepts_it(corpus):
    """Each Deno.cron translation fires as the original (saffron's rules: Deno's parser, denoland/deno
    ext/cron/cron.rs, keeps them), and the Deno CLI of our lockfile registers every one."""
    texts = {}
    for expr, row in corpus["translations"].items():
        try:
            text = to_deno(expr)
        except CronError:
            assert row["cloudflare"] is None, expr  # refused exactly where Cloudflare refuses
            continue
        original = corpus["originals"][expr]["croner"][0]
        assert before_3000(cloudflare_firings(text, TRANSLATION_START, TRANSLATION_COUNT)) == original, (
            expr,
            text,
        )
        texts[expr] = text
    assert len(texts) >= 250
    unique = sorted(set(texts.values()))
    refused = {t: v for t, v in zip(unique, deno_verdicts(unique), strict=True) if v is not None}
    assert not refused, list(refused.items())[:5]
    # The probe can fail: Deno refuses a Sunday written as 0 (its numbers count from 1).
    assert deno_verdicts(["0 0 * * 0", "0 0 * * SUN"]) == ["Invalid cron schedule", None]
