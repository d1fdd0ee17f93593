"""Benchmark: the police–school linkage figures for a whole city.

In a fresh temporary data dir (SQLite; ``--database-url`` for PostgreSQL): a city of
``--schools`` schools (2,029) in 11 districts and 60 police stations, every other one
with a police room, a term of evacuation drills (about one a month each), a notice to
every school, and ``--records`` 训诫 records (2,000). Then, ``--repeat`` times (7):

1. the drill board: ``linkage.services.drill_compliance`` over every school;
2. the summary block: ``linkage.statistics.summary_block`` (police rooms, counsellor
   coverage, drills due/overdue, notices unconfirmed, open follow-ups);
3. an officer's 训诫 list: ``DisciplineRecord.objects.visible_to(officer)`` to a list;
4. a notice to every school, as its sender's page reads it now: the counts (one
   aggregate) and the first page of 50 receipts — against the old page, every receipt;
5. a forwarding chain: the city passes a notice to 11 district bureaus, each forwards it
   to its schools and passes it to its stations, each station forwards it to its
   schools; ``notices.chain`` rolls it all up — against one aggregate per unit.

Prints the median of each and the ratio of the board to one query per school (the
drills of each school counted separately), the naive way it replaces.

Target: board and summary ≤ 2 s for 2,029 schools on the embedded (SQLite) build.

    .venv/bin/python bench/linkage.py [--schools 2029] [--records 2000] [--database-url …]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import time

from bench_django import setup_django

TARGET_S = 2.0


def seed(n_schools: int, n_records: int, rng: random.Random) -> dict:
    from django.utils import timezone

    from campus_safety import clock
    from campus_safety.accounts.models import User
    from campus_safety.linkage import drill_rules
    from campus_safety.linkage.models import (
        DisciplineRecord,
        Drill,
        FollowUp,
        Notice,
        NoticeReceipt,
        PoliceRoom,
    )
    from campus_safety.orgs.models import Organisation, Region, School

    city = Region.objects.create(code="371400", name="德州市", level="city")
    counties = [
        Region.objects.create(code=f"3714{2 + i:02d}", name=f"区{i}", level="county", parent=city)
        for i in range(11)
    ]
    stations = [
        Organisation.objects.create(
            name=f"派出所{i}", kind="police_station", region=counties[i % 11]
        )
        for i in range(60)
    ]
    kinds = ["primary"] * 5 + ["junior", "senior", "kindergarten", "kindergarten"]
    schools = School.objects.bulk_create(
        School(
            code=f"{1371400000 + i:010d}",
            name=f"学校{i}",
            kind=rng.choice(kinds),
            students=600,
            region=counties[i % 11],
            police_station=stations[i % 60],
            has_police_room=i % 2 == 0,
        )
        for i in range(n_schools)
    )
    officer = User.objects.create(
        username="officer", role="police_officer", organisation=stations[0]
    )
    contact = User.objects.create(username="contact", role="school_admin", school=schools[0])
    PoliceRoom.objects.bulk_create(
        PoliceRoom(school=s, counsellor_name="律师" if i % 3 else "")
        for i, s in enumerate(schools)
        if s.has_police_room
    )
    today = timezone.localdate(clock.now())
    term = drill_rules.default_term(today)
    zone = timezone.get_current_timezone()
    drills = []
    for s in schools:
        for start, end in drill_rules.periods_of(term, drill_rules.MONTH):
            if start <= today and rng.random() < 0.85:
                day = start + dt.timedelta(days=rng.randrange((min(end, today) - start).days + 1))
                drills.append(
                    Drill(
                        school=s, kind="fire", held_at=dt.datetime.combine(day, dt.time(10), zone)
                    )
                )
    Drill.objects.bulk_create(drills, batch_size=5000)
    notice = Notice.objects.create(
        title="通知",
        body="正文",
        created_by=officer,
        created_at=clock.now(),
        confirm_by=clock.now() + dt.timedelta(days=3),
    )
    NoticeReceipt.objects.bulk_create(
        (NoticeReceipt(notice=notice, school=s) for s in schools), batch_size=5000
    )
    now = clock.now()
    records = []
    for i in range(n_records):
        school = schools[(i * 60) % n_schools]  # mostly the first station's schools
        records.append(
            DisciplineRecord(
                reference=f"XJB{i:08d}",
                school=school,
                station_id=school.police_station_id,
                student_name=f"学生{i}",
                class_name="五年级一班",
                age=11,
                level="bad",
                behaviour="bullying",
                facts="虚构",
                occurred_on=today,
                guardian="present",
                measures=["reprimand"],
                designated_contact=contact,
                created_by=officer,
                created_at=now,
                follow_up_until=today + dt.timedelta(days=365),
            )
        )
    DisciplineRecord.objects.bulk_create(records, batch_size=2000)
    FollowUp.objects.bulk_create(
        (FollowUp(record=r, due_on=today) for r in DisciplineRecord.objects.all()), batch_size=5000
    )
    root = seed_chain(counties, stations, schools, officer)
    return {"officer": officer, "drills": len(drills), "notice": notice, "root": root}


def seed_chain(counties, stations, schools, officer):
    """City → 11 district bureaus → their stations, each level forwarding to its schools,
    a third of the receipts read and a sixth confirmed (rows written directly)."""
    from campus_safety import clock
    from campus_safety.linkage.models import Notice, NoticeReceipt, NoticeRelay
    from campus_safety.orgs.models import Organisation

    now = clock.now()
    city_bureau = Organisation.objects.create(
        name="市教体局", kind="education_bureau", region=counties[0].parent
    )
    bureaus = [
        Organisation.objects.create(name=f"教体局{i}", kind="education_bureau", region=c)
        for i, c in enumerate(counties)
    ]

    def notice(title, parent=None):
        return Notice.objects.create(
            title=title, body="转发", created_by=officer, created_at=now, parent=parent,
            sender_organisation=city_bureau,
        )  # fmt: skip

    def receipts(n, of):
        NoticeReceipt.objects.bulk_create(
            (
                NoticeReceipt(
                    notice=n,
                    school=s,
                    read_at=now if i % 3 == 0 else None,
                    confirmed_at=now if i % 6 == 0 else None,
                )
                for i, s in enumerate(of)
            ),
            batch_size=5000,
        )

    root = notice("市级通报")
    for i, bureau in enumerate(bureaus):
        child = notice(f"转发{i}", root)
        NoticeRelay.objects.create(
            notice=root, organisation=bureau, read_at=now, forwarded=child, forwarded_at=now
        )
        receipts(child, [s for s in schools if s.region_id == counties[i].pk])
        for station in [st for st in stations if st.region_id == counties[i].pk]:
            if station.pk % 4 == 0:  # a quarter of the stations have not forwarded yet
                NoticeRelay.objects.create(notice=child, organisation=station)
                continue
            grandchild = notice(f"派出所转发{station.pk}", child)
            NoticeRelay.objects.create(
                notice=child, organisation=station, read_at=now, forwarded=grandchild,
                forwarded_at=now,
            )  # fmt: skip
            receipts(grandchild, [s for s in schools if s.police_station_id == station.pk])
    return root


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=2029)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    data_dir = setup_django(args.database_url, "linkage")
    try:
        from django.db import connection
        from django.db.models import Count, Q
        from django.utils import timezone

        from campus_safety import clock
        from campus_safety.linkage import notices, services
        from campus_safety.linkage import statistics as linkage_statistics
        from campus_safety.linkage.models import DisciplineRecord, Drill, NoticeReceipt, NoticeRelay
        from campus_safety.orgs.models import School
        from campus_safety.web.listing import PAGE_SIZE

        rng = random.Random(20)
        started = time.perf_counter()
        world = seed(args.schools, args.records, rng)
        print(f"seeded {args.schools} schools, {world['drills']} drills, "
              f"{args.records} records in {time.perf_counter() - started:.1f} s "
              f"({connection.vendor})")  # fmt: skip
        schools = School.objects.all()
        board = timed(lambda: services.drill_compliance(schools), args.repeat)
        summary = timed(lambda: linkage_statistics.summary_block(schools), args.repeat)
        officer = world["officer"]
        listing = timed(
            lambda: list(DisciplineRecord.objects.visible_to(officer)[:200]), args.repeat
        )
        term = services.current_term(timezone.localdate(clock.now()))

        def naive() -> None:
            for school in schools:
                Drill.objects.filter(school=school, is_evacuation=True,
                                     held_at__date__gte=term.starts_on).count()  # fmt: skip

        per_school = timed(naive, max(1, args.repeat // 3))

        notice = world["notice"]

        def receipts_paged() -> None:
            rows = NoticeReceipt.objects.filter(notice=notice).select_related("school__region")
            rows.aggregate(
                total=Count("pk"),
                unread=Count("pk", filter=Q(read_at__isnull=True)),
                pending=Count("pk", filter=Q(confirmed_at__isnull=True)),
            )
            list(rows.order_by("confirmed_at", "read_at", "school__code")[:PAGE_SIZE])

        def receipts_whole() -> None:
            list(
                NoticeReceipt.objects.filter(notice=notice)
                .select_related("school__region")
                .order_by("confirmed_at", "read_at", "school__code")
            )

        paged_ms = timed(receipts_paged, args.repeat)
        whole_ms = timed(receipts_whole, args.repeat)
        root = world["root"]
        chain_s = timed(lambda: notices.chain(root), args.repeat)

        def chain_naive() -> None:
            frontier = [root.pk]
            while frontier:
                relays = list(NoticeRelay.objects.filter(notice_id__in=frontier))
                for relay in relays:
                    if relay.forwarded_id:
                        NoticeReceipt.objects.filter(notice_id=relay.forwarded_id).aggregate(
                            n=Count("pk"), read=Count("pk", filter=Q(read_at__isnull=False))
                        )
                frontier = [r.forwarded_id for r in relays if r.forwarded_id]

        chain_naive_s = timed(chain_naive, args.repeat)
        tree = notices.chain(root)
        print(f"drill board ({args.schools} schools): median {board * 1000:.0f} ms")
        print(f"summary block: median {summary * 1000:.0f} ms")
        print(f"officer's 训诫 list (200 rows): median {listing * 1000:.1f} ms")
        print(f"one query per school instead: median {per_school * 1000:.0f} ms "
              f"(ratio {per_school / board:.1f}× the board)")  # fmt: skip
        print(f"notice to {args.schools} schools, sender's page: counts + page of {PAGE_SIZE} "
              f"receipts median {paged_ms * 1000:.1f} ms; every receipt (the old page) "
              f"median {whole_ms * 1000:.1f} ms")  # fmt: skip
        copies = NoticeReceipt.objects.exclude(notice=notice).count()  # the chain's copies
        print(f"forwarding chain ({tree.total['units']} units, {copies} school copies, "
              f"{tree.total['total']} schools each counted once, "
              f"{tree.total['units_not_forwarded']} units not forwarded): "
              f"notices.chain median {chain_s * 1000:.1f} ms; one aggregate per unit "
              f"median {chain_naive_s * 1000:.1f} ms")  # fmt: skip
        ok = board <= TARGET_S and summary <= TARGET_S
        print(f"target board and summary ≤ {TARGET_S:.0f} s: {'met' if ok else 'MISSED'}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
