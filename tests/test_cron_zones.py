"""Time zones and the Kubernetes dialect in the cron conformance suite (tests/test_cron_conformance.py):
cron.mjs under real Node against croner's `timezone` option across DST changes in several zones
(the Node process in yet another zone), the exact UTC translation for UTC-only platforms, and
to_kubernetes read by croniter (standard cron, as Kubernetes' robfig/cron parser reads it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from cron_corpus import HAND_WRITTEN, generated_expressions
from croniter import croniter
from nitro_build.cron import parse_cron, to_cloudflare
from nitro_build.errors import CronError
from test_cron_conformance import COUNT, TRANSLATION_COUNT, TRANSLATION_START, ms, run_node

# --- time zones (CRON_TZ= and scheduler.timezone): cron.mjs against croner's `timezone` option ---

# Zones with DST (hour and half-hour shifts, both hemispheres) and without; the Node process runs
# in another zone (TZ below), so a firing follows spec.timeZone, never the process's own zone.
ZONED_STARTS = {
    "Europe/Berlin": ["2024-03-31T01:30:00+01:00", "2024-10-27T00:30:00+02:00", "2025-03-30T00:00:00+01:00"],
    "America/New_York": ["2024-03-10T01:30:00-05:00", "2024-11-03T01:30:00-04:00"],
    "Australia/Sydney": ["2024-04-07T01:30:00+11:00", "2024-10-06T01:30:00+10:00"],
    "Australia/Lord_Howe": ["2024-04-07T01:00:00+11:00", "2024-10-06T01:30:00+10:30"],
    "America/Santiago": ["2024-04-06T22:00:00-03:00", "2024-09-07T22:00:00-04:00"],
    "Asia/Kolkata": ["2024-06-01T00:00:00+05:30"],
}
ZONED_EXPRESSIONS = [
    "0 9 * * *",
    "0 2 * * *",
    "30 2 * * *",
    "0 3 * * *",
    "0 0 * * *",
    "30 1 * * *",
    "0 23 * * *",
    "*/15 * * * *",
    "0 * * * *",
    "15 1-3 * * *",
    "0 0 * * 0",
    "0 9 * * 1-5",
    "0 0 L * *",
    "0 30 1 * * *",
    "*/20 * 2 * * *",
    "0 2 1 * *",
    "45 0 * * 6",
    "0 0 1 1 *",
]


@pytest.mark.parametrize("process_tz", ["UTC", "Asia/Tokyo"])
def test_zoned_schedules_fire_as_croner_with_its_timezone_option(process_tz):
    cases = []
    for zone, starts in ZONED_STARTS.items():
        for expr in ZONED_EXPRESSIONS:
            spec = {**parse_cron(f"CRON_TZ={zone} {expr}").compiled(), "timeZone": zone}
            cases.append(
                {
                    "expr": expr,
                    "spec": spec,
                    "starts": [ms(s) for s in starts],
                    "count": COUNT,
                    "croner": True,
                    "timezone": zone,
                }
            )
    thread = run_node(cases, process_tz)
    thread.join()
    mismatches = [
        (c["timezone"], c["expr"])
        for c, r in zip(cases, thread.result, strict=True)
        if r["mine"] != r["croner"]
    ]
    assert not mismatches, mismatches
    # The zone is what decides: 9:00 in Berlin is 07:00 UTC in summer, 08:00 UTC from Oct 27.
    berlin = next(
        r
        for c, r in zip(cases, thread.result, strict=True)
        if c["timezone"] == "Europe/Berlin" and c["expr"] == "0 9 * * *"
    )
    firings = [datetime.fromtimestamp(t / 1000, UTC) for t in berlin["mine"][1][:2]]
    assert [t.isoformat() for t in firings] == ["2024-10-27T08:00:00+00:00", "2024-10-28T08:00:00+00:00"]


def test_utc_translation_of_fixed_offset_zones_fires_at_the_same_instants():
    from nitro_build.cron.firings import next_firings
    from nitro_build.cron.zones import to_utc

    start = datetime(2026, 1, 1, tzinfo=UTC)
    cases = [
        ("Asia/Tokyo", "0 9 * * *"),
        ("Asia/Tokyo", "30 2 * * MON-FRI"),
        ("Asia/Kolkata", "0 9 * * *"),
        ("Asia/Kolkata", "30 6,7 * * 1"),
        ("Asia/Kolkata", "0 2 * * SUN"),
        ("Etc/GMT+5", "0 22 * * 5"),
        ("UTC", "0 0 L * *"),
        ("Asia/Tokyo", "*/10 * * * *"),
        ("Asia/Kolkata", "0 */6 * * *"),
    ]
    for zone, expr in cases:
        utc = to_utc(parse_cron(expr), zone)
        zoned = next_firings(expr, start.astimezone(ZoneInfo(zone)), TRANSLATION_COUNT)
        assert [t.astimezone(UTC) for t in zoned] == next_firings(utc, start, TRANSLATION_COUNT), (
            zone,
            expr,
            utc,
        )
        assert to_cloudflare(utc)
    refused = [
        ("Europe/Berlin", "0 9 * * *", "changes its UTC offset"),
        ("Asia/Tokyo", "0 3 1 * *", "previous or next day"),
        ("Asia/Tokyo", "0 3,12 * * 1", "others do not"),
        ("Asia/Kolkata", "15,45 9 * * *", "do not form hour and minute fields"),
    ]
    for zone, expr, reason in refused:
        with pytest.raises(CronError, match=reason):
            to_utc(parse_cron(expr), zone)


def test_kubernetes_translation_fires_at_the_same_instants():
    """to_kubernetes, read by croniter (standard cron, as Kubernetes' robfig/cron parser reads it:
    numbers only, either day field matching when both are restricted), fires as the original."""
    from nitro_build.cron import to_kubernetes
    from nitro_build.cron.firings import next_firings

    start = datetime.fromtimestamp(TRANSLATION_START / 1000, UTC)
    translated = refused = 0
    for expr in dict.fromkeys(HAND_WRITTEN + generated_expressions(120)):
        try:
            text = to_kubernetes(expr)
        except CronError as err:
            assert re.search(
                r"no seconds field|L or W|L or #|cannot AND|never fires|expected 5 or 6|"
                r"is not|out of range|backwards|must|needs|selects nothing|not supported|"
                r"incomplete|empty|unknown",
                str(err),
            ), (expr, err)
            refused += 1
            continue
        fields = text.split(" ")
        assert re.fullmatch(r"[\d*,/-]+( [\d*,/-]+){4}", text), text  # 5 numeric fields
        assert all(f == "*" or not f.startswith("*") for f in (fields[2], fields[4])), (
            text
        )  # robfig's star bit
        it = croniter(text, start)
        theirs = [it.get_next(datetime) for _ in range(TRANSLATION_COUNT)]
        assert theirs == next_firings(expr, start, TRANSLATION_COUNT), (expr, text)
        translated += 1
    assert translated > 100 and refused > 10
