import pytest

from campus_safety.orgs.models import Organisation
from tests.alarms.support import PoliceUnitFactory, station_chain
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, SchoolFactory, UserFactory


@pytest.fixture
def county(db):
    return CountyFactory(code="371402", name="德城区")


@pytest.fixture
def station(county):
    return station_chain(county)


@pytest.fixture
def school(county, station):
    return SchoolFactory(
        region=county,
        police_station=station,
        principal_name="王校长",
        principal_phone="13812345678",
        has_police_room=True,
        police_room_officer="李警官",
        police_room_phone="13900001111",
    )


@pytest.fixture
def device(school):
    return DeviceFactory(school=school, key_area="entrance")


@pytest.fixture
def unit(station):
    return PoliceUnitFactory(organisation=station)


@pytest.fixture
def dispatcher(county):
    return UserFactory(role="dispatcher", region=county)


@pytest.fixture
def school_admin(school):
    return UserFactory(role="school_admin", school=school)


@pytest.fixture
def bureau_staff(county):
    bureau = Organisation.objects.create(
        name="德城区教育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=county
    )
    return UserFactory(role="education_staff", organisation=bureau)
