"""Notices through their whole life on the hazard engine: issued by an inspector from a
video-patrol finding (snapshot kept) or a daily result, answered by the school with a
photo, returned, answered again, accepted; escalated when overdue on the controllable
clock; and only the right people take each step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from campus_safety.hazards import deadlines
from campus_safety.hazards.models import Hazard
from campus_safety.inspections import daily, notices, patrols
from campus_safety.inspections.models import DailyResult, Finding, Notice, VideoPatrol
from tests.hazards.support import upload
from tests.inspections.support import camera


@pytest.fixture
def patrol(inspector, school, other_school, far_school):
    return patrols.start_patrol(inspector, [school, other_school, far_school])


def test_patrol_opens_with_its_schools_in_order(patrol, school, other_school, far_school):
    assert [s.school_id for s in patrol.stops.all()] == [school.pk, other_school.pk, far_school.pk]
    assert patrol.status == VideoPatrol.Status.OPEN


def test_a_school_user_cannot_patrol(school_admin, school):
    with pytest.raises(patrols.NotAllowed):
        patrols.start_patrol(school_admin, [school])


def test_finding_keeps_the_snapshot_and_opens_a_notice(patrol, inspector, school, photo, clock):
    cam = camera(school, "entrance")
    finding = patrols.record_finding(
        patrol,
        inspector,
        school=school,
        kind=Finding.Kind.CAMERA_BLOCKED,
        device=cam,
        snapshot=photo,
        note="画面被遮挡",
    )
    assert finding.snapshot.name.endswith(".jpg")
    notice = finding.notice
    assert notice.reference.startswith("ZG-")
    assert notice.items[0]["code"] == "camera_blocked"
    assert notice.hazard.source == Hazard.Source.ONLINE_INSPECTION
    assert notice.hazard.status == Hazard.Status.ASSIGNED
    assert notice.hazard.responsible_kind == Hazard.Responsible.SCHOOL
    assert patrol.stops.get(school=school).visited_at is not None


def test_finding_refuses_a_camera_of_another_school(patrol, inspector, school, other_school):
    cam = camera(other_school, "entrance")
    with pytest.raises(ValidationError):
        patrols.record_finding(patrol, inspector, school=school, kind="camera_blocked", device=cam)


def test_whole_life_answer_return_answer_accept(
    patrol, inspector, school, school_admin, photo, clock
):
    finding = patrols.record_finding(patrol, inspector, school=school, kind="no_guard")
    notice = finding.notice
    assert notices.steps_for(school_admin, notice) == {"answer"}
    assert notices.steps_for(inspector, notice) == set()
    with pytest.raises(ValidationError):  # an answer needs a photo of the fix
        notices.answer_notice(notice, school_admin, "已安排保安")
    notices.answer_notice(notice, school_admin, "已安排保安", [upload(photo)])
    notice.hazard.refresh_from_db()
    assert notice.hazard.status == Hazard.Status.SUBMITTED
    assert notices.steps_for(inspector, notice) == {"accept", "return"}
    assert notices.steps_for(school_admin, notice) == set()
    notices.return_notice(notice, inspector, "照片看不到门岗")
    notice.hazard.refresh_from_db()
    assert notice.hazard.return_count == 1
    assert notices.state_label(notice) == "Returned"
    notices.answer_notice(notice, school_admin, "补充门岗照片", [upload(photo)])
    notices.accept_notice(Notice.objects.get(pk=notice.pk), inspector, "合格")
    notice.hazard.refresh_from_db()
    assert notice.hazard.status == Hazard.Status.CLOSED
    assert notices.state_label(notice) == "Accepted"


def test_the_school_never_accepts_its_own_answer(patrol, inspector, school, school_admin, photo):
    notice = patrols.record_finding(patrol, inspector, school=school, kind="gate_open").notice
    notices.answer_notice(notice, school_admin, "已关门", [upload(photo)])
    with pytest.raises(Exception, match="side that found"):
        notices.accept_notice(notice, school_admin)


def test_overdue_notice_escalates_on_the_clock(patrol, inspector, school, clock):
    deadline = clock.now() + dt.timedelta(days=2)
    notice = patrols.record_finding(
        patrol, inspector, school=school, kind="no_guard", deadline=deadline
    ).notice
    clock.advance(days=3)
    deadlines.run_hazard_deadlines(clock.now())
    notice.hazard.refresh_from_db()
    assert notice.hazard.escalation_level >= 1
    assert notices.state_label(notice) == "Overdue"


def test_police_issue_as_police_inspection_and_verify_themselves(officer, school):
    notice = notices.issue_notice(
        officer,
        school=school,
        source=Notice.Source.PATROL,
        items=[{"code": "no_guard", "label": "门岗无人"}],
        to_police_station=True,
    )
    assert notice.hazard.source == Hazard.Source.POLICE_INSPECTION
    assert notice.hazard.responsible_kind == Hazard.Responsible.POLICE_STATION
    assert notice.hazard.verifier_side == Hazard.Side.POLICE


def test_a_notice_from_a_daily_result(inspector, school):
    result = daily.score_day(dt.date(2026, 11, 18))
    result = next(r for r in result if r.school_id == school.pk)
    result.save()
    items = notices.items_from_result(result)
    assert items and items[0]["label"]
    notice = notices.issue_notice(
        inspector, school=school, source=Notice.Source.DAILY, items=items, daily_result=result
    )
    assert DailyResult.objects.get(pk=result.pk).notice == notice


def test_bad_notices_are_refused_whole(inspector, school, school_admin, clock):
    with pytest.raises(ValidationError) as error:
        notices.issue_notice(
            inspector,
            school=school,
            source="daily",
            items=[],
            deadline=clock.now() - dt.timedelta(days=1),
        )
    assert set(error.value.message_dict) == {"items", "deadline"}
    with pytest.raises(notices.NotAllowed):
        notices.issue_notice(school_admin, school=school, source="daily", items=[{"label": "x"}])
    assert not Notice.objects.exists() and not Hazard.objects.exists()


def test_finishing_a_patrol_and_plan_completion(inspector, bureau, school, clock):
    from campus_safety.inspections.models import PatrolPlan

    plan = PatrolPlan.objects.create(
        name="每周巡查", organisation=bureau, inspector=inspector, every_days=7
    )
    plan.schools.set([school])
    assert patrols.plan_completion([plan])[plan.pk]["due"] is True
    patrol = patrols.start_patrol(inspector, [], plan=plan)
    patrols.finish_patrol(patrol, inspector)
    assert patrols.plan_completion([plan])[plan.pk]["due"] is False
    clock.advance(days=8)
    assert patrols.plan_completion([plan], clock.now())[plan.pk]["due"] is True
