"""The demo city's gate (issue #17 item 7): pick-up lists for its kindergartens and
primary schools, vehicles, a small watch-list, a day of visits and pick-ups, and a
simulated watch-listed visitor that opens a police-only case."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from campus_safety.alarms.models import AlarmCase
from campus_safety.gate.models import Pickup, Student, Vehicle, Visit, WatchlistEntry
from campus_safety.orgs.models import School
from campus_safety.simulator import demo_gate
from tests.simulator.seeding import seeded_demo_city

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def demo_city(django_db_setup, django_db_blocker):
    with seeded_demo_city(django_db_blocker, "--schools", "60") as output:
        yield output


def test_the_city_has_pick_up_lists_vehicles_and_a_watch_list():
    kinds = set(Student.objects.values_list("school__kind", flat=True))
    assert kinds <= {School.Kind.KINDERGARTEN, School.Kind.PRIMARY} and kinds
    assert Student.objects.first().pickup_persons.count() == 2
    assert Vehicle.objects.count() >= School.objects.count()
    assert WatchlistEntry.objects.count() == demo_gate.WATCHLIST_SIZE


def test_a_day_of_visits_and_pick_ups_up_to_now(clock):
    evening = timezone.localtime(clock.now()).replace(hour=18, minute=0) + dt.timedelta(days=1)
    Visit.objects.all().delete()
    counts = demo_gate.fill_gate_day(evening)
    assert counts["gate_visits"] > 0 and counts["gate_pickups"] == Student.objects.count()
    assert not Visit.objects.filter(checked_in_at__gt=evening).exists()
    assert Pickup.objects.filter(outcome="released").exists()
    assert demo_gate.fill_gate_day(evening) == {
        "gate_visits": 0,
        "gate_pickups": 0,
        "gate_loiterers": 0,  # the window's loiterer was made by the first call
    }
    assert AlarmCase.objects.filter(alarm_type="vehicle_loiter").exists()


def test_the_simulated_gates_send_a_watch_listed_visitor_now_and_then(clock):
    gates = demo_gate.GateVisitors()
    for _ in range(demo_gate.HIT_EVERY):
        gates.step(clock.now())
    held = Visit.objects.filter(state="held")
    assert held.count() == 1
    assert AlarmCase.objects.filter(police_only=True, alarm_type="watchlist").count() == 1


def test_the_summary_has_the_gate_block():
    out = StringIO()
    call_command("report", "summary", "--json", stdout=out)
    gate = json.loads(out.getvalue())["gate"]
    assert set(gate) == {
        "visits_today",
        "on_campus_now",
        "pickups_today",
        "refused_pickups_today",
        "watchlist_hits_today",
    }
