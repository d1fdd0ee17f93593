"""The demo city's police–school linkage (issue #20): police rooms for the schools that
have one, a term of duty logs at the demo station's rooms, evacuation drills and plans,
safety lectures, a handful of clearly fictitious 训诫教育 records at the demo school, and
notices at every stage (sent, read, confirmed, overdue, a safety warning on the banner).

Seeding writes in bulk (no signals: ``demo.seed`` stands for it all, as for the rest of
the city). Every student name says 虚构 (fictitious).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from django.db.models import Q
from django.utils import timezone

from campus_safety import clock
from campus_safety.linkage import drill_rules
from campus_safety.linkage.models import (
    DisciplineRecord,
    Drill,
    DutyLog,
    EmergencyPlan,
    FollowUp,
    Lecture,
    Notice,
    NoticeReceipt,
    NoticeRelay,
    PoliceRoom,
)
from campus_safety.orgs.models import School
from campus_safety.simulator import demo_users

DUTY_KINDS = ("visit", "principal_talk", "campus_patrol", "visit", "campus_patrol", "lecture")
DUTY_NOTES = ("上学高峰巡查校门", "与校长座谈安全形势", "检查门卫室一键报警", "校园周边走访")
TOPICS = ("anti_bullying", "anti_fraud", "traffic", "drowning", "rule_of_law")
LECTURERS = ("王警官", "李警官", "张律师（法治副校长）", "赵警官", "刘法官（法制辅导员）")
FICTITIOUS = (
    ("示例学生甲（虚构）", "bullying", "bad", "课间多次推搡同学（虚构情节）"),
    ("示例学生乙（虚构）", "violence", "serious", "放学后在校外打架（虚构情节）"),
    ("示例学生丙（虚构）", "truancy", "bad", "连续旷课三天，夜不归宿（虚构情节）"),
    ("示例学生丁（虚构）", "extortion", "serious", "向低年级同学索要财物（虚构情节）"),
    ("示例学生戊（虚构）", "weapon", "serious", "携带管制刀具进校（虚构情节）"),
)


def _user(users: Sequence[Any], name: str) -> Any:
    return next((u for u in users if u.username == name), None)


def write_linkage(
    rng: random.Random, schools: Sequence[School], users: Sequence[Any]
) -> dict[str, int]:
    """Seed the linkage rows for ``schools`` (after the demo users exist)."""
    now = clock.now()
    today = timezone.localdate(now)
    police, school_user, edu = (_user(users, n) for n in ("police", "school", "edu"))
    station_id = police.organisation_id if police else None
    rooms = PoliceRoom.objects.bulk_create(
        PoliceRoom(
            school=s,
            location=rng.choice(("校门东侧", "传达室旁", "综合楼一楼")),
            counsellor_name=s.legal_vice_principal,
            hours="07:00-18:00",
            opened_on=dt.date(2019 + rng.randrange(5), 9, 1),
        )
        for s in schools
        if s.has_police_room
    )
    station_rooms = [r for r in rooms if r.school.police_station_id == station_id]
    if police:
        PoliceRoom.officers.through.objects.bulk_create(
            PoliceRoom.officers.through(policeroom_id=r.pk, user_id=police.pk)
            for r in station_rooms
        )
    logs = []
    for room in station_rooms if police else []:
        for week in range(16):  # a term of weekly visits
            if rng.random() < 0.8:
                logs.append(
                    DutyLog(
                        room=room,
                        officer=police,
                        at=now
                        - dt.timedelta(days=7 * week + rng.randrange(5), hours=rng.randrange(8)),
                        kind=rng.choice(DUTY_KINDS),
                        notes=rng.choice(DUTY_NOTES),
                    )
                )
    DutyLog.objects.bulk_create(logs)
    counts = {"police_rooms": len(rooms), "duty_logs": len(logs)}
    counts["drills"] = _drills(rng, schools, today, now)
    counts["plans"] = _plans(rng, schools, school_user, edu, now)
    counts["lectures"] = _lectures(rng, schools, police, station_id, today)
    counts["discipline"] = _discipline(rng, school_user, police, today, now)
    counts["notices"] = _notices(rng, schools, police, edu, school_user, now)
    counts["notice_relays"] = _chains(rng, schools, users, now)
    return counts


def _drills(rng: random.Random, schools: Sequence[School], today: dt.date, now: dt.datetime) -> int:
    """Evacuation drills this term: most schools keep to their rule, some miss a month."""
    term = drill_rules.default_term(today)
    zone = timezone.get_current_timezone()
    rows = []
    for school in schools:
        period = drill_rules.DEFAULT_PERIODS.get(school.kind, drill_rules.MONTH)
        diligence = rng.random()
        for start, end in drill_rules.periods_of(term, period):
            if start > today or rng.random() > 0.55 + 0.45 * diligence:
                continue
            last = min(end, today)
            day = start + dt.timedelta(days=rng.randrange((last - start).days + 1))
            held = dt.datetime.combine(day, dt.time(10, rng.randrange(60)), zone)
            if held > now:
                continue
            rows.append(
                Drill(
                    school=school,
                    kind=rng.choice(("fire", "earthquake", "fire", "crowding")),
                    held_at=held,
                    evacuation_seconds=rng.randint(75, 260),
                    participants=max(school.students + school.staff - rng.randrange(30), 1),
                    problems=rng.choice(("", "", "", "个别楼梯口拥堵")),
                )
            )
    Drill.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _plans(rng, schools, school_user, edu, now) -> int:
    rows = []
    for school in schools:
        for kind in ("fire", "earthquake", "intrusion"):
            if rng.random() < 0.7:
                approved = rng.random() < 0.85
                rows.append(
                    EmergencyPlan(
                        school=school,
                        kind=kind,
                        summary="组织机构、预警、处置流程、疏散路线与集合点",
                        status="approved" if approved else "submitted",
                        submitted_at=now - dt.timedelta(days=rng.randint(10, 200)),
                        submitted_by=school_user
                        if school_user and school.pk == school_user.school_id
                        else None,
                        decided_at=now - dt.timedelta(days=rng.randint(1, 9)) if approved else None,
                        decided_by=edu if approved else None,
                    )
                )
    EmergencyPlan.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _lectures(rng, schools, police, station_id, today) -> int:
    rows = []
    for school in schools:
        for _ in range(rng.choice((0, 1, 1, 2))):
            ours = police is not None and school.police_station_id == station_id
            rows.append(
                Lecture(
                    school=school,
                    officer=police if ours else None,
                    lecturer=str(police) if ours else rng.choice(LECTURERS),
                    held_on=today - dt.timedelta(days=rng.randrange(120)),
                    topic=rng.choice(TOPICS),
                    audience=rng.randint(40, max(school.students, 41)),
                )
            )
    Lecture.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _discipline(rng, school_user, police, today, now) -> int:
    """A handful of fictitious records at the demo school (its user is the contact)."""
    if school_user is None or police is None or school_user.school is None:
        return 0
    school = school_user.school
    records = []
    for i, (name, behaviour, level, facts) in enumerate(FICTITIOUS):
        record = DisciplineRecord(
            reference=f"XJDEMO{i + 1:04d}",
            school=school,
            station_id=school.police_station_id or police.organisation_id,
            student_name=name,
            class_name=f"{rng.choice('三四五六')}年级{rng.randint(1, 6)}班",
            age=rng.randint(9, 13),
            level=level,
            behaviour=behaviour,
            facts=facts,
            occurred_on=today - dt.timedelta(days=10 + 20 * i),
            guardian="present" if i % 2 == 0 else "informed",
            measures=["reprimand", "pledge"] if level == "serious" else ["reprimand", "apology"],
            designated_contact=school_user,
            created_by=police,
            created_at=now - dt.timedelta(days=10 + 20 * i),
            follow_up_until=today + dt.timedelta(days=365 - 10 - 20 * i),
        )
        record.save()
        record.officers.add(police)
        FollowUp.objects.create(
            record=record,
            due_on=today + dt.timedelta(days=7 * (i - 2)),
            done_at=now - dt.timedelta(days=1) if i > 2 else None,
            done_by=police if i > 2 else None,
            outcome="情绪稳定，已向同学道歉" if i > 2 else "",
        )
        records.append(record)
    return len(records)


def _notices(rng, schools, police, edu, school_user, now) -> int:
    """Notices at every stage: one half confirmed, one overdue, a warning on the banner."""
    count = 0
    district = [s for s in schools if edu and s.region_id == _region_of(edu)]
    station = [s for s in schools if police and s.police_station_id == police.organisation_id]
    plans = [
        (edu, district, "关于开展防溺水专项检查的通知", "notice", dt.timedelta(days=3), 0.5),
        (edu, district, "关于报送秋季学期应急演练计划的通知", "notice", -dt.timedelta(days=2), 0.8),
        (police, station, "近期校园周边电信诈骗案件通报", "notice", dt.timedelta(days=5), 0.3),
        (police, station, "暴雨蓝色预警：放学时段注意学生安全", "warning", None, 0.2),
    ]
    for sender, targets, title, kind, deadline, confirmed_share in plans:
        if sender is None or not targets:
            continue
        created = now - dt.timedelta(days=5 if deadline and deadline.days < 0 else 1)
        notice = Notice.objects.create(
            kind=kind,
            title=title,
            body=title + "。请各校认真落实并在截止时间前确认。（演示数据）",
            target={"schools": [s.pk for s in targets]},
            created_by=sender,
            sender_organisation_id=sender.organisation_id,
            created_at=created,
            confirm_by=now + deadline if deadline is not None else None,
            banner_until=now + dt.timedelta(hours=12) if kind == "warning" else None,
        )
        receipts = []
        for school in targets:
            confirmed = rng.random() < confirmed_share and school.pk != getattr(
                school_user, "school_id", None
            )
            read = confirmed or rng.random() < 0.3
            receipts.append(
                NoticeReceipt(
                    notice=notice,
                    school=school,
                    read_at=created + dt.timedelta(hours=2) if read else None,
                    confirmed_at=created + dt.timedelta(hours=3) if confirmed else None,
                )
            )
        NoticeReceipt.objects.bulk_create(receipts, batch_size=2000)
        count += 1
    return count


def _chains(rng: random.Random, schools: Sequence[School], users: Sequence[Any], now: Any) -> int:
    """Two forwarding chains (转发), every time measured back from ``now`` so the demo
    reads the same whenever it is seeded:

    * the city education bureau → every district bureau → its schools; the demo
      district (``edu``) forwarded to its schools and passed it to the demo station,
      which forwarded too (its schools hold two copies: the roll-up counts them once);
      a few districts have not read it, a few have read and not forwarded.
    * the city police bureau (``dispatcher``) → every police sub-bureau → its district's
      schools and its stations → their schools; the demo district's sub-bureau passed
      it on, the demo station (``police``) has read it and not forwarded yet, so the
      demo can forward it.

    Returns the relays written."""
    from campus_safety.orgs.models import Organisation

    admin, dispatcher, police, edu = (
        _user(users, n) for n in ("admin", "dispatcher", "police", "edu")
    )
    if not (admin and dispatcher and police and edu and edu.organisation_id):
        return 0
    district_bureau = edu.organisation
    city_bureau = district_bureau.parent
    if city_bureau is None:
        return 0
    units = list(
        Organisation.objects.filter(
            kind__in=(
                Organisation.Kind.EDUCATION_BUREAU,
                Organisation.Kind.POLICE_SUB_BUREAU,
                Organisation.Kind.POLICE_STATION,
            ),
            region__code__startswith=city_bureau.region.code[:4],
        ).select_related("region")
    )
    by_region: dict[int, list[School]] = {}
    by_station: dict[int, list[School]] = {}
    for school in schools:
        by_region.setdefault(school.region_id, []).append(school)
        by_station.setdefault(school.police_station_id, []).append(school)
    written = _ChainWriter(rng, now)
    deadline = now + dt.timedelta(days=2)

    # 1. The education chain: city bureau → district bureaus → schools.
    districts = [
        u
        for u in units
        if u.kind == Organisation.Kind.EDUCATION_BUREAU and u.parent_id == city_bureau.pk
    ]
    root = written.notice(
        admin,
        city_bureau,
        "关于做好寒假前校园安全工作的通知",
        hours_ago=30,
        deadline=deadline,
        target={"units": [d.pk for d in districts]},
    )
    for i, district in enumerate(sorted(districts, key=lambda u: u.region.code)):
        mine = district.pk == district_bureau.pk
        stage = "forwarded" if mine else ("unread", "read", *("forwarded",) * 6)[i % 8]
        station = police.organisation
        child = written.relay(
            root, district, edu if mine else None, stage, units=[station] if mine else ()
        )
        if child is None:
            continue
        written.receipts(child, by_region.get(district.region_id, []))
        if mine:  # the demo district also passed it to the demo station, which forwarded
            grandchild = written.relay(child, station, police, "forwarded")
            if grandchild is not None:
                written.receipts(grandchild, by_station.get(station.pk, []))

    # 2. The police chain: city bureau → sub-bureaus → stations → schools.
    police_bureau = dispatcher.organisation
    sub_bureaus = [
        u
        for u in units
        if u.kind == Organisation.Kind.POLICE_SUB_BUREAU and u.parent_id == police_bureau.pk
    ]
    stations_of: dict[int, list[Any]] = {}
    for unit in units:
        if unit.kind == Organisation.Kind.POLICE_STATION:
            stations_of.setdefault(unit.parent_id, []).append(unit)
    root = written.notice(
        dispatcher,
        police_bureau,
        "关于开展校园周边治安秩序集中整治的通报",
        hours_ago=20,
        deadline=deadline,
        target={"units": [b.pk for b in sub_bureaus]},
    )
    demo_sub_bureau = police.organisation.parent_id
    for i, sub in enumerate(sorted(sub_bureaus, key=lambda u: u.region.code)):
        mine = sub.pk == demo_sub_bureau
        stage = "forwarded" if mine else ("read", *("forwarded",) * 4)[i % 5]
        below = stations_of.get(sub.pk, [])
        child = written.relay(root, sub, None, stage, units=below)
        if child is None:
            continue
        written.receipts(child, by_region.get(sub.region_id, []))
        for j, station in enumerate(sorted(below, key=lambda u: u.name)):
            if station.pk == police.organisation_id:
                written.relay(child, station, police, "read")  # left for the demo to forward
                continue
            step = ("unread", "forwarded", "forwarded", "read")[j % 4]
            grandchild = written.relay(child, station, None, step)
            if grandchild is not None:
                written.receipts(grandchild, by_station.get(station.pk, []))
    written.flush()
    return written.relays


class _ChainWriter:
    """Writes a chain's notices as it goes and its receipts in bulk; every moment lies
    between the notice's sending and ``now``."""

    def __init__(self, rng: random.Random, now: Any) -> None:
        self.rng, self.now = rng, now
        self.relays = 0
        self.pending: list[NoticeReceipt] = []

    def notice(
        self,
        sender: Any,
        unit: Any,
        title: str,
        *,
        hours_ago: float,
        deadline: Any,
        target: dict[str, Any],
        parent: Notice | None = None,
        body: str = "",
    ) -> Notice:
        return Notice.objects.create(
            kind="notice",
            title=title,
            body=body or f"{title}。请转发至所辖单位和学校，并在截止时间前确认。（演示数据）",
            target=target,
            created_by=sender,
            sender_organisation=unit,
            created_at=self.now - dt.timedelta(hours=hours_ago),
            confirm_by=deadline,
            parent=parent,
        )

    def relay(
        self, notice: Notice, unit: Any, by: Any, stage: str, units: Sequence[Any] = ()
    ) -> Notice | None:
        """Pass ``notice`` to ``unit`` at ``stage`` (unread / read / forwarded); the
        forwarded copy (to the unit's schools, or ``units`` below it) is returned."""
        since = (self.now - notice.created_at).total_seconds() / 3600
        read_at = notice.created_at + dt.timedelta(hours=since * self.rng.uniform(0.05, 0.3))
        forwarded_at = read_at + dt.timedelta(hours=since * self.rng.uniform(0.05, 0.3))
        relay = NoticeRelay(notice=notice, organisation=unit)
        child = None
        if stage in {"read", "forwarded"}:
            relay.read_at, relay.read_by = read_at, by
        if stage == "forwarded":
            target: dict[str, Any] = (
                {"stations": [unit.pk]}
                if unit.kind == "police_station"
                else {"regions": [unit.region.code]}
            )
            if units:  # passed on as well (as ``notices.forward`` does)
                target["units"] = [u.pk for u in units]
            child = Notice.objects.create(
                kind=notice.kind,
                title=notice.title,
                body=f"{unit.name}：请认真落实。\n\n{notice.body}",
                target=target,
                created_by=by or notice.created_by,
                sender_organisation=unit,
                created_at=forwarded_at,
                confirm_by=notice.confirm_by,
                parent=notice,
            )
            relay.forwarded, relay.forwarded_at, relay.forwarded_by = child, forwarded_at, by
        relay.save()
        self.relays += 1
        return child

    def receipts(self, notice: Notice, schools: Sequence[School]) -> None:
        since = (self.now - notice.created_at).total_seconds() / 3600
        for school in schools:
            roll = self.rng.random()
            read = roll < 0.75
            confirmed = roll < 0.5
            read_at = notice.created_at + dt.timedelta(hours=since * self.rng.uniform(0.1, 0.6))
            self.pending.append(
                NoticeReceipt(
                    notice=notice,
                    school=school,
                    read_at=read_at if read else None,
                    confirmed_at=read_at + dt.timedelta(hours=since * 0.2) if confirmed else None,
                )
            )

    def flush(self) -> None:
        NoticeReceipt.objects.bulk_create(self.pending, batch_size=2000)
        self.pending = []


def _region_of(user: Any) -> int | None:
    org = getattr(user, "organisation", None)
    return org.region_id if org is not None else None


def delete_city_linkage(prefix: str) -> dict[str, int]:
    """Remove the linkage rows of the demo city's schools before a re-seed."""
    in_city = {"school__region__code__startswith": prefix}
    counts = {}
    sent = NoticeReceipt.objects.filter(**in_city).values("notice_id")
    passed = NoticeRelay.objects.filter(organisation__region__code__startswith=prefix).values(
        "notice_id"
    )
    # and the chains' copies: sent by the city's units or by the demo users, wherever
    # they went (a forwarded copy may reach no school of its own)
    counts["notice"] = Notice.objects.filter(
        Q(pk__in=sent)
        | Q(pk__in=passed)
        | Q(sender_organisation__region__code__startswith=prefix)
        | Q(created_by__username__in=demo_users.USERNAMES)
    ).delete()[0]
    for model in (DisciplineRecord, Drill, EmergencyPlan, Lecture, PoliceRoom):
        counts[model._meta.model_name] = model.objects.filter(**in_city).delete()[0]
    return counts
