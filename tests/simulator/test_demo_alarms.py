"""The demo city's alarm history (simulator/demo_alarms.py): a believable year, and the
days a demo started later adds in between."""

import datetime as dt
import random

import pytest
from django.db.models import Max, Min

from campus_safety.alarms.models import AlarmCase
from campus_safety.simulator import demo_alarms
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def device():
    return DeviceFactory(school=SchoolFactory(), key_area="entrance")


def test_the_demo_history_is_a_believable_year(device):
    end = dt.date(2026, 3, 1)
    made = demo_alarms.build(random.Random(1), [device.school], [device], end, cases_per_school=40)
    cases = AlarmCase.objects.filter(is_test=False)
    assert made == AlarmCase.objects.count() and cases.count() == 40
    assert 1 <= AlarmCase.objects.filter(is_test=True).count() <= 4
    assert cases.filter(closed_at__isnull=True).count() == 0
    dispatched = cases.filter(arrived_at__isnull=False)
    assert dispatched.filter(is_breach=False).count() >= 0.8 * dispatched.count()
    span = AlarmCase.objects.aggregate(first=Min("opened_at"), last=Max("opened_at"))
    assert end - dt.timedelta(days=365) <= span["first"].date() and span["last"].date() < end


def test_a_demo_started_weeks_later_gets_the_days_in_between():
    devices = [DeviceFactory(school=SchoolFactory()) for _ in range(80)]
    schools = [d.school for d in devices]
    end = dt.date(2026, 3, 1)
    demo_alarms.build(random.Random(1), schools, devices, end)
    later = dt.datetime(2026, 3, 31, 9, tzinfo=dt.UTC)
    made = demo_alarms.fill_alarm_history(later)
    gap = AlarmCase.objects.filter(opened_at__gte=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    assert made == gap.count() > 0  # 1.5 a school a year: about 9 in 29 days
    assert not gap.filter(closed_at__isnull=True).exists()
    assert gap.aggregate(last=Max("opened_at"))["last"] < dt.datetime(2026, 3, 31, tzinfo=dt.UTC)
