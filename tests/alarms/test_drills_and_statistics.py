"""Drills become test cases left out of the figures; the summary block from a hand-made set."""

import datetime as dt

import pytest

from campus_safety.alarms import drills, statistics
from campus_safety.alarms.models import AlarmCase
from campus_safety.orgs.models import School
from tests.alarms.support import send_alarm
from tests.devices.support import DeviceFactory

pytestmark = pytest.mark.django_db
State = AlarmCase.State


def test_an_alarm_inside_a_test_window_becomes_a_test_case(clock, device, school, school_admin):
    now = clock.now()
    drills.schedule_test_window(
        school_admin,
        school=school,
        starts_at=now - dt.timedelta(minutes=5),
        ends_at=now + dt.timedelta(minutes=5),
        reason="月度测试",
    )
    case = send_alarm(device, clock)
    assert case.is_test and case.state == State.TEST and case.next_escalation_at is None


def test_a_window_for_one_device_leaves_the_schools_other_devices_real(clock, device, school):
    other = DeviceFactory(school=school)
    now = clock.now()
    drills.schedule_test_window(
        None, school=school, device=other, starts_at=now, ends_at=now + dt.timedelta(hours=1)
    )
    assert send_alarm(device, clock).is_test is False


def test_one_key_alarms_without_a_test_in_30_days_are_listed(clock, device, school):
    tested = DeviceFactory(school=school)
    send_alarm(tested, clock, is_test=True)
    assert list(drills.untested_one_key_alarms()) == [device]
    clock.advance(days=31)
    assert set(drills.untested_one_key_alarms()) == {device, tested}


def _case(device, opened, *, state, ack=None, arrive=None, is_test=False):
    at = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=opened)
    return AlarmCase.objects.create(
        school=device.school,
        device=device,
        state=state,
        is_test=is_test,
        opened_at=at,
        last_event_at=at,
        acknowledged_at=at + dt.timedelta(seconds=ack) if ack is not None else None,
        arrived_at=at + dt.timedelta(seconds=arrive) if arrive is not None else None,
    )


@pytest.fixture
def hand_made(device):
    _case(device, 0, state=State.RESOLVED, ack=10, arrive=120)
    _case(device, 10, state=State.RESOLVED, ack=20, arrive=200)
    _case(device, 20, state=State.FALSE_ALARM, ack=30)
    _case(device, 30, state=State.FALSE_ALARM, ack=40)
    _case(device, 40, state=State.ACKNOWLEDGED, ack=50)
    _case(device, 50, state=State.TEST, ack=1, arrive=1, is_test=True)


def test_the_summary_block_counts_real_cases_only(hand_made, school):
    block = statistics.summary_block(School.objects.filter(pk=school.pk))
    assert block == {
        "total": 5,
        "false_alarm_rate": 0.5,
        "p50_ack_s": 30.0,
        "p90_arrival_s": 200.0,
    }


def test_the_summary_block_of_schools_without_alarms_is_zero(db, school):
    assert statistics.summary_block(School.objects.filter(pk=school.pk)) == {
        "total": 0,
        "false_alarm_rate": 0.0,
        "p50_ack_s": None,
        "p90_arrival_s": None,
    }


def test_response_times_are_grouped_by_district_and_month(hand_made):
    [row] = statistics.response_times(AlarmCase.objects.all())
    assert (row["district_code"], row["month"]) == ("371402", "2026-03")
    assert row["ack"] == {"count": 5, "p50_s": 30.0, "p90_s": 50.0}
    assert row["arrive"] == {"count": 2, "p50_s": 120.0, "p90_s": 200.0}


def test_false_alarm_rate_per_device(hand_made, device):
    [row] = statistics.false_alarm_rates(AlarmCase.objects.all(), by="device")
    assert (row["id"], row["closed"], row["false_alarms"], row["rate"]) == (device.pk, 4, 2, 0.5)
