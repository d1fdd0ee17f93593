"""The demo city's hazard history: the reference city's 1,243 internal hazards and 87
trouble spots fixed and verified over the past year, plus a realistic set still open
(some overdue and escalated). Deterministic for a seed; bulk inserts, no signals.

``seed-demo`` calls ``seed_city``; it lives in the simulator, as every demo generator
does, and apps never import it.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import CharField, F, Max, Value
from django.db.models.functions import Cast, Concat, LPad

from campus_safety import clock
from campus_safety.hazards import deadlines, services
from campus_safety.hazards.models import (
    Campaign,
    Checklist,
    ChecklistAnswer,
    Hazard,
    HazardEvent,
    HazardPhoto,
)
from campus_safety.orgs.models import Organisation, School

INTERNAL_RECTIFIED = 1243
SURROUNDING_RECTIFIED = 87
# Still open at seeding time, by status; "overdue" of the assigned/rectifying ones are
# past their deadline (and escalated to the supervisor).
INTERNAL_OPEN = {"reported": 12, "assigned": 38, "rectifying": 64, "submitted": 24}
INTERNAL_OVERDUE = 27
SURROUNDING_OPEN = {"reported": 2, "assigned": 3, "rectifying": 6, "submitted": 3}
SURROUNDING_OVERDUE = 4
DISMISSED = {"internal": 9, "surrounding": 3}

S, H = Hazard.Source, Hazard.Status
# (key area, facility, title, category, severity)
INTERNAL_KINDS = (
    ("gate_room", "一键报警", "门卫室一键式紧急报警装置未与公安联网", "electronic", "high"),
    ("gate_room", "一键报警", "门卫室一键报警按钮损坏", "electronic", "high"),
    ("gate_room", "视频监控", "门卫室视频监控画面模糊", "electronic", "medium"),
    ("gate_room", "值守", "门卫室夜间无人值守", "human", "high"),
    ("entrance", "防冲撞设施", "校门口防冲撞升降柱故障", "physical", "high"),
    ("entrance", "防冲撞设施", "校门口缺少防冲撞隔离桩", "physical", "critical"),
    ("entrance", "视频监控", "主出入口摄像机离线", "electronic", "medium"),
    ("perimeter", "围墙", "围墙破损存在缺口", "physical", "high"),
    ("perimeter", "防攀爬", "围墙防攀爬设施缺失", "physical", "medium"),
    ("outside_gate", "视频监控", "校门外视频监控未覆盖接送区域", "electronic", "medium"),
    ("teaching_area", "视频监控", "教学楼主通道监控存在盲区", "electronic", "medium"),
    ("teaching_area", "消防设施", "教学楼灭火器过期", "fire", "medium"),
    ("teaching_area", "疏散通道", "教学楼安全出口堆放杂物", "fire", "high"),
    ("dormitory", "紧急报警", "宿舍值班室未安装紧急报警装置", "electronic", "high"),
    ("dormitory", "门禁", "宿舍出入口门禁失效", "electronic", "medium"),
    ("canteen", "视频监控", "食堂操作间未安装监控", "food", "medium"),
    ("canteen", "留样", "食堂留样记录不全", "food", "low"),
    ("hazardous_store", "防盗门", "危化品仓库防盗门锁损坏", "physical", "critical"),
    ("hazardous_store", "入侵探测", "实验室入侵探测器失效", "electronic", "high"),
    ("outdoor_crowd", "视频监控", "操场监控探头损坏", "electronic", "low"),
    ("utility_rooms", "配电", "配电室线路老化", "building", "high"),
    ("control_room", "录像存储", "监控中心录像保存不足30天", "electronic", "medium"),
    ("parking", "校车停靠", "校车停靠区无隔离设施", "traffic", "medium"),
)
# (spot kind, title, place, category, severity)
SPOT_KINDS = (
    ("illegal_stalls", "校门口流动摊贩占道经营", "校门东侧人行道", "public_order", "medium"),
    ("illegal_stalls", "校门外无证食品摊点", "校门对面路口", "food", "medium"),
    ("internet_cafe", "学校周边网吧接纳未成年人", "学校北侧商业街", "public_order", "high"),
    ("entertainment", "学校附近KTV违规经营", "学校西侧街道", "public_order", "medium"),
    ("traffic_chaos", "上下学高峰校门口交通拥堵", "校门前道路", "traffic", "high"),
    ("traffic_chaos", "校门口车辆乱停乱放", "校门两侧", "traffic", "medium"),
    ("idle_youths", "社会闲散青少年在校门口聚集", "校门外小广场", "public_order", "high"),
    ("bullying_spot", "放学路段存在拦截勒索学生情况", "学校南侧小巷", "public_order", "critical"),
    ("construction", "校旁施工工地围挡缺失", "学校东侧工地", "building", "medium"),
)
DEPARTMENTS_INSIDE = ("区住房和城乡建设局", "区市场监督管理局", "区消防救援大队")
DEPARTMENTS_AROUND = ("区综合行政执法局", "区市场监督管理局", "交警大队", "区文化和旅游局")


def _near(rng: random.Random, school: School) -> tuple[float | None, float | None, int]:
    """A point 60–600 m from the school gate, and that distance."""
    distance = rng.randint(60, 600)
    if school.longitude is None or school.latitude is None:
        return None, None, distance
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = distance * math.cos(bearing) / 111_000
    dlon = distance * math.sin(bearing) / (111_000 * math.cos(math.radians(school.latitude)))
    return round(school.longitude + dlon, 6), round(school.latitude + dlat, 6), distance


def _overdue_days_at_most() -> float:
    """How far past its deadline an overdue demo hazard may be: under the escalation
    repeat (half a day to spare for the hour it was assigned), so it stays escalated once."""
    return max(2.0, deadlines.repeat_days() - 0.5)


class _Builder:
    def __init__(
        self, rng: random.Random, schools: Sequence[School], now: dt.datetime, bureaus: dict
    ) -> None:
        self.rng, self.schools, self.now, self.bureaus = rng, schools, now, bureaus
        self.hazards: list[Hazard] = []
        self.events: list[list[tuple[dt.datetime, str, str, Organisation | None]]] = []

    def _base(self, kind: str) -> Hazard:
        rng = self.rng
        school = rng.choice(self.schools)
        if kind == Hazard.Kind.INTERNAL:
            area, facility, title, category, severity = rng.choice(INTERNAL_KINDS)
            source = rng.choices(
                [S.SELF_CHECK, S.EDUCATION_INSPECTION, S.POLICE_INSPECTION, S.ONLINE_INSPECTION],
                weights=[45, 25, 20, 10],
            )[0]
            hazard = Hazard(
                kind=kind, school=school, title=title, category=category, severity=severity,
                key_area=area, facility=facility, source=source,
                description=f"{title}，需按期整改。",
            )  # fmt: skip
            if rng.random() < 0.9 or school.police_station_id is None:
                hazard.responsible_kind = Hazard.Responsible.SCHOOL
            else:
                hazard.responsible_kind = Hazard.Responsible.DEPARTMENT
                hazard.responsible_department = rng.choice(DEPARTMENTS_INSIDE)
        else:
            spot, title, place, category, severity = rng.choice(SPOT_KINDS)
            lon, lat, distance = _near(rng, school)
            source = rng.choices([S.POLICE_INSPECTION, S.CITIZEN_REPORT], weights=[70, 30])[0]
            hazard = Hazard(
                kind=kind, school=school, title=title, category=category, severity=severity,
                key_area="surroundings", spot_kind=spot, location=f"{school.name}{place}",
                distance_m=distance, longitude=lon, latitude=lat, source=source,
                description=f"{title}（距校门约{distance}米）。",
            )  # fmt: skip
            if source == S.CITIZEN_REPORT:
                hazard.citizen_name = "群众"
            if school.police_station_id and rng.random() < 0.7:
                hazard.responsible_kind = Hazard.Responsible.POLICE_STATION
                hazard.responsible_organisation_id = school.police_station_id
            else:
                hazard.responsible_kind = Hazard.Responsible.DEPARTMENT
                hazard.responsible_department = rng.choice(DEPARTMENTS_AROUND)
        hazard.verifier_side = services.verifier_side_for(hazard.source, kind)
        return hazard

    def add(self, kind: str, status: str, *, overdue: bool = False) -> None:
        rng, now = self.rng, self.now
        hazard = self._base(kind)
        days = services.deadline_days(hazard.severity)
        if status in (H.CLOSED, H.DISMISSED):
            reported = now - dt.timedelta(days=rng.uniform(days + 12, 365))
        elif overdue:
            # Overdue by less than the escalation repeat: escalated once, at the deadline,
            # and not due again yet (a later one would be re-escalated by the first sweep).
            reported = now - dt.timedelta(days=days + rng.uniform(2, _overdue_days_at_most()))
        elif status == H.SUBMITTED:
            reported = now - dt.timedelta(days=rng.uniform(2, days))
        else:
            reported = now - dt.timedelta(days=rng.uniform(0.2, max(days - 3, 1)))
        hazard.reported_at = reported
        hazard.status = status
        steps: list[tuple[dt.datetime, str, str, Organisation | None]] = [
            (reported, HazardEvent.Step.REPORTED, hazard.description, None)
        ]
        self.hazards.append(hazard)
        self.events.append(steps)
        if status == H.REPORTED:
            hazard.responsible_kind = hazard.responsible_department = ""
            hazard.responsible_organisation_id = None
            return
        if status == H.DISMISSED:
            at = reported + dt.timedelta(days=rng.uniform(0.2, 2))
            hazard.closed_at = at
            hazard.responsible_kind = hazard.responsible_department = ""
            hazard.responsible_organisation_id = None
            steps.append((at, HazardEvent.Step.DISMISSED, "重复上报，已合并处理。", None))
            return
        assigned = min(reported + dt.timedelta(hours=rng.uniform(1, 36)), now)  # not ahead
        hazard.assigned_at = assigned
        hazard.deadline = assigned + dt.timedelta(days=days)
        hazard.next_escalation_at = hazard.deadline
        steps.append((assigned, HazardEvent.Step.ASSIGNED, "", None))
        if status == H.ASSIGNED:
            self._overdue(hazard, steps, overdue)
            return
        started = assigned + dt.timedelta(hours=rng.uniform(2, 72))
        hazard.started_at = min(started, now)
        steps.append((hazard.started_at, HazardEvent.Step.STARTED, "", None))
        if status == H.RECTIFYING:
            self._overdue(hazard, steps, overdue)
            return
        late = rng.random() < 0.1
        span = (hazard.deadline - hazard.started_at).total_seconds()
        submitted = hazard.started_at + dt.timedelta(
            seconds=span * (rng.uniform(1.05, 1.6) if late else rng.uniform(0.2, 0.95))
        )
        submitted = min(submitted, now - dt.timedelta(hours=1))
        hazard.submitted_at = submitted
        steps.append((submitted, HazardEvent.Step.SUBMITTED, "已完成整改，附整改前后照片。", None))
        if status == H.SUBMITTED:
            hazard.next_escalation_at = None
            return
        verified = submitted + dt.timedelta(hours=rng.uniform(4, 96))
        closed = verified + dt.timedelta(hours=rng.uniform(1, 48))
        hazard.verified_at, hazard.closed_at = verified, closed
        hazard.next_escalation_at = None
        steps.append((verified, HazardEvent.Step.VERIFIED, "现场复核，整改到位。", None))
        steps.append((closed, HazardEvent.Step.CLOSED, "", None))

    def _overdue(self, hazard: Hazard, steps: list, overdue: bool) -> None:
        if not overdue:
            if hazard.deadline <= self.now:  # keep "not overdue" honest
                hazard.deadline = self.now + dt.timedelta(days=self.rng.uniform(1, 6))
                hazard.next_escalation_at = hazard.deadline
            # A deadline already inside the reminder window was reminded when the window
            # opened: the platform's first sweep has nothing to catch up on.
            window = dt.timedelta(hours=deadlines.reminder_hours())
            if hazard.deadline - window <= self.now:
                hazard.reminded_at = max(hazard.deadline - window, steps[-1][0])
                steps.append(
                    (hazard.reminded_at, HazardEvent.Step.REMINDED, "整改期限临近提醒。", None)
                )
            return
        if hazard.deadline >= self.now:
            hazard.deadline = self.now - dt.timedelta(
                days=self.rng.uniform(1, _overdue_days_at_most())
            )
        target = (
            self.bureaus.get(hazard.school.region_id)
            if hazard.responsible_kind == Hazard.Responsible.SCHOOL
            else hazard.school.police_station.parent
            if hazard.school.police_station_id
            else None
        )
        hazard.reminded_at = hazard.deadline - dt.timedelta(hours=deadlines.reminder_hours())
        hazard.escalation_level, hazard.escalated_to = 1, target
        # The platform escalates again ``repeat_days`` after the deadline: still ahead.
        hazard.next_escalation_at = hazard.deadline + dt.timedelta(days=deadlines.repeat_days())
        steps.append((hazard.reminded_at, HazardEvent.Step.REMINDED, "整改期限临近提醒。", None))
        steps.append((hazard.deadline, HazardEvent.Step.ESCALATED, "逾期未整改，已督办。", target))


def build(rng: random.Random, schools: Sequence[School], now: dt.datetime | None = None) -> int:
    """Write the demo hazards for ``schools`` (with region and police station loaded);
    returns the number of hazards written."""
    now = now or clock.now()
    if not schools:
        return 0
    bureaus = {
        o.region_id: o
        for o in Organisation.objects.filter(kind=Organisation.Kind.EDUCATION_BUREAU).order_by(
            "-pk"
        )
    }
    builder = _Builder(rng, schools, now, bureaus)
    plans = (
        (Hazard.Kind.INTERNAL, INTERNAL_RECTIFIED, INTERNAL_OPEN, INTERNAL_OVERDUE),
        (Hazard.Kind.SURROUNDING, SURROUNDING_RECTIFIED, SURROUNDING_OPEN, SURROUNDING_OVERDUE),
    )
    for kind, rectified, still_open, overdue in plans:
        for _ in range(rectified):
            builder.add(kind, H.CLOSED)
        late = overdue
        for status, count in still_open.items():
            for _ in range(count):
                is_late = status in (H.ASSIGNED, H.RECTIFYING) and late > 0
                late -= is_late
                builder.add(kind, status, overdue=is_late)
        for _ in range(DISMISSED[kind]):
            builder.add(kind, H.DISMISSED)
    for n, hazard in enumerate(builder.hazards):
        hazard.reference = f"tmp-{n}"
    Hazard.objects.bulk_create(builder.hazards, batch_size=500)
    numbered = Concat(Value("-"), LPad(Cast("id", CharField()), 6, Value("0")))
    for kind, prefix in ((Hazard.Kind.INTERNAL, "YH"), (Hazard.Kind.SURROUNDING, "LD")):
        Hazard.objects.filter(reference__startswith="tmp-", kind=kind).update(
            reference=Concat(Value(prefix), numbered, output_field=CharField())
        )
    events = [
        HazardEvent(hazard=hazard, at=at, step=step, note=note, organisation=org)
        for hazard, steps in zip(builder.hazards, builder.events, strict=True)
        for at, step, note, org in steps
    ]
    HazardEvent.objects.bulk_create(events, batch_size=1000)
    return len(builder.hazards)


# The timeline of an open demo hazard: every moment that is moved with the demo's today.
OPEN_TIMELINE = (
    "reported_at",
    "assigned_at",
    "deadline",
    "started_at",
    "submitted_at",
    "reminded_at",
    "next_escalation_at",
)
CARRY_AFTER = dt.timedelta(hours=1)  # a shorter gap is a restart, not days off


def carry_forward(now: dt.datetime) -> int:
    """A demo started days after it was seeded (or last ran): the open demo hazards'
    timelines move forward by the gap, as if the days in between had not passed, so no
    deadline expires merely because the platform was off (the tours and alarms fill the
    gap with history instead). The gap is measured from the last thing that happened to
    a demo hazard (seeded, reminded, escalated); demo hazards are those no person
    reported. Returns the number of hazards moved."""
    demo = Hazard.objects.filter(reported_by__isnull=True)
    last = HazardEvent.objects.filter(hazard__in=demo, by__isnull=True, at__lte=now).aggregate(
        at=Max("at")
    )
    if last["at"] is None or now - last["at"] < CARRY_AFTER:
        return 0
    gap = dt.timedelta(minutes=int((now - last["at"]).total_seconds() // 60))
    with transaction.atomic():
        open_demo = demo.filter(status__in=Hazard.OPEN_STATUSES)
        events = HazardEvent.objects.filter(hazard__in=open_demo.values("pk"))
        events.update(at=F("at") + gap)
        return open_demo.update(**{name: F(name) + gap for name in OPEN_TIMELINE})


def delete_city_hazards(region_prefix: str) -> dict[str, int]:
    """Hazards, their photos and the campaigns of the city's schools, before the demo
    city is deleted: plain DELETEs (thousands of rows; the caller audits the reset)."""
    hazards = Hazard.objects.filter(school__region__code__startswith=region_prefix)
    counts: dict[str, int] = {}
    photos = HazardPhoto.objects.filter(hazard__in=hazards.values("pk"))
    for name in photos.values_list("image", flat=True):
        default_storage.delete(name)
    for model in (HazardPhoto, HazardEvent):
        rows = model.objects.filter(hazard__in=hazards.values("pk"))
        counts[model._meta.model_name] = rows._raw_delete(rows.db)
    counts["hazard"] = hazards._raw_delete(hazards.db)
    checklists = Checklist.objects.filter(school__region__code__startswith=region_prefix)
    campaigns = list(checklists.values_list("campaign_id", flat=True).distinct())
    answers = ChecklistAnswer.objects.filter(checklist__in=checklists.values("pk"))
    counts["checklistanswer"] = answers._raw_delete(answers.db)
    counts["checklist"] = checklists._raw_delete(checklists.db)
    empty = Campaign.objects.filter(pk__in=campaigns, checklists__isnull=True)
    counts["campaign"] = empty._raw_delete(empty.db)
    return counts


def seed_city(seed: int, region_prefix: str) -> int:
    """The demo hazards of every school under ``region_prefix`` (one transaction)."""
    schools = list(
        School.objects.filter(region__code__startswith=region_prefix)
        .select_related("region", "police_station__parent")
        .order_by("pk")
    )
    with transaction.atomic():
        return build(random.Random(f"hazards-{seed}"), schools)
