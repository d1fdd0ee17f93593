"""Drill compliance per term on the controllable clock (教基一厅〔2014〕2号: primary and
secondary schools monthly, kindergartens quarterly), plans, joint drills."""

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus_safety import clock as clock_module
from campus_safety.alarms.models import TestWindow
from campus_safety.linkage import drill_rules, services
from campus_safety.linkage.models import EmergencyPlan
from campus_safety.linkage.services import NotAllowed
from campus_safety.orgs.models import School
from campus_safety.patrols.models import Term
from tests.factories import SchoolFactory
from tests.linkage.support import make_world

pytestmark = pytest.mark.django_db

AUTUMN = drill_rules.Term("2026秋", dt.date(2026, 9, 1), dt.date(2027, 1, 20))


def test_a_term_splits_into_months_and_quarters():
    months = drill_rules.periods_of(AUTUMN, drill_rules.MONTH)
    assert [m[0].month for m in months] == [9, 10, 11, 12, 1]
    quarters = drill_rules.periods_of(AUTUMN, drill_rules.QUARTER)
    assert [(q[0], q[1]) for q in quarters] == [
        (dt.date(2026, 9, 1), dt.date(2026, 9, 30)),
        (dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        (dt.date(2027, 1, 1), dt.date(2027, 1, 20)),
    ]
    assert drill_rules.periods_of(AUTUMN, drill_rules.TERM) == [(AUTUMN.starts_on, AUTUMN.ends_on)]


def test_a_stub_month_of_a_few_days_needs_no_drill():
    term = drill_rules.Term("t", dt.date(2026, 2, 25), dt.date(2026, 7, 5))
    months = [m[0].month for m in drill_rules.periods_of(term, drill_rules.MONTH)]
    assert months == [3, 4, 5, 6]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dates(dt.date(2026, 9, 1), dt.date(2027, 1, 20)), max_size=8),
       st.dates(dt.date(2026, 8, 1), dt.date(2027, 2, 28)))  # fmt: skip
def test_statuses_follow_the_calendar(days, today):
    for period in (drill_rules.MONTH, drill_rules.QUARTER, drill_rules.TERM):
        for p in drill_rules.compliance(AUTUMN, period, days, today):
            held = [d for d in days if p.starts_on <= d <= p.ends_on and d <= today]
            if held:
                assert p.status == drill_rules.DONE
            elif p.ends_on < today:
                assert p.status == drill_rules.OVERDUE
            elif p.starts_on > today:
                assert p.status == drill_rules.UPCOMING
            else:
                assert p.status == drill_rules.DUE


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_compliance_across_a_term_on_the_clock(clock):
    world = make_world()
    Term.objects.create(name="2026秋", starts_on=AUTUMN.starts_on, ends_on=AUTUMN.ends_on)
    primary = world.school
    kindergarten = SchoolFactory(region=world.county, kind=School.Kind.KINDERGARTEN)
    schools = School.objects.filter(pk__in=[primary.pk, kindergarten.pk])

    def status_on(day):
        clock.start_at(_at(day, 12))
        rows = services.drill_compliance(schools, day)
        return {r["school"].pk: r["status"] for r in rows}

    assert status_on(dt.date(2026, 9, 10)) == {primary.pk: "due", kindergarten.pk: "due"}
    clock.start_at(_at(dt.date(2026, 9, 15)))
    services.record_drill(world.contact, primary, kind="fire", held_at=_at(dt.date(2026, 9, 15)))
    services.record_drill(
        world.contact if False else _kg_admin(kindergarten), kindergarten, kind="earthquake",
        held_at=_at(dt.date(2026, 9, 15)),
    )  # fmt: skip
    assert status_on(dt.date(2026, 9, 20)) == {primary.pk: "done", kindergarten.pk: "done"}
    # October: the primary school owes one this month, the kindergarten this quarter.
    assert status_on(dt.date(2026, 10, 5)) == {primary.pk: "due", kindergarten.pk: "due"}
    # November with no October drill: the primary school is overdue, the kindergarten not.
    assert status_on(dt.date(2026, 11, 2)) == {primary.pk: "overdue", kindergarten.pk: "due"}
    # January: the kindergarten's autumn quarter ended without a drill.
    assert status_on(dt.date(2027, 1, 5))[kindergarten.pk] == "overdue"
    clock_module.reset()


def _kg_admin(school):
    from tests.factories import UserFactory

    return UserFactory(role="school_admin", school=school)


def test_a_drill_only_counts_when_it_is_an_evacuation_drill(clock):
    world = make_world()
    day = timezone.localdate(clock.now())
    services.record_drill(
        world.contact, world.school, kind="intrusion", held_at=clock.now(), is_evacuation=False
    )
    rows = services.drill_compliance(School.objects.filter(pk=world.school.pk), day)
    assert rows[0]["drills"] == 0


def test_drill_problems_can_become_a_hazard(clock):
    world = make_world()
    drill = services.record_drill(
        world.contact,
        world.school,
        kind="fire",
        held_at=clock.now(),
        problems="三楼东侧安全出口被杂物堵塞",
        file_problems_as_hazard=True,
    )
    assert drill.hazard is not None and drill.hazard.school_id == world.school.pk


def test_a_drill_outside_the_scope_is_refused(clock):
    world = make_world()
    with pytest.raises(NotAllowed):
        services.record_drill(world.contact, world.other_school, kind="fire", held_at=clock.now())


def test_a_joint_drill_opens_an_alarm_test_window(clock):
    world = make_world()
    starts = clock.now() + dt.timedelta(days=1)
    drill = services.schedule_joint_drill(
        world.officer, world.school, kind="intrusion", starts_at=starts
    )
    window = TestWindow.objects.get(pk=drill.test_window_id)
    assert window.school_id == world.school.pk and window.starts_at == starts
    assert drill.is_joint
    with pytest.raises(NotAllowed):
        services.schedule_joint_drill(
            world.bureau_staff, world.school, kind="fire", starts_at=starts
        )


def test_plans_are_versioned_and_approved_by_the_bureau():
    world = make_world()
    first = services.submit_plan(world.contact, world.school, kind="fire", summary="消防预案")
    second = services.submit_plan(world.contact, world.school, kind="fire", summary="修订版")
    assert (first.version, second.version) == (1, 2)
    with pytest.raises(NotAllowed):
        services.decide_plan(world.contact, second, approve=True)
    services.decide_plan(world.bureau_staff, second, approve=True)
    second.refresh_from_db()
    assert second.status == EmergencyPlan.Status.APPROVED
