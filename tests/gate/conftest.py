"""A small world for the gate: a county, two police stations with a school each, a city
command centre, and users of every side."""

import datetime as dt

import pytest
from django.utils import translation

from campus_safety.gate import services
from campus_safety.orgs.models import Organisation, School
from tests.alarms.support import station_chain
from tests.factories import CountyFactory, SchoolFactory, UserFactory, city_region


@pytest.fixture(autouse=True)
def english(settings):
    """These tests pin the English messages; the platform's default is Chinese."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def county(db):
    return CountyFactory(code="371402", name="德城区")


@pytest.fixture
def station(county):
    return station_chain(county)


@pytest.fixture
def other_station(county):
    return station_chain(county)


@pytest.fixture
def school(county, station):
    return SchoolFactory(
        region=county,
        police_station=station,
        name="德城区实验幼儿园",
        kind=School.Kind.KINDERGARTEN,
    )


@pytest.fixture
def other_school(county, other_station):
    return SchoolFactory(region=county, police_station=other_station, name="德城区第二小学")


@pytest.fixture
def guard(school):
    return UserFactory(role="guard", school=school, display_name="门卫老王")


@pytest.fixture
def school_admin(school):
    return UserFactory(role="school_admin", school=school)


@pytest.fixture
def other_guard(other_school):
    return UserFactory(role="guard", school=other_school)


@pytest.fixture
def officer(station):
    return UserFactory(role="police_officer", organisation=station)


@pytest.fixture
def other_officer(other_station):
    return UserFactory(role="police_officer", organisation=other_station)


@pytest.fixture
def command(db):
    """The city command centre's dispatcher (region-wide)."""
    return UserFactory(role="dispatcher", region=city_region())


@pytest.fixture
def education(county):
    bureau = Organisation.objects.create(
        name="德城区教育和体育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=county
    )
    return UserFactory(role="education_staff", organisation=bureau)


WATCHED_ID = "11010519491231002X"
VISITOR_ID = "440524188001010014"


@pytest.fixture
def entry(officer, station, clock):
    now = clock.now()
    return services.create_entry(
        by=officer,
        station=station,
        name="赵某某",
        reason="protection_order",
        document_number=WATCHED_ID,
        plate="鲁N99999",
        valid_from=now - dt.timedelta(days=1),
        valid_until=now + dt.timedelta(days=30),
    )


def visitor(**overrides):
    fields = {
        "document_kind": "id_card",
        "document_number": VISITOR_ID,
        "name": "钱多多",
        "purpose": "送教材",
        "host": "孙老师",
        "phone": "13812345678",
    }
    fields.update(overrides)
    return fields
