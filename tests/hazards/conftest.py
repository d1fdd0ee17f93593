"""A small world for hazards: one county with an education bureau, a city education
bureau above it, two police stations (each under a sub-bureau), a school under each
station, and users of every side."""

import pytest
from django.utils import translation

from campus_safety.orgs.models import Organisation
from tests.alarms.support import station_chain
from tests.factories import CountyFactory, SchoolFactory, UserFactory, city_region
from tests.hazards.support import jpeg_bytes


@pytest.fixture(autouse=True)
def english(settings):
    """These tests pin the English messages; the platform's default is Chinese."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def county(db):
    return CountyFactory(code="371402", name="德城区")


@pytest.fixture
def bureaus(county):
    city = city_region()
    city_bureau = Organisation.objects.create(
        name="德州市教育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=city
    )
    county_bureau = Organisation.objects.create(
        name="德城区教育和体育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=county
    )
    return {"city": city_bureau, "county": county_bureau}


@pytest.fixture
def station(county):
    return station_chain(county)


@pytest.fixture
def other_station(county):
    return station_chain(county)


@pytest.fixture
def school(county, station):
    return SchoolFactory(region=county, police_station=station, name="德城区实验小学")


@pytest.fixture
def other_school(county, other_station):
    return SchoolFactory(region=county, police_station=other_station, name="德城区第二中学")


@pytest.fixture
def school_admin(school):
    return UserFactory(role="school_admin", school=school, display_name="张主任")


@pytest.fixture
def other_school_admin(other_school):
    return UserFactory(role="school_admin", school=other_school)


@pytest.fixture
def officer(station):
    return UserFactory(role="police_officer", organisation=station, display_name="李警官")


@pytest.fixture
def other_officer(other_station):
    return UserFactory(role="police_officer", organisation=other_station)


@pytest.fixture
def education(bureaus):
    return UserFactory(
        role="education_staff", organisation=bureaus["county"], display_name="王科长"
    )


@pytest.fixture
def photo():
    return jpeg_bytes()
