"""Retention per kind (issue #17 item 5): visitor records 180 days, pick-up logs a school
year, watch-list entries until their end plus a year; and the summary's gate block."""

import datetime as dt

import pytest

from campus_safety import clock as clock_module
from campus_safety import retention
from campus_safety.gate import services
from campus_safety.gate.models import Pickup, Visit, WatchlistEntry
from campus_safety.reports.summary import summary
from tests.gate.conftest import visitor

pytestmark = pytest.mark.django_db


def purge_gate() -> dict[str, int]:
    """retention.purge_expired for the gate's kinds only (PostgreSQL's audit log refuses
    a purge by a clock moved months ahead: its trigger reads the server's own time)."""
    from django.apps import apps

    now = clock_module.now()
    removed = {}
    for policy in retention.installed_policies():
        if not policy.kind.startswith("gate_"):
            continue
        if policy.purge is not None:
            removed[policy.kind] = policy.purge(now)
            continue
        cutoff = now - dt.timedelta(days=retention.days_for(policy))
        model = apps.get_model(policy.model)
        removed[policy.kind] = model.objects.filter(
            **{f"{policy.date_field}__lt": cutoff}
        ).delete()[0]
    return removed


def test_each_kind_is_kept_for_its_period(school, guard, school_admin, officer, station, clock):
    now = clock.now()
    old_visit = services.check_in(school, by=guard, **visitor()).visit
    student = services.save_student(
        school, by=school_admin, student_number="1", name="小明", class_name="大一班"
    )
    services.release(student, school, by=guard, person_name="某人")
    entry = services.create_entry(
        by=officer,
        station=station,
        name="赵某",
        reason="risk",
        valid_from=now,
        valid_until=now + dt.timedelta(days=30),
    )
    clock.advance(days=181)
    fresh = services.check_in(school, by=guard, **visitor()).visit
    removed = purge_gate()
    assert removed["gate_visits"] == 1
    assert list(Visit.objects.all()) == [fresh] and old_visit.pk != fresh.pk
    assert Pickup.objects.count() == 1 and WatchlistEntry.objects.count() == 1
    clock.advance(days=185)  # a school year after the refusal; 336 days after the entry ended
    purge_gate()
    assert Pickup.objects.count() == 0 and WatchlistEntry.objects.filter(pk=entry.pk).exists()
    clock.advance(days=30)
    purge_gate()
    assert not WatchlistEntry.objects.exists()


def test_the_summary_carries_the_gate_block(school, guard, clock):
    services.check_in(school, by=guard, **visitor())
    assert summary()["gate"] == {
        "visits_today": 1,
        "on_campus_now": 1,
        "pickups_today": 0,
        "refused_pickups_today": 0,
        "watchlist_hits_today": 0,
    }


def test_only_police_read_the_hits_in_a_scoped_summary(school, school_admin, officer, clock):
    from campus_safety.orgs.models import School

    for user, expected in ((school_admin, None), (officer, 0)):
        block = summary(School.objects.visible_to(user), reader=user)["gate"]
        assert block["watchlist_hits_today"] == expected
