"""Availability history from the recorded state transitions: cut at local midnight,
carried across restarts (nothing is written while the platform is down), unknown time
not observed, devices added up per school and district."""

import datetime as dt

import pytest
from django.urls import reverse

from campus_safety.devices.models import Device
from campus_safety.reports import availability
from tests.factories import SchoolFactory, sign_in
from tests.reports.support import device_with_history, local

pytestmark = pytest.mark.django_db
D1 = dt.date(2026, 3, 2)
D2 = D1 + dt.timedelta(days=1)
D3 = D2 + dt.timedelta(days=1)
ON, OFF = Device.Status.ONLINE, Device.Status.OFFLINE


def _rates(result, tallies):
    return {row["day"]: row["rate"] for row in result.series(tallies)}


def test_a_night_online_is_split_at_midnight_and_unknown_time_is_not_observed(decheng):
    school = SchoolFactory(region=decheng)
    device = device_with_history(school, [(local(D1, "22:00"), ON), (local(D2, "02:00"), OFF)])
    result = availability.history(
        Device.objects.all(), D1, D2, now=local(D3, "00:00"), keep_devices=True
    )
    days = result.devices[device.pk]
    assert days[D1].observed == 2 * 3600 and days[D1].online == 2 * 3600  # 22:00–24:00
    assert days[D2].observed == 24 * 3600 and days[D2].online == 2 * 3600
    assert _rates(result, days) == {D1.isoformat(): 1.0, D2.isoformat(): round(2 / 24, 4)}


def test_the_state_before_the_range_carries_over_a_restart(decheng):
    """Online since the day before; the platform was down that night (no rows); the next
    change is the sweeper finding it offline after the restart at 10:00."""
    school = SchoolFactory(region=decheng)
    device_with_history(school, [(local(D1, "08:00"), ON), (local(D2, "10:00"), OFF)])
    result = availability.history(Device.objects.all(), D2, D2, now=local(D3, "00:00"))
    tally = result.schools[school.pk][D2]
    assert (tally.online, tally.observed) == (10 * 3600, 24 * 3600)


def test_today_counts_up_to_now_only_and_a_silent_device_has_no_rate(decheng):
    school = SchoolFactory(region=decheng)
    device_with_history(school, [(local(D1, "00:00"), ON)])
    silent = device_with_history(school, [])
    result = availability.history(
        Device.objects.all(), D1, D1, now=local(D1, "06:00"), keep_devices=True
    )
    assert result.total[D1].observed == 6 * 3600 and result.total[D1].rate == 1.0
    assert result.devices[silent.pk] == {}
    assert result.series(result.devices[silent.pk])[0]["rate"] is None


def test_schools_and_districts_add_their_devices_seconds(decheng, lingcheng):
    a = SchoolFactory(region=decheng)
    b = SchoolFactory(region=lingcheng)
    device_with_history(a, [(local(D1, "00:00"), ON)])
    device_with_history(a, [(local(D1, "00:00"), ON), (local(D1, "12:00"), OFF)])
    device_with_history(b, [(local(D1, "00:00"), OFF)])
    result = availability.history(Device.objects.all(), D1, D1, now=local(D2, "00:00"))
    assert result.schools[a.pk][D1].rate == 0.75
    assert result.regions[decheng.pk][D1].rate == 0.75
    assert result.regions[lingcheng.pk][D1].rate == 0.0
    assert result.total[D1].rate == 0.5


def test_a_long_range_is_refused():
    with pytest.raises(ValueError, match="at most"):
        availability.day_range(D1, D1 + dt.timedelta(days=availability.MAX_DAYS))


def test_device_and_school_pages_get_the_history_fragment(client, dispatcher, decheng, clock):
    school = SchoolFactory(region=decheng)
    now = clock.now()
    device = device_with_history(school, [(now - dt.timedelta(days=3), ON)])
    body = client.get(reverse("reports:device_availability", args=[device.pk])).content.decode()
    assert 'id="availability-strip"' in body and "100.0%" in body
    body = client.get(reverse("reports:school_availability", args=[school.pk])).content.decode()
    assert "100.0%" in body
    page = client.get(reverse("reports:availability"))
    assert page.status_code == 200 and "德城区" in page.content.decode()
    xlsx = client.get(reverse("reports:availability_xlsx"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_a_device_outside_the_scope_is_not_found(client, decheng, lingcheng):
    from tests.factories import UserFactory

    user = UserFactory(role="dispatcher", region=decheng)
    sign_in(client, user)
    other = device_with_history(SchoolFactory(region=lingcheng), [])
    response = client.get(reverse("reports:device_availability", args=[other.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_schools_days_are_its_devices_days_added_up_over_long_and_short_spans(decheng, seed):
    """Schools add their devices' spans whole days at a time (``_Spans``); the devices'
    own days are split day by day: over random spans of minutes to many days, in and
    out of ``unknown``, the two agree to the second."""
    import random

    rng = random.Random(seed)
    school = SchoolFactory(region=decheng)
    first, last = D1, D1 + dt.timedelta(days=9)
    for _ in range(4):
        at, changes = local(D1 - dt.timedelta(days=1), "12:00"), []
        while at < local(last, "18:00"):
            at += dt.timedelta(minutes=rng.choice([7, 95, 600, 1440 * 2, 1440 * 4]))
            changes.append((at, rng.choice([ON, OFF, Device.Status.UNKNOWN])))
        device_with_history(school, changes)
    now = local(last, "15:30")  # the last day is cut at now
    result = availability.history(Device.objects.all(), first, last, now=now, keep_devices=True)
    added: dict = {}
    for days in result.devices.values():
        for day, tally in days.items():
            added.setdefault(day, availability.Tally()).add(tally)
    school_days = result.schools[school.pk]
    assert set(school_days) == {day for day, tally in added.items() if tally.observed}
    for day, tally in school_days.items():
        assert tally.observed == pytest.approx(added[day].observed, abs=1e-6)
        assert tally.online == pytest.approx(added[day].online, abs=1e-6)
