"""The demo's simulated guards and officers (simulator/patrol_walkers.py) use the same
services as people: their scans and check-ins land, and some are late or absent."""

import datetime as dt

import pytest

from campus_safety.patrols import peak_posts, services
from campus_safety.patrols.models import PeakPost, PostCheckIn, TourScan
from campus_safety.simulator.patrol_walkers import Walkers
from tests.factories import SchoolFactory, UserFactory
from tests.patrols.support import FrozenClock, gate_post, local, officer, tour

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)


def test_walkers_scan_due_checkpoints_and_check_people_in(monkeypatch):
    now = FrozenClock(monkeypatch, local(DAY, "07:00"))
    people = []
    for _ in range(12):
        school = SchoolFactory()
        UserFactory(role="guard", school=school)
        tour(school, starts=("07:30",), duration=30)
        person = officer()
        people.append(person)
        gate_post(school, required={"police": 1}, members=[(person, "police")])
    services.ensure_rounds(DAY)
    peak_posts.generate_roster(PeakPost.objects.all(), DAY, DAY)
    walkers = Walkers(seed=3)
    now.set(local(DAY, "07:55"))  # arrival window 07:30–08:15; round 07:30–08:00
    assert walkers.step(now.at) == []  # no checkpoint devices: every scan is a phone scan
    scans = TourScan.objects.count()
    assert 0 < scans <= 36  # A, B and C are due by 07:37, 07:45, 07:52 unless late/missed
    walkers.step(now.at)
    assert TourScan.objects.count() == scans  # nothing scanned twice
    checked_in = PostCheckIn.objects.count()
    assert 0 < checked_in <= 12
    now.set(local(DAY, "08:13"))
    walkers.step(now.at)
    assert PostCheckIn.objects.filter(checked_out_at__isnull=False).count() >= checked_in
