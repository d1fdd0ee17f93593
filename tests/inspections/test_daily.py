"""The daily inspection: a school that keeps every rule scores 100; break one thing and
exactly that item fails; scores rank in the district and the city; a run is stored,
repeatable, and announced."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from campus_safety import bus
from campus_safety.alarms.models import TestWindow
from campus_safety.devices.models import Device
from campus_safety.gate.models import VehiclePassage
from campus_safety.hazards.models import Hazard
from campus_safety.inspections import daily, notices, rules
from campus_safety.inspections.models import CameraQuality, DailyResult, InspectionRun
from campus_safety.patrols.models import Holiday, PeakPost, PostCheckIn, TourRound
from campus_safety.workforce.models import Guard
from tests.factories import SchoolFactory
from tests.inspections.support import camera, good_school, local

DAY = dt.date(2026, 11, 18)  # a Wednesday
NOW = local(DAY, 23, 30)


def failed(school) -> set[str]:
    results = {r.school_id: r for r in daily.score_day(DAY, NOW)}
    return {code for code, v in results[school.pk].items.items() if not v["ok"]}


@pytest.fixture
def world(school):
    return good_school(school, DAY)


def test_a_school_keeping_every_rule_scores_100(school, world):
    results = {r.school_id: r for r in daily.score_day(DAY, NOW)}
    assert results[school.pk].score == 100
    assert results[school.pk].failed == 0


def test_devices_offline_fail_the_online_rate(school, world):
    for cam in world["cameras"][:2]:
        Device.objects.filter(pk=cam.pk).update(status=Device.Status.OFFLINE, status_since=NOW)
    assert "device_online" in failed(school)


def test_a_camera_offline_over_24_hours(school, world):
    camera(
        school,
        "teaching_area",
        status=Device.Status.OFFLINE,
        status_since=NOW - dt.timedelta(hours=30),
    )
    assert failed(school) == {"cameras_offline"}


def test_alarm_boxes_not_tested_within_a_quarter(school, world):
    TestWindow.objects.filter(school=school).delete()
    assert failed(school) == {"alarm_tested"}


def test_a_key_area_without_a_working_camera(school, world):
    Device.objects.filter(pk=world["cameras"][2].pk).update(key_area="canteen")
    assert failed(school) == {"key_area_cameras"}


def test_a_boarding_school_needs_its_dormitory_camera(school, world):
    type(school).objects.filter(pk=school.pk).update(is_boarding=True)
    TourRound.objects.create(  # a night round walked, so only the camera is missing
        plan=world["plan"],
        school=school,
        day=DAY,
        starts_at=local(DAY, 23),
        due_at=local(DAY, 23, 30),
        closes_at=local(DAY, 23, 40),
        status=TourRound.Status.COMPLETE,
    )
    assert failed(school) == {"key_area_cameras"}


def test_staffing_gap(school, world):
    Guard.objects.filter(school=school).first().delete()
    assert failed(school) == {"staffing"}


def test_too_few_tour_rounds(school, world):
    TourRound.objects.filter(school=school).first().delete()
    assert failed(school) == {"tours"}


def test_a_planned_night_round_missed(school, world):
    TourRound.objects.create(
        plan=world["plan"],
        school=school,
        day=DAY,
        starts_at=local(DAY, 23),
        due_at=local(DAY, 23, 30),
        closes_at=local(DAY, 23, 40),
        status=TourRound.Status.MISSED,
    )
    assert failed(school) == {"tours"}


def test_a_gate_post_nobody_staffed(school, world):
    PostCheckIn.objects.filter(school=school).delete()
    assert failed(school) == {"peak_posts"}


def test_a_school_without_any_gate_post(school, world):
    PeakPost.objects.filter(school=school).update(is_active=False)
    assert "peak_posts" in failed(school)


def _passage(school, at):
    VehiclePassage.objects.create(school=school, plate="鲁N12345", direction="in", at=at)


def test_a_gate_register_in_service_that_recorded_nobody_on_a_school_day(school, world):
    assert "gate_registers" not in failed(school)  # no gate terminal yet: not judged
    _passage(school, local(DAY - dt.timedelta(days=3), 8))
    assert failed(school) == {"gate_registers"}
    _passage(school, local(DAY, 7, 40))
    assert "gate_registers" not in failed(school)


def test_a_gate_register_is_not_asked_for_on_a_holiday(school, world):
    _passage(school, local(DAY - dt.timedelta(days=3), 8))
    Holiday.objects.create(date=DAY, name="校庆放假")
    assert "gate_registers" not in failed(school)


def test_an_overdue_hazard(school, world):
    Hazard.objects.create(
        reference="YH-900001",
        kind="internal",
        school=school,
        title="围墙破损",
        category="physical",
        source="self_check",
        verifier_side="supervisors",
        reported_at=NOW - dt.timedelta(days=20),
        status=Hazard.Status.RECTIFYING,
        deadline=NOW - dt.timedelta(days=2),
        key_area="perimeter",
    )
    assert failed(school) == {"hazards_overdue"}


def _picture_faults(school, cameras, fault="blur"):
    for cam in cameras:
        CameraQuality.objects.create(device=cam, school=school, faults=[fault])


def test_one_faulty_picture_in_ten_cameras_passes(school, world):
    """画面完好率 ≥ 90 %: one blurred camera of ten is a repair job, not a failed day."""
    _picture_faults(school, world["cameras"][:1])
    assert failed(school) == set()


def test_more_than_a_tenth_of_the_cameras_with_faulty_pictures(school, world):
    _picture_faults(school, world["cameras"][3:5], fault="occluded")
    assert failed(school) == {"video_quality"}
    result = next(r for r in daily.score_day(DAY, NOW) if r.school_id == school.pk)
    assert result.items["video_quality"]["detail"] == "2/10"
    assert result.score == 100 - rules.ITEMS_BY_CODE["video_quality"].weight


def test_picture_faults_count_against_the_approved_cameras_only(school, world):
    """A camera not yet approved neither dilutes nor adds to the share."""
    extra = camera(school, "teaching_area")
    Device.objects.filter(pk=extra.pk).update(is_approved=False)
    _picture_faults(school, world["cameras"][3:4])
    _picture_faults(school, [extra])
    assert "video_quality" not in failed(school)  # 1 of 10 approved (+ the unapproved one)
    _picture_faults(school, world["cameras"][4:5])
    assert failed(school) == {"video_quality"}


def test_score_is_100_minus_the_weights_and_ranks_compete(school, other_school, far_school, world):
    results = {r.school_id: r for r in daily.score_day(DAY, NOW)}
    # The other schools have nothing at all: every item that applies fails.
    bare = results[other_school.pk]
    lost = sum(item.weight for item in rules.ITEMS if not bare.items[item.code]["ok"])
    assert bare.score == 100 - lost
    assert results[school.pk].district_rank == 1
    assert results[other_school.pk].district_rank == 2
    assert results[far_school.pk].district_rank == 1  # alone in its district
    assert results[far_school.pk].city_rank == 2  # tied with other_school
    assert results[other_school.pk].city_rank == 2


def test_run_stores_one_result_per_school_and_day_and_announces(
    school, world, django_capture_on_commit_callbacks
):
    heard = []
    unsubscribe = bus.subscribe("inspection.completed", lambda name, p: heard.append(p))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = daily.run_daily_inspection(DAY, NOW)
            again = daily.run_daily_inspection(DAY, NOW)
    finally:
        unsubscribe()
    assert first.schools == again.schools == 1
    assert DailyResult.objects.filter(day=DAY).count() == 1
    assert InspectionRun.objects.filter(day=DAY).count() == 2
    assert heard and heard[0]["day"] == DAY.isoformat()


def test_inspect_command(school, world, capsys):
    call_command("inspect", "--date", DAY.isoformat())
    assert "1 schools" in capsys.readouterr().out


def test_daily_task_runs_once_after_the_hour(school, world, settings):
    from campus_safety.inspections import tasks

    settings.INSPECTIONS_DAILY_HOUR = 1
    early = local(DAY + dt.timedelta(days=1), 0, 30)
    late = local(DAY + dt.timedelta(days=1), 1, 30)
    assert tasks.run_daily_if_due(early) is False
    assert tasks.run_daily_if_due(late) is True
    assert tasks.run_daily_if_due(late) is False
    assert DailyResult.objects.get(school=school).day == DAY


def test_many_schools_need_few_queries(county, django_assert_max_num_queries):
    SchoolFactory.create_batch(30, region=county)
    with django_assert_max_num_queries(20):
        daily.score_day(DAY, timezone.now())


def test_the_summary_report_carries_the_latest_inspected_day(
    school, other_school, far_school, world, inspector
):
    """The summary's ``inspections`` block: the latest day's schools, mean score and
    schools below 60, open notices and cameras whose last picture is faulty — of the
    reader's schools only."""
    from campus_safety.reports.summary import summary

    # Only the inspector's notice below (the run's own notices: test_auto_notices).
    daily.run_daily_inspection(
        DAY - dt.timedelta(days=1), NOW - dt.timedelta(days=1), issue_notices=False
    )
    daily.run_daily_inspection(DAY, NOW, issue_notices=False)
    _picture_faults(school, world["cameras"][:1])
    _picture_faults(far_school, [camera(far_school, "entrance")])
    notices.issue_notice(
        inspector,
        school=school,
        source="daily",
        items=[{"code": "tours", "label": "Guard tours", "detail": ""}],
    )
    scores = dict(DailyResult.objects.filter(day=DAY).values_list("school", "score"))
    mine = type(school).objects.filter(pk__in=[school.pk, other_school.pk])
    block = summary(mine)["inspections"]
    assert block == {
        "date": DAY.isoformat(),
        "schools_inspected": 2,
        "mean_score": round((scores[school.pk] + scores[other_school.pk]) / 2, 1),
        "schools_below_60": sum(1 for pk in (school.pk, other_school.pk) if scores[pk] < 60),
        "open_notices": 1,
        "cameras_with_faults": 1,
    }
