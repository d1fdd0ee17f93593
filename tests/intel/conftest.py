"""Fixtures shared by the intel page and entry tests."""

from __future__ import annotations

import pytest

from campus_safety.orgs.models import Organisation
from tests.alarms.support import station_chain
from tests.factories import CountyFactory, SchoolFactory, UserFactory


@pytest.fixture
def world(db):
    county = CountyFactory(code="371402", name="德城区")
    other_county = CountyFactory(code="371403", name="陵城区")
    station, other_station = station_chain(county), station_chain(other_county)
    school = SchoolFactory(region=county, police_station=station, latitude=37.45, longitude=116.30)
    other = SchoolFactory(
        region=other_county, police_station=other_station, latitude=37.60, longitude=116.60
    )
    bureau = Organisation.objects.create(
        name="德城区教育和体育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=county
    )
    return {
        "school": school,
        "other": other,
        "officer": UserFactory(role="police_officer", organisation=station),
        "education": UserFactory(role="education_staff", organisation=bureau),
        "school_admin": UserFactory(role="school_admin", school=school),
    }
