"""Two schools of one county, their administrators, and an SMS gateway stand-in."""

import pytest

from tests.alarms.support import station_chain
from tests.factories import CountyFactory, SchoolFactory, UserFactory
from tests.messaging.support import SECRET, FakeGateway


@pytest.fixture
def county(db):
    return CountyFactory(code="371402", name="德城区")


@pytest.fixture
def school(county):
    return SchoolFactory(region=county, police_station=station_chain(county), name="德城区实验小学")


@pytest.fixture
def other_school(county):
    return SchoolFactory(region=county, police_station=station_chain(county), name="德城区第二中学")


@pytest.fixture
def school_admin(school):
    return UserFactory(role="school_admin", school=school)


@pytest.fixture
def other_admin(other_school):
    return UserFactory(role="school_admin", school=other_school)


@pytest.fixture
def gateway(settings):
    """The stand-in gateway, with the platform's SMS settings pointing at it."""
    with FakeGateway() as fake:
        settings.SMS_BACKEND = "http"
        settings.SMS_HTTP_URL = fake.url
        settings.SMS_HTTP_SECRET = SECRET
        settings.SMS_HTTP_TIMEOUT = 0.5
        settings.SMS_RETRY_SECONDS = 30
        settings.SMS_MAX_ATTEMPTS = 3
        yield fake
