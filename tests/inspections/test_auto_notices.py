"""Notices the daily run issues by itself (rules.NOTICE_*): a school below the line, or
failing a critical item day after day, gets one in the name of its district education
bureau; a rerun of the same day issues nothing new; a school keeping the rules gets
none; the bureau's inspectors take the answer as for their own notices."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse

from campus_safety.audit.models import AuditEntry
from campus_safety.devices.models import Device
from campus_safety.hazards.models import Hazard
from campus_safety.inspections import daily, notices, rules
from campus_safety.inspections.models import DailyResult, Notice
from campus_safety.workforce.models import Guard
from tests.factories import sign_in
from tests.inspections.support import good_school, local
from tests.inspections.test_notices import upload

DAY = dt.date(2026, 11, 18)
NOW = local(DAY, 23, 30)
NIGHT = local(DAY + dt.timedelta(days=1), 1, 30)  # the run at the set hour


@pytest.fixture
def world(school):
    return good_school(school, DAY)


@pytest.fixture
def night(clock):
    clock.start_at(NIGHT)
    return clock


def _history(school, days: int, failing: set[str]) -> None:
    """``days`` stored days before DAY on which ``school`` failed ``failing``."""
    for back in range(1, days + 1):
        items = {item.code: {"ok": True} for item in rules.ITEMS}
        for code in failing:
            items[code] = {"ok": False, "lost": rules.ITEMS_BY_CODE[code].weight}
        DailyResult.objects.create(
            school=school,
            day=DAY - dt.timedelta(days=back),
            ruleset=rules.VERSION,
            score=100 - sum(v.get("lost", 0) for v in items.values()),
            items=items,
            failed=len(failing),
        )


def test_the_run_issues_a_notice_to_a_school_below_the_line(
    school, other_school, world, bureau, night
):
    summary = daily.run_daily_inspection(DAY, NIGHT)
    result = DailyResult.objects.get(school=other_school, day=DAY)
    assert result.score < rules.NOTICE_BELOW  # nothing kept at the second school
    assert summary.notices == 1
    notice = Notice.objects.get()
    assert notice.school == other_school  # the school keeping every rule gets none
    assert notice.source == Notice.Source.DAILY
    failed = {code for code, v in result.items.items() if not v["ok"]}
    assert {i["code"] for i in notice.items} == failed
    issuer = notice.issued_by
    assert issuer.organisation == bureau and issuer.role == "education_staff"
    assert not issuer.has_usable_password()  # a system identity, nobody signs in as it
    assert notice.hazard.responsible_kind == Hazard.Responsible.SCHOOL
    assert notice.hazard.verifier_side == Hazard.Side.EDUCATION
    left = notice.hazard.deadline - notice.issued_at
    assert abs(left - dt.timedelta(days=rules.NOTICE_DEADLINE_DAYS)) < dt.timedelta(minutes=1)
    assert result.notice == notice
    auto = AuditEntry.objects.get(action="inspection.notice_auto")
    assert auto.object_id == str(notice.pk) and auto.detail["day"] == DAY.isoformat()


def test_a_rerun_of_the_same_day_does_not_duplicate(school, other_school, world, bureau, night):
    daily.run_daily_inspection(DAY, NIGHT)
    night.advance(hours=2)
    again = daily.run_daily_inspection(DAY, night.now())
    call_command("inspect", "--date", DAY.isoformat())
    assert again.notices == 0
    assert Notice.objects.filter(school=other_school).count() == 1
    assert AuditEntry.objects.filter(action="inspection.notice_auto").count() == 1


def test_only_items_not_on_an_open_notice_are_issued(other_school, bureau, inspector, night):
    results = {r.school_id: r for r in daily.score_day(DAY, NIGHT)}
    failed = [c for c, v in results[other_school.pk].items.items() if not v["ok"]]
    first, rest = failed[0], set(failed[1:])
    notices.issue_notice(
        inspector,
        school=other_school,
        source=Notice.Source.DAILY,
        items=[{"code": first, "label": rules.item_label(first)}],
    )
    daily.run_daily_inspection(DAY, NIGHT)
    auto = Notice.objects.exclude(issued_by=inspector).get()
    assert {i["code"] for i in auto.items} == rest


def test_a_closed_notice_does_not_hold_back_a_new_one(other_school, bureau, night):
    daily.run_daily_inspection(DAY, NIGHT)
    Hazard.objects.update(status=Hazard.Status.CLOSED)
    assert notices.issue_daily_notices(DAY).issued  # the school still falls short


def _gate_camera_down(world) -> None:
    """The gate's camera offline (not yet 24 h): key areas uncovered, 85 points."""
    gate = next(c for c in world["cameras"] if c.key_area == "outside_gate")
    Device.objects.filter(pk=gate.pk).update(status=Device.Status.OFFLINE, status_since=NOW)


def test_a_critical_item_failed_three_days_running(school, world, bureau, night):
    _gate_camera_down(world)
    _history(school, rules.NOTICE_STREAK_DAYS - 1, {"key_area_cameras"})
    summary = daily.run_daily_inspection(DAY, NIGHT)
    assert DailyResult.objects.get(school=school, day=DAY).score >= rules.NOTICE_BELOW
    assert summary.notices == 1
    codes = [i["code"] for i in Notice.objects.get(school=school).items]
    assert codes == ["key_area_cameras"]


def test_a_critical_item_failed_once_is_not_yet_a_notice(school, world, bureau, night):
    _gate_camera_down(world)
    _history(school, rules.NOTICE_STREAK_DAYS - 2, {"key_area_cameras"})
    assert daily.run_daily_inspection(DAY, NIGHT).notices == 0
    assert not Notice.objects.exists()


def test_a_guard_short_is_scored_not_noticed_while_the_school_passes(school, world, bureau, night):
    Guard.objects.filter(school=school).first().delete()  # staffing is not critical
    _history(school, rules.NOTICE_STREAK_DAYS, {"staffing"})
    assert daily.run_daily_inspection(DAY, NIGHT).notices == 0


def test_a_school_keeping_the_rules_gets_none(school, world, bureau, night):
    summary = daily.run_daily_inspection(DAY, NIGHT)
    assert summary.notices == 0
    assert not Notice.objects.exists()


def test_the_bureau_takes_the_schools_answer(
    other_school, bureau, inspector, photo, night, django_user_model
):
    from tests.factories import UserFactory

    daily.run_daily_inspection(DAY, NIGHT)
    notice = Notice.objects.get()
    head = UserFactory(role="school_admin", school=other_school)
    notices.answer_notice(notice, head, "已整改", [upload(photo)])
    assert notices.steps_for(inspector, notice) == {"accept", "return"}
    notices.accept_notice(Notice.objects.get(pk=notice.pk), inspector, "合格")
    notice.hazard.refresh_from_db()
    assert notice.hazard.status == Hazard.Status.CLOSED


def test_a_district_without_a_bureau_gets_no_notice(far_school, night):
    assert daily.run_daily_inspection(DAY, NIGHT).notices == 0


def test_the_rule_page_explains_the_notice_rule(client, inspector):
    sign_in(client, inspector)
    response = client.get(reverse("inspections:rules"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="notice-rules"' in page
    assert f"below {rules.NOTICE_BELOW:.0f}" in page


def test_the_inspectors_button_adds_no_second_notice(client, other_school, inspector, night):
    daily.run_daily_inspection(DAY, NIGHT)
    auto = Notice.objects.get()
    sign_in(client, inspector)
    result = DailyResult.objects.get(school=other_school, day=DAY)
    page = client.post(reverse("inspections:issue_from_result", args=[result.pk]), {"days": 5})
    assert page.url == reverse("inspections:notice", args=[auto.pk])
    assert Notice.objects.count() == 1
