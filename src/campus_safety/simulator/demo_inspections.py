"""The demo city's online inspection (issue #19): thirty days of daily results, picture
faults on a few percent of the cameras with the diagnosed pictures, patrol plans and
video patrols, and notices at every stage (open, answered, returned, accepted, overdue
and escalated). Deterministic for a seed.

One truth: the last day of the history is the real rule set (rules.py) run over the
seeded records — yesterday's tours and gate posts, guards, hazards, alarm tests, camera
faults — and the days before fail each item as often as that day did, so the first
night's real inspection tells the same story as the history. Only the device items
(online rate, cameras offline, key-area cameras) cannot be judged at seeding time: no
device has been heard from yet (未知 until the simulator registers them), so they
fail at each school's habitual rate.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campus_safety import clock
from campus_safety.accounts.models import User
from campus_safety.devices.models import Device
from campus_safety.hazards import deadlines
from campus_safety.hazards import services as hazard_services
from campus_safety.hazards.models import Hazard, HazardEvent
from campus_safety.inspections import daily, notices, patrols, rules, vqd
from campus_safety.inspections.models import (
    CameraQuality,
    DailyResult,
    Finding,
    InspectionRun,
    Notice,
    PatrolPlan,
    QualityCheck,
    VideoPatrol,
)
from campus_safety.orgs.models import School
from campus_safety.simulator import camera_faults
from campus_safety.simulator.snapshots import render_snapshot

HISTORY_DAYS = 30
PICTURES = 120  # faulty cameras whose diagnosed picture is kept in the demo
# The device items, judged on devices' live status, which nobody has reported yet when
# the city is seeded: how often each fails on an ordinary day for an average school.
DEVICE_FAIL_RATES = {"device_online": 0.035, "cameras_offline": 0.045, "key_area_cameras": 0.04}
# Items that stay as the records make them every day of the history (the demo's
# guards do not change from one day to the next).
STEADY_ITEMS = ("staffing",)


def fill_inspections(now: dt.datetime | None = None, *, is_fresh: bool = False) -> dict[str, int]:
    """A fresh city: the whole history up to yesterday (the city did not exist then: a
    rule run at seeding time would judge yesterday by devices not yet registered, and
    every school lost 30 points); otherwise yesterday's run if it is missing."""
    now = now or clock.now()
    yesterday = timezone.localdate(now) - dt.timedelta(days=1)
    if not School.objects.exists():
        return {"inspection_results": 0}
    counts: dict[str, int] = {}
    if is_fresh:  # the faults first: the history's last day is judged on them
        counts["camera_faults"] = write_camera_faults(now)
        counts["inspection_results"] = write_history(now, yesterday)
    if not InspectionRun.objects.filter(day=yesterday).exists():
        # Scores only: the demo's notices are the ones written below at every stage, and
        # a demo started days later dates nothing new into its hazards' history; the
        # running platform's nightly run (inspections/tasks.py) issues them from then on.
        counts["inspection_results"] = counts.get("inspection_results", 0) + (
            daily.run_daily_inspection(yesterday, now, issue_notices=False).schools
        )
    if is_fresh:
        counts.update(write_patrols_and_notices(now, yesterday))
    return counts


def write_history(now: dt.datetime, last_day: dt.date) -> int:
    """``HISTORY_DAYS`` days up to ``last_day``: ``last_day`` as the real rules judge the
    seeded records (the device items aside, see the module's docstring), each day
    before it failing every item about as often, at each school's own habitual rate."""
    rng = random.Random(371419)
    real = {r.school_id: r for r in daily.score_day(last_day, now)}
    schools = list(School.objects.values("id", "region_id"))
    habit = {s["id"]: rng.betavariate(2, 5) * 3.5 for s in schools}  # mean 1, long tail
    share = {
        item.code: sum(1 for r in real.values() if not r.items[item.code]["ok"]) / len(real)
        for item in rules.ITEMS
    }
    share.update(DEVICE_FAIL_RATES)
    ctx = rules.Context(day=last_day, now=now, schools={s["id"]: s for s in schools})
    written = 0
    with transaction.atomic():
        for back in range(HISTORY_DAYS - 1, -1, -1):
            day = last_day - dt.timedelta(days=back)
            results = []
            for school in schools:
                judged = real[school["id"]].items
                items: dict[str, Any] = {}
                for item in rules.ITEMS:
                    as_judged = back == 0 and item.code not in DEVICE_FAIL_RATES
                    if as_judged or item.code in STEADY_ITEMS:
                        items[item.code] = judged[item.code]
                    elif item.weight and rng.random() < share[item.code] * habit[school["id"]]:
                        items[item.code] = {"ok": False, "lost": item.weight, "value": 0,
                                            "detail": ""}  # fmt: skip
                    else:
                        items[item.code] = {"ok": True}
                lost = sum(v.get("lost", 0) for v in items.values() if not v["ok"])
                results.append(DailyResult(
                    school_id=school["id"], day=day, ruleset=rules.VERSION,
                    score=max(0.0, 100 - lost), items=items,
                    failed=sum(1 for v in items.values() if not v["ok"]),
                ))  # fmt: skip
            daily._rank(results, ctx)
            DailyResult.objects.bulk_create(results, batch_size=2000, ignore_conflicts=True)
            InspectionRun.objects.create(
                day=day, ruleset=rules.VERSION, started_at=now, schools=len(results)
            )
            written += len(results)
    return written


def write_camera_faults(now: dt.datetime) -> int:
    """Each demo camera with a fault (camera_faults.demo_fault) gets its state and a
    diagnosis; the first ``PICTURES`` keep their picture, rendered and diagnosed."""
    cameras = Device.objects.filter(kind=Device.Kind.CAMERA).select_related("school")
    faulty = [(c, camera_faults.demo_fault(c.device_id)) for c in cameras.iterator()]
    faulty = [(c, f) for c, f in faulty if f]
    states, checks = [], []
    for index, (camera, fault) in enumerate(faulty):
        since = now - dt.timedelta(hours=1 + index % 70)
        check = QualityCheck(
            device=camera, school_id=camera.school_id, at=since, faults=[fault], measures={}
        )
        # The picture as installed is the camera's reference, as the platform took it
        # from its first clean picture: the simulator serves the fault from its first
        # snapshot on, and the first sweep finds it against this reference.
        place = camera.school.name if camera.school else ""
        installed = render_snapshot(camera.device_id, camera.name, place, clean=True)
        reference = vqd.measure_jpeg(installed)
        if index < PICTURES:
            data = render_snapshot(camera.device_id, camera.name, place)
            diagnosis = vqd.diagnose_jpeg(data, reference, None)
            check.measures = diagnosis.measures
            check.picture.save(f"demo-{camera.device_id}.jpg", ContentFile(data), save=False)
        checks.append(check)
        states.append(CameraQuality(
            device=camera, school_id=camera.school_id, faults=[fault], faulty_since=since,
            checked_at=since, reference=reference.to_json(),
            reference_at=since - dt.timedelta(days=30),
        ))  # fmt: skip
    with transaction.atomic():
        QualityCheck.objects.bulk_create(checks, batch_size=1000)
        for state, check in zip(states, checks, strict=True):
            state.last_check = check
        CameraQuality.objects.bulk_create(states, batch_size=1000, ignore_conflicts=True)
        # The device pages show these cameras as having a picture fault (as a sweep sets).
        for state in states:
            state.device.picture_faults = state.faults
            state.device.picture_fault_since = state.faulty_since
        Device.objects.bulk_update(
            [s.device for s in states], ["picture_faults", "picture_fault_since"], batch_size=1000
        )
    return len(states)


def _photo(name: str) -> SimpleUploadedFile:
    import numpy as np

    frame = np.full((360, 480, 3), (90, 140, 70), np.uint8)
    frame[200:] = (120, 120, 120)
    return SimpleUploadedFile(name, camera_faults.jpeg(frame), content_type="image/jpeg")


def write_patrols_and_notices(now: dt.datetime, day: dt.date) -> dict[str, int]:
    """Two patrol plans, three patrols (two done), and notices at every stage."""
    edu = User.objects.filter(username="edu").select_related("organisation").first()
    police = User.objects.filter(username="police").select_related("organisation").first()
    school_user = User.objects.filter(username="school").select_related("school").first()
    if edu is None or school_user is None or edu.organisation is None:
        return {"inspection_notices": 0}
    rng = random.Random(1919)
    district = School.objects.visible_to(edu).order_by("code")
    worst = list(
        DailyResult.objects.filter(day=day, school__in=district.values("pk"))
        .select_related("school")
        .order_by("score", "school__code")[:8]
    )
    own = school_user.school
    written = 0
    with transaction.atomic():
        plan = PatrolPlan.objects.create(
            name="德城区每周视频巡查", organisation=edu.organisation, inspector=edu, every_days=7
        )
        plan.schools.set(list(district[:12]))
        if police is not None and police.organisation is not None:
            police_plan = PatrolPlan.objects.create(
                name="派出所护学岗视频抽查", organisation=police.organisation, inspector=police,
                every_days=3,
            )  # fmt: skip
            police_plan.schools.set(list(School.objects.visible_to(police).order_by("code")[:6]))
        # Two completed patrols with findings (each opens a notice), one still open.
        for round_ in range(2):
            chosen = list(district[round_ * 4 : round_ * 4 + 4])
            if own not in chosen:
                chosen = [own, *chosen[:3]]
            patrol = patrols.start_patrol(edu, chosen, plan)
            VideoPatrol.objects.filter(pk=patrol.pk).update(
                started_at=now - dt.timedelta(days=8 - round_ * 6, hours=2)
            )
            for school in chosen[:2]:
                camera = (
                    Device.objects.filter(school=school, kind=Device.Kind.CAMERA)
                    .order_by("device_id")
                    .first()
                )
                kind = rng.choice(
                    [Finding.Kind.CAMERA_BLOCKED, Finding.Kind.NO_GUARD, Finding.Kind.GATE_OPEN]
                )
                snapshot = (
                    render_snapshot(camera.device_id, camera.name, school.name)
                    if camera is not None
                    else None
                )
                patrols.record_finding(
                    patrol, edu, school=school, kind=kind, device=camera, snapshot=snapshot,
                    note="演示：巡查发现", deadline=now + dt.timedelta(days=5 + round_),
                )  # fmt: skip
                written += 1
            patrols.finish_patrol(patrol, edu)
        patrols.start_patrol(edu, list(district[8:11]) or list(district[:3]))
        # Notices from the daily results of the worst schools.
        for result in worst[:5]:
            items = notices.items_from_result(result)
            if items and result.notice_id is None:
                notices.issue_notice(
                    edu, school=result.school, source=Notice.Source.DAILY, items=items,
                    daily_result=result, deadline=now + dt.timedelta(days=7),
                )  # fmt: skip
                written += 1
        # The school user's notices at every stage.
        stages = {}
        for stage in ("answered", "returned", "accepted", "overdue"):
            stages[stage] = notices.issue_notice(
                edu, school=own, source=Notice.Source.DAILY,
                items=[{"code": "tours", "label": str(rules.item_label("tours")),
                        "detail": f"演示（{stage}）"}],
                deadline=now + dt.timedelta(days=6),
            )  # fmt: skip
            written += 1
        for stage in ("answered", "returned", "accepted"):
            # The school starts the work, then answers (the hazard's whole timeline).
            hazard_services.start_rectification(stages[stage].hazard, school_user)
            notices.answer_notice(
                stages[stage], school_user, "已整改，附照片。", [_photo("fix.jpg")]
            )
        notices.return_notice(stages["returned"], edu, "照片不能说明整改到位，请补充夜间巡更记录。")
        notices.accept_notice(stages["accepted"], edu, "整改到位。")
        _make_overdue(stages["overdue"], now)
        _take_the_place_of_generated_hazards(now)
    return {"inspection_notices": written}


OVERDUE_BY = dt.timedelta(days=2)


def _make_overdue(notice: Notice, now: dt.datetime) -> None:
    """The overdue notice: issued days ago, its deadline two days past, so reminded and
    escalated once to the school's bureau, the way the demo's overdue hazards are. Only
    this hazard: a city-wide deadline sweep would escalate those a second time."""
    hazard = notice.hazard
    deadline = now - OVERDUE_BY
    back = hazard.deadline - deadline  # the whole timeline moves back, deadline included
    reminded = deadline - dt.timedelta(hours=deadlines.reminder_hours())
    target = deadlines.supervisor(hazard, 1)
    Notice.objects.filter(pk=notice.pk).update(issued_at=F("issued_at") - back)
    HazardEvent.objects.filter(hazard=hazard).update(at=F("at") - back)
    Hazard.objects.filter(pk=hazard.pk).update(
        reported_at=F("reported_at") - back, assigned_at=F("assigned_at") - back,
        deadline=deadline, reminded_at=reminded, escalation_level=1, escalated_to=target,
        next_escalation_at=now + dt.timedelta(days=deadlines.repeat_days()),
    )  # fmt: skip
    HazardEvent.objects.bulk_create([
        HazardEvent(hazard=hazard, at=reminded, step=HazardEvent.Step.REMINDED,
                    note="整改期限临近提醒。", organisation=hazard.responsible_organisation),
        HazardEvent(hazard=hazard, at=deadline, step=HazardEvent.Step.ESCALATED,
                    note="逾期未整改，已督办。", organisation=target),
    ])  # fmt: skip


def _take_the_place_of_generated_hazards(now: dt.datetime) -> None:
    """Each notice's hazard stands in for one generated demo hazard (demo_hazards.py)
    of the same kind and state — closed, submitted, in hand (overdue and escalated or
    not) — so the demo city still shows exactly the reference figures (1,243 internal
    hazards rectified, the open and overdue ones as generated)."""
    for hazard in Hazard.objects.filter(inspection_notice__isnull=False).order_by("pk"):
        generated = Hazard.objects.filter(
            reported_by__isnull=True, kind=hazard.kind, status=hazard.status,
            inspection_notice__isnull=True,
        )  # fmt: skip
        if hazard.escalation_level > 0:
            generated = generated.filter(escalation_level__gt=0)
        elif hazard.status in Hazard.RUNNING_STATUSES:
            generated = generated.filter(escalation_level=0, deadline__gt=now)
        stand_in = generated.order_by("-pk").first()
        if stand_in is not None:
            stand_in.delete()


def delete_inspections() -> dict[str, int]:
    """Everything the demo wrote (before a re-seed); pictures stay with the media dir."""
    counts = {}
    for model in (Finding, VideoPatrol, PatrolPlan, QualityCheck, CameraQuality, DailyResult,
                  InspectionRun):  # fmt: skip
        counts[model._meta.model_name] = model.objects.all().delete()[0]
    counts["notice"] = Notice.objects.all().delete()[0]
    return counts
