"""The demo's inspection history and the real daily inspection tell the same story
(issue #19): on a freshly seeded demo city, at whatever hour it starts, the platform's
own rules judge yesterday and today about as the seeded history judged its days — a
normal city, not one that turns bad after the first night — and the rules judge a day
still in progress on what is already over."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from campus_safety import clock
from campus_safety.alarms.models import TestWindow
from campus_safety.devices.models import Device
from campus_safety.inspections import daily, rules
from campus_safety.inspections.models import DailyResult
from campus_safety.patrols.models import PostCheckIn, TourRound
from campus_safety.simulator import demo_day
from tests.inspections.support import good_school, local

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 14)  # a Monday in term
# Forty schools: one school more or less failing an item moves its share by 2.5 %.
SHARE_TOLERANCE = 0.15


@pytest.fixture
def demo_clock():
    """The demo's controllable clock (what CAMPUS_SAFETY_CLOCK_START sets)."""
    yield clock
    clock.reset()


def seed_demo_at(hhmm: str) -> None:
    clock.start_at(dt.datetime.combine(DAY, dt.time.fromisoformat(hhmm), ZONE))
    call_command("seed_demo", "--schools", "40", "--seed", "5", "--verbosity", "0",
                 stdout=StringIO())  # fmt: skip
    # What `serve --simulate` does before the night's inspection: its simulated devices
    # register and report (a demo with its MQTT broker), so none is left 未知.
    now = clock.now()
    Device.objects.filter(is_approved=True).update(
        status=Device.Status.ONLINE, status_since=now, last_seen_at=now
    )


def failing_shares(items_per_school: list[dict]) -> dict[str, float]:
    return {
        item.code: sum(1 for items in items_per_school if not items[item.code]["ok"])
        / len(items_per_school)
        for item in rules.ITEMS
    }


def assert_a_normal_day(results: list[DailyResult]) -> None:
    """Mean ≥ 85, at most 5 % below 60. A scaled-down city keeps the reference city's
    31 overdue hazards (demo_hazards.py), which among 40 schools weigh fifty times what
    they weigh among 2,029: that item is left to the comparison of shares."""
    scores = [r.score + r.items["hazards_overdue"].get("lost", 0) for r in results]
    mean = sum(scores) / len(scores)
    below = sum(1 for score in scores if score < daily.PASS_SCORE)
    assert mean >= 85, mean
    assert below <= 0.05 * len(results), below


def assert_shares_agree(live: dict[str, float], seeded: dict[str, float]) -> None:
    far = {
        code: (round(live[code], 3), round(seeded[code], 3))
        for code in live
        if abs(live[code] - seeded[code]) > SHARE_TOLERANCE
    }
    assert not far, far  # item: (live share, seeded share)


@pytest.mark.django_db
def test_the_real_inspection_agrees_with_the_seeded_history(demo_clock):
    seed_demo_at("00:30")  # just after midnight: yesterday has only just ended
    yesterday = DAY - dt.timedelta(days=1)
    seeded = list(DailyResult.objects.filter(day=yesterday).values_list("items", flat=True))
    seeded_shares = failing_shares(seeded)

    live = daily.score_day(yesterday)  # what `serve` runs at night, `inspect --date`
    assert_a_normal_day(live)
    assert_shares_agree(failing_shares([r.items for r in live]), seeded_shares)

    # the month before yesterday fails each item about as often, day by day
    per_day: dict[dt.date, list[dict]] = {}
    for day, items in DailyResult.objects.filter(day__lt=yesterday).values_list("day", "items"):
        per_day.setdefault(day, []).append(items)
    assert len(per_day) == 29
    mean_shares = {
        code: sum(failing_shares(days)[code] for days in per_day.values()) / len(per_day)
        for code in seeded_shares
    }
    assert_shares_agree(mean_shares, seeded_shares)

    for hhmm in ("00:30", "07:00"):  # today so far, early in the morning
        clock.start_at(dt.datetime.combine(DAY, dt.time.fromisoformat(hhmm), ZONE))
        demo_day.make_today()  # the demo (re)started: its day made up to now
        today = daily.score_day(DAY)
        assert_a_normal_day(today)
        assert_shares_agree(failing_shares([r.items for r in today]), seeded_shares)


@pytest.mark.django_db
def test_a_day_in_progress_is_judged_on_the_rounds_and_posts_already_over(school):
    day = dt.date(2026, 11, 18)
    good_school(school, day)
    PostCheckIn.objects.filter(school=school).delete()  # the 07:00–08:00 post not staffed
    TourRound.objects.filter(school=school, starts_at__hour__gte=10).update(
        status=TourRound.Status.PENDING  # the rounds from 10:00 are still to come
    )
    at_seven = {r.school_id: r for r in daily.score_day(day, local(day, 7, 0))}
    # nothing over yet: no round closed, no post window ended
    assert (
        at_seven[school.pk].items["tours"]
        == at_seven[school.pk].items["peak_posts"]
        == {"ok": True}
    )
    at_nine = {r.school_id: r for r in daily.score_day(day, local(day, 9, 0))}
    assert not at_nine[school.pk].items["peak_posts"]["ok"]
    assert at_nine[school.pk].items["tours"]["ok"]  # the 08:00 round walked
    # the 08:00 round missed: the four still to come can no longer make five
    TourRound.objects.filter(school=school, starts_at__hour=8).update(
        status=TourRound.Status.MISSED
    )
    at_nine = {r.school_id: r for r in daily.score_day(day, local(day, 9, 0))}
    assert at_nine[school.pk].items["tours"] == {
        "ok": False, "lost": 10, "value": 0, "detail": "0/5"
    }  # fmt: skip


@pytest.mark.django_db
def test_a_one_key_alarm_tested_last_quarter_passes_and_one_tested_earlier_fails(school):
    day = dt.date(2026, 12, 7)  # early in a month: last month's test is 5 weeks back
    good_school(school, day)
    TestWindow.objects.filter(school=school).update(
        starts_at=local(day, 9) - dt.timedelta(days=80),
        ends_at=local(day, 10) - dt.timedelta(days=80),
    )
    moment = local(day, 23, 30)
    assert {r.school_id: r for r in daily.score_day(day, moment)}[school.pk].score == 100
    TestWindow.objects.filter(school=school).update(
        starts_at=local(day, 9) - dt.timedelta(days=rules.ALARM_TEST_DAYS + 1),
        ends_at=local(day, 10) - dt.timedelta(days=rules.ALARM_TEST_DAYS + 1),
    )
    result = {r.school_id: r for r in daily.score_day(day, moment)}[school.pk]
    assert not result.items["alarm_tested"]["ok"]
