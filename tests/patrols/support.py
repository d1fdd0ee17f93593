"""A school with a guard tour and a gate post, and a clock that stands still."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from campus_safety.patrols.models import (
    Checkpoint,
    PeakPost,
    PostMember,
    RouteStop,
    TourPlan,
    TourRoute,
)
from tests.factories import SchoolFactory, UserFactory

ZONE = ZoneInfo("Asia/Shanghai")
GATE = (116.3, 37.45)  # the post's position (longitude, latitude)


def local(day: dt.date, hhmm: str, seconds: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), ZONE) + dt.timedelta(
        seconds=seconds
    )


class FrozenClock:
    """``campus_safety.clock.now`` pinned to a settable instant (exact clock edges)."""

    def __init__(self, monkeypatch, at: dt.datetime) -> None:
        from campus_safety import clock

        self.at = at
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def set(self, at: dt.datetime) -> None:
        self.at = at

    def advance(self, **kwargs: float) -> None:
        self.at += dt.timedelta(**kwargs)


def tour(school=None, *, starts=("08:00",), duration=30, grace=10, codes=("A", "B", "C")):
    """A route over checkpoints ``codes`` (in that order) walked at ``starts``."""
    school = school or SchoolFactory()
    checkpoints = [
        Checkpoint.objects.create(school=school, name=f"巡更点{c}", code=c) for c in codes
    ]
    route = TourRoute.objects.create(school=school, name="周界一圈")
    for n, checkpoint in enumerate(checkpoints):
        RouteStop.objects.create(route=route, checkpoint=checkpoint, position=n + 1)
    plan = TourPlan.objects.create(
        school=school,
        route=route,
        name="日常巡更",
        round_starts=list(starts),
        duration_minutes=duration,
        grace_minutes=grace,
    )
    return school, checkpoints, plan


def gate_post(school=None, *, radius=100, required=None, members=()):
    """A post at GATE with members [(user, person type)]."""
    school = school or SchoolFactory()
    post = PeakPost.objects.create(
        school=school,
        name="南门护学岗",
        longitude=GATE[0],
        latitude=GATE[1],
        radius_m=radius,
        required=required or {"police": 1, "guard": 1},
    )
    for user, kind in members:
        PostMember.objects.create(post=post, user=user, person_type=kind)
    return post


def officer(station=None, **kwargs):
    scope = {"organisation": station} if station is not None else {}
    return UserFactory(role="police_officer", **scope, **kwargs)


def metres_north(metres: float) -> tuple[float, float]:
    """A point ``metres`` due north of the gate (1° latitude ≈ 111,195 m)."""
    return GATE[0], GATE[1] + metres / 111_195.08


def scope_matrix_objects(school, station, mark) -> dict:
    """One of each patrols record for tests/accounts/test_scope_matrix.py, marked so a
    leak shows (the mark is in names and notes)."""
    from campus_safety import clock
    from campus_safety.patrols import services
    from campus_safety.patrols.models import (
        FieldStop,
        GridRoute,
        PatrolAlarm,
        PatrolLog,
        PostAssignment,
        PostCheckIn,
        TourRound,
        TourScan,
    )

    now = clock.now()
    _checkpoint_school, checkpoints, plan = tour(school, codes=(f"{mark}CP",))
    services.ensure_rounds(services.local_day(now))
    round_ = TourRound.objects.filter(plan=plan).first()
    scan = TourScan.objects.create(
        school=school, checkpoint=checkpoints[0], code=checkpoints[0].code, source="device",
        source_key="d0", event_id=f"{mark}-1", occurred_at=now, received_at=now,
    )  # fmt: skip
    alarm = PatrolAlarm.objects.create(
        school=school, round=round_, checkpoint=checkpoints[0], raised_at=now, note=mark
    )
    person = UserFactory(username=f"{mark}-duty", role="guard", school=school)
    post = gate_post(school, members=[(person, "guard")])
    post.name = f"{mark}岗"
    post.save()
    assignment = PostAssignment.objects.create(
        post=post, school=school, day=services.local_day(now), peak="arrival",
        starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=1),
        person_type="guard", user=person, note=mark,
    )  # fmt: skip
    other = PostAssignment.objects.create(
        post=post, school=school, day=services.local_day(now), peak="dismissal",
        starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=1),
        person_type="guard", user=UserFactory(username=f"{mark}-duty2", role="guard"), note=mark,
    )  # fmt: skip
    check_in = PostCheckIn.objects.create(
        assignment=other, post=post, school=school, user=other.user, person_type="guard",
        checked_in_at=now, in_longitude=GATE[0], in_latitude=GATE[1], in_distance_m=0, note=mark,
    )  # fmt: skip
    officer_user = UserFactory(
        username=f"{mark}-officer", role="police_officer", organisation=station
    )
    route = GridRoute.objects.create(organisation=station, name=f"{mark}巡逻线")
    route.schools.add(school)
    log = PatrolLog.objects.create(
        organisation=station, route=route, officer=officer_user, started_at=now,
        track=[[GATE[0], GATE[1], now.isoformat()]],
    )  # fmt: skip
    stop = FieldStop.objects.create(
        organisation=station, officer=officer_user, at=now, place=f"{mark}路口",
        nearest_school=school, subject=f"{mark}可疑人员", outcome="released",
    )  # fmt: skip
    return {
        "checkpoint": checkpoints[0],
        "tour_route": plan.route,
        "tour_plan": plan,
        "tour_round": round_,
        "tour_scan": scan,
        "patrol_alarm": alarm,
        "gate_post": post,
        "post_assignment": assignment,
        "post_check_in": check_in,
        "grid_route": route,
        "patrol_log": log,
        "field_stop": stop,
    }
