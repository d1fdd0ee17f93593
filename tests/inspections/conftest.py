"""A small world for inspections: one county with an education bureau, a police
station, two schools, users of every side (English messages pinned)."""

import pytest
from django.utils import translation

from campus_safety.orgs.models import Organisation
from tests.alarms.support import station_chain
from tests.factories import CountyFactory, SchoolFactory, UserFactory
from tests.hazards.support import jpeg_bytes


@pytest.fixture(autouse=True)
def english(settings):
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
def bureau(county):
    return Organisation.objects.create(
        name="德城区教育和体育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=county
    )


@pytest.fixture
def station(county):
    return station_chain(county)


@pytest.fixture
def school(county, station):
    return SchoolFactory(region=county, police_station=station, name="德城区实验小学")


@pytest.fixture
def other_school(county, station):
    return SchoolFactory(region=county, police_station=station, name="德城区第二中学")


@pytest.fixture
def far_school(db):
    return SchoolFactory(region=CountyFactory(code="371403", name="陵城区"), name="陵城区一中")


@pytest.fixture
def school_admin(school):
    return UserFactory(role="school_admin", school=school, display_name="张主任")


@pytest.fixture
def officer(station):
    return UserFactory(role="police_officer", organisation=station, display_name="李警官")


@pytest.fixture
def inspector(bureau):
    return UserFactory(role="education_staff", organisation=bureau, display_name="王科长")


@pytest.fixture
def photo():
    return jpeg_bytes()
