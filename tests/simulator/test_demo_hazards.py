"""The demo city's hazards: a fresh seed reports exactly the reference city's 1,243
rectified internal hazards and 87 rectified trouble spots, plus open and overdue ones."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from campus_safety.hazards.models import Hazard
from campus_safety.simulator import demo_hazards
from tests.simulator.seeding import seeded_demo_city

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def demo_city(django_db_setup, django_db_blocker):
    with seeded_demo_city(django_db_blocker, "--schools", "120") as output:
        yield output


def test_the_summary_of_a_fresh_demo_city_shows_the_reference_figures():
    out = StringIO()
    call_command("report", "summary", "--json", stdout=out)
    hazards = json.loads(out.getvalue())["hazards"]
    assert hazards["internal"]["rectified"] == 1243
    assert hazards["surrounding"]["rectified"] == 87
    assert hazards["internal"]["overdue"] == demo_hazards.INTERNAL_OVERDUE
    assert hazards["surrounding"]["overdue"] == demo_hazards.SURROUNDING_OVERDUE
    assert hazards["internal"]["open"] == sum(demo_hazards.INTERNAL_OPEN.values())
    assert hazards["surrounding"]["found"] == 87 + sum(demo_hazards.SURROUNDING_OPEN.values())


def test_the_seed_reports_the_hazards(demo_city):
    assert "hazards and trouble spots" in demo_city


def test_demo_hazards_have_a_consistent_timeline():
    closed = Hazard.objects.filter(status="closed").prefetch_related("events")[:200]
    for hazard in closed:
        steps = [e.step for e in hazard.events.all()]
        assert steps == ["reported", "assigned", "started", "submitted", "verified", "closed"]
        assert hazard.reported_at <= hazard.assigned_at <= hazard.submitted_at
        assert hazard.submitted_at <= hazard.verified_at <= hazard.closed_at
    references = Hazard.objects.values_list("reference", flat=True)
    assert all(r.startswith(("YH-", "LD-")) for r in references)
    spots = Hazard.objects.filter(kind="surrounding").exclude(status="dismissed")
    assert not spots.filter(longitude__isnull=True).exists()
    assert not spots.filter(distance_m__gt=600).exists()


def test_overdue_demo_hazards_are_escalated():
    overdue = Hazard.objects.filter(status__in=["assigned", "rectifying"], escalation_level=1)
    assert overdue.count() == demo_hazards.INTERNAL_OVERDUE + demo_hazards.SURROUNDING_OVERDUE
    assert all(h.events.filter(step="escalated").exists() for h in overdue)
