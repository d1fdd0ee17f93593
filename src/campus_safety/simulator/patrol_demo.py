"""The demo city's patrols (seed-demo step): a term and its holidays, a guard tour at
every school (checkpoints, route, plan; a night plan at boarding schools), a 护学岗 post
at every main gate with its people, and police grid patrols, patrol logs and field
stops in the central district. What happened on them — rounds walked, rosters and
check-ins up to now — is the demo's day (demo_day.py), made at seeding and again
whenever the demo starts.

Deterministic from the seed (and today's date); bulk inserts keep it to a few seconds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections import defaultdict
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from campus_safety import clock
from campus_safety.accounts.models import User
from campus_safety.devices.models import Device
from campus_safety.orgs.models import School
from campus_safety.patrols.bulk import insert_rows
from campus_safety.patrols.models import (
    Checkpoint,
    FieldStop,
    GridRoute,
    Holiday,
    PatrolAlarm,
    PatrolLog,
    PeakPost,
    PostAssignment,
    PostCheckIn,
    PostMember,
    RouteStop,
    Term,
    TourPlan,
    TourRound,
    TourRoute,
    TourScan,
)
from campus_safety.patrols.post_rules import distance_m

CITY_PREFIX = "3714"
URBAN_DISTRICT = "371402"  # 德城区: on the police grid-patrol routes
USER_PREFIX = "hx-"  # the demo's post people (护学岗); removed with the city
BATCH = 2000
DAY_PLAN = ["07:00", "10:00", "12:30", "16:30", "19:00"]
NIGHT_PLAN = ["22:30", "02:00"]
TAGS = [
    ("gate_room", "门卫室"),
    ("perimeter", "东侧围墙"),
    ("teaching_area", "教学楼走廊"),
    ("canteen", "食堂后门"),
]
HOLIDAYS = [  # 2026–2027: national holidays and make-up school days (调休)
    (dt.date(2026, 10, d), "国庆节", False) for d in range(1, 8)
] + [
    (dt.date(2026, 9, 27), "国庆调休", True),
    (dt.date(2026, 10, 10), "国庆调休", True),
    (dt.date(2027, 1, 1), "元旦", False),
]
TERMS = [
    ("2026–2027学年第一学期", dt.date(2026, 9, 1), dt.date(2027, 1, 22)),
    ("2026–2027学年第二学期", dt.date(2027, 2, 22), dt.date(2027, 7, 9)),
]
SUBJECTS = [
    "男，约40岁，在校门口长时间徘徊",
    "女，约30岁，反复拍摄学生",
    "男，约25岁，携带管制刀具",
]
METRES_PER_DEGREE = 111_195.0


def _offset(lon: float, lat: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        lon + east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat))),
        lat + north_m / METRES_PER_DEGREE,
    )


def _place(school: School) -> tuple[float, float]:
    return school.longitude, school.latitude


def write_patrols(seed: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Add the demo's patrols to the freshly seeded city; returns counts written."""
    now = now or clock.now()
    rng = random.Random(f"patrols-{seed}")
    schools = list(
        School.objects.filter(region__code__startswith=CITY_PREFIX)
        .select_related("region")
        .order_by("code")
    )
    with transaction.atomic():
        for name, start, end in TERMS:
            Term.objects.get_or_create(name=name, defaults={"starts_on": start, "ends_on": end})
        for day, name, is_school_day in HOLIDAYS:
            Holiday.objects.get_or_create(
                date=day, defaults={"name": name, "is_school_day": is_school_day}
            )
        counts = _write_tours(schools)
        counts.update(_write_posts(schools))
        counts.update(_write_grid(rng, schools, now))
    return counts


# --- guard tours ---


def _write_tours(schools: list[School]) -> dict[str, int]:
    devices = defaultdict(list)
    for pk, school_id, device_id in Device.objects.filter(
        kind=Device.Kind.PATROL_CHECKPOINT, school__in=schools
    ).values_list("pk", "school_id", "device_id"):
        devices[school_id].append((pk, device_id))
    checkpoints = []
    for school in schools:
        tags = TAGS + ([("dormitory", "宿舍楼值班室")] if school.is_boarding else [])
        for n, (area, name) in enumerate(tags):
            lon, lat = _offset(
                school.longitude, school.latitude, 40 * math.sin(n), 40 * math.cos(n)
            )
            checkpoints.append(
                Checkpoint(school=school, name=name, code=f"{school.code[-4:]}{n + 1:02d}",
                           key_area=area, longitude=lon, latitude=lat)
            )  # fmt: skip
        for pk, device_id in devices[school.pk]:
            checkpoints.append(
                Checkpoint(school=school, name="周界巡更点", code=device_id[-6:], device_id=pk,
                           key_area="perimeter", longitude=school.longitude,
                           latitude=school.latitude)
            )  # fmt: skip
    Checkpoint.objects.bulk_create(checkpoints, batch_size=BATCH)
    by_school = defaultdict(list)
    for checkpoint in checkpoints:
        by_school[checkpoint.school_id].append(checkpoint)
    routes = [TourRoute(school=s, name="校园巡更路线") for s in schools]
    TourRoute.objects.bulk_create(routes, batch_size=BATCH)
    insert_rows(
        RouteStop,
        ("route_id", "checkpoint_id", "position"),
        (
            (route.pk, c.pk, n + 1)
            for route in routes
            for n, c in enumerate(by_school[route.school_id])
        ),
    )
    plans = [
        TourPlan(school=s, route=r, name="日常巡更", round_starts=DAY_PLAN, duration_minutes=30,
                 grace_minutes=10)
        for s, r in zip(schools, routes, strict=True)
    ] + [
        TourPlan(school=s, route=r, name="夜间巡更", round_starts=NIGHT_PLAN, duration_minutes=40,
                 grace_minutes=10)
        for s, r in zip(schools, routes, strict=True) if s.is_boarding
    ]  # fmt: skip
    TourPlan.objects.bulk_create(plans, batch_size=BATCH)
    return {
        "checkpoints": len(checkpoints),
        "tour_plans": len(plans),
    }


# --- 护学岗 ---


def _people(schools: list[School]) -> tuple[dict[int, User], dict[int, User]]:
    """One guard and one auxiliary police officer (辅警) per school, able to sign in
    only after an administrator sets a password."""
    unusable = make_password(None)
    guards, auxiliaries = [], []
    for n, school in enumerate(schools):
        guards.append(
            User(
                username=f"{USER_PREFIX}g{school.code}",
                role=User.Role.GUARD,
                display_name=f"保安员{n + 1:04d}",
                school=school,
                password=unusable,
            )
        )
        auxiliaries.append(
            User(
                username=f"{USER_PREFIX}p{school.code}",
                role=User.Role.POLICE_OFFICER,
                display_name=f"辅警{n + 1:04d}",
                organisation_id=school.police_station_id,
                password=unusable,
            )
        )
    User.objects.bulk_create(guards + auxiliaries, batch_size=BATCH)
    return (
        {g.school_id: g for g in guards},
        {s.pk: a for s, a in zip(schools, auxiliaries, strict=True)},
    )


def _write_posts(schools: list[School]) -> dict[str, int]:
    from campus_safety.simulator.demo_users import USERNAMES

    guards, auxiliaries = _people(schools)
    demo = {u.username: u for u in User.objects.filter(username__in=USERNAMES)}
    demo_school = demo["school"].school_id if "school" in demo else None
    posts, members = [], []
    for school in schools:
        lon, lat = _offset(school.longitude, school.latitude, -60, 0)
        required = {"auxiliary_police": 1, "guard": 1}
        if school.pk == demo_school:
            required = {"police": 1, "guard": 1, "volunteer": 1}
        posts.append(PeakPost(school=school, name="正门护学岗", longitude=lon, latitude=lat,
                              radius_m=80, required=required,
                              in_service_since=TERMS[0][1]))  # fmt: skip
    PeakPost.objects.bulk_create(posts, batch_size=BATCH)
    for post in posts:
        members.append(PostMember(post=post, user=guards[post.school_id], person_type="guard"))
        members.append(
            PostMember(post=post, user=auxiliaries[post.school_id], person_type="auxiliary_police")
        )
        if post.school_id == demo_school:
            for username, kind in (
                ("police", "police"),
                ("guard", "guard"),
                ("volunteer", "volunteer"),
            ):
                if username in demo:
                    members.append(PostMember(post=post, user=demo[username], person_type=kind))
    insert_rows(
        PostMember,
        ("post_id", "user_id", "person_type"),
        ((m.post_id, m.user_id, m.person_type) for m in members),
    )
    return {
        "posts": len(posts),
        "post_people": len(guards) + len(auxiliaries),
    }


# --- police grid patrols ---


def _write_grid(rng: random.Random, schools: list[School], now: dt.datetime) -> dict[str, int]:
    urban = [s for s in schools if s.region.code == URBAN_DISTRICT]
    by_station = defaultdict(list)
    for school in urban:
        by_station[school.police_station_id].append(school)
    officers = dict(
        User.objects.filter(username__startswith=f"{USER_PREFIX}p", school__isnull=True)
        .filter(organisation_id__in=list(by_station))
        .values_list("organisation_id", "pk")
        .distinct()
    )
    routes, logs, stops = [], [], []
    for station_id, members in sorted(by_station.items()):
        members.sort(key=lambda s: (s.longitude, s.latitude))
        for n in range(0, len(members), 8):
            group = members[n : n + 8]
            route = GridRoute.objects.create(
                organisation_id=station_id,
                name=f"护校巡逻线{n // 8 + 1}",
                path=[[s.longitude, s.latitude] for s in group],
            )
            route.schools.set(group)
            routes.append(route)
            officer = officers.get(station_id)
            if officer is None:
                continue
            for days_ago in (1, 2, 3):
                started = now - dt.timedelta(days=days_ago, hours=rng.uniform(0, 3))
                track, at = [], started
                for a, b in zip(group, group[1:] + group[:1], strict=True):
                    for k in range(4):
                        f = k / 4
                        track.append(
                            [
                                a.longitude + (b.longitude - a.longitude) * f,
                                a.latitude + (b.latitude - a.latitude) * f,
                                at.isoformat(),
                            ]
                        )
                        at += dt.timedelta(minutes=rng.uniform(1, 3))
                distance = sum(
                    distance_m(p[0], p[1], q[0], q[1]) for p, q in itertools.pairwise(track)
                )
                logs.append(PatrolLog(organisation_id=station_id, route=route, officer_id=officer,
                                      started_at=started, ended_at=at, track=track,
                                      distance_m=round(distance, 1)))  # fmt: skip
            for _ in range(2):
                school = rng.choice(group)
                lon, lat = _offset(school.longitude, school.latitude, rng.uniform(-300, 300),
                                   rng.uniform(-300, 300))  # fmt: skip
                stops.append(
                    FieldStop(organisation_id=station_id, officer_id=officer,
                              at=now - dt.timedelta(days=rng.uniform(0, 14)),
                              place=f"{school.name}附近路口", longitude=lon, latitude=lat,
                              nearest_school=school,
                              distance_m=round(distance_m(lon, lat, *_place(school)), 1),
                              subject=rng.choice(SUBJECTS),
                              outcome=rng.choice(["released", "warned", "taken_in"]))
                )  # fmt: skip
    PatrolLog.objects.bulk_create(logs, batch_size=BATCH)
    FieldStop.objects.bulk_create(stops, batch_size=BATCH)
    return {"grid_routes": len(routes), "patrol_logs": len(logs), "field_stops": len(stops)}


def delete_patrols() -> dict[str, Any]:
    """Remove the demo's patrols before the city is deleted (--force re-seed)."""
    in_city = {"school__region__code__startswith": CITY_PREFIX}
    counts: dict[str, Any] = {}
    with transaction.atomic():
        for model in (PostCheckIn, PostAssignment, PostMember):
            rows = model.objects.filter(**({"post__" + k: v for k, v in in_city.items()}))
            counts[model._meta.model_name] = rows._raw_delete(rows.db)
        for model in (PatrolAlarm, TourRound, TourScan):
            rows = model.objects.filter(**in_city)
            counts[model._meta.model_name] = rows._raw_delete(rows.db)
        counts["grid"] = GridRoute.objects.filter(
            organisation__region__code__startswith=CITY_PREFIX
        ).delete()[0]
        for model in (PatrolLog, FieldStop):
            counts[model._meta.model_name] = model.objects.filter(
                organisation__region__code__startswith=CITY_PREFIX
            ).delete()[0]
        for model in (PeakPost, TourPlan, RouteStop, TourRoute, Checkpoint):
            path = "route__" if model is RouteStop else ""
            rows = model.objects.filter(**{path + k: v for k, v in in_city.items()})
            counts[model._meta.model_name] = rows._raw_delete(rows.db)
        counts["user"] = User.objects.filter(username__startswith=USER_PREFIX).delete()[0]
    return counts
