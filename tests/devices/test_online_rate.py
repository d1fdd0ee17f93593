"""Online rates (在线率) per school, district, city and key area, computed in the database."""

from campus_safety.devices.models import Device
from campus_safety.devices.services import (
    online_rate,
    online_rate_by_city,
    online_rate_by_district,
    online_rate_by_key_area,
    online_rate_by_school,
)
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, SchoolFactory


def test_online_rates_are_computed_in_one_query_per_grouping(django_assert_num_queries):
    east, west = CountyFactory(code="371402", name="德城区"), CountyFactory(code="371403")
    school_a, school_b = SchoolFactory(region=east), SchoolFactory(region=west)
    for status in ("online", "online", "offline"):
        DeviceFactory(school=school_a, status=status, key_area="entrance")
    for status in ("online", "fault", "unknown", "offline"):
        DeviceFactory(school=school_b, status=status, key_area="perimeter")
    devices = Device.objects.all()
    with django_assert_num_queries(1):
        overall = online_rate(devices)
    assert (overall.total, overall.online) == (7, 3)
    with django_assert_num_queries(1):
        by_school = {r.key: (r.total, r.online) for r in online_rate_by_school(devices)}
    assert by_school == {school_a.pk: (3, 2), school_b.pk: (4, 1)}
    with django_assert_num_queries(1):
        by_district = {r.key: r for r in online_rate_by_district(devices)}
    assert by_district["371402"].name == "德城区"
    assert round(by_district["371402"].rate, 3) == 0.667
    with django_assert_num_queries(1):
        (city,) = online_rate_by_city(devices)
    assert (city.key, city.total, city.online) == ("371400", 7, 3)
    with django_assert_num_queries(1):
        by_area = {r.key: (r.total, r.online, r.name) for r in online_rate_by_key_area(devices)}
    assert by_area["entrance"][:2] == (3, 2)
    assert by_area["perimeter"][:2] == (4, 1)


def test_an_empty_group_has_a_rate_of_zero_not_an_error():
    assert online_rate(Device.objects.none()).rate == 0.0
