"""API fixtures: a signed-in client per kind of user, and two districts to scope by."""

import pytest
from rest_framework.test import APIClient

from campus_safety.orgs.models import Organisation
from tests.factories import (
    CountyFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)


@pytest.fixture
def api():
    """Sign a user in through the session (both factors), as Swagger UI does."""

    def signed_in(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            sign_in(client, user)
        return client

    return signed_in


@pytest.fixture
def districts(db):
    """德城区 with a police station and two schools, 陵城区 with one school."""
    decheng = CountyFactory(code="371402", name="德城区")
    lingcheng = CountyFactory(code="371403", name="陵城区")
    station = OrganisationFactory(
        name="新华派出所", kind=Organisation.Kind.POLICE_STATION, region=decheng
    )
    a = SchoolFactory(region=decheng, police_station=station)
    b = SchoolFactory(region=decheng)
    c = SchoolFactory(region=lingcheng)
    return {"decheng": decheng, "lingcheng": lingcheng, "station": station, "schools": (a, b, c)}


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, role="system_admin")


@pytest.fixture
def decheng_staff(districts):
    """Education-bureau staff of 德城区: may write within the district."""
    bureau = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=districts["decheng"]
    )
    return UserFactory(role="education_staff", organisation=bureau)


@pytest.fixture
def bare_api():
    """A client authenticated inside DRF only: no session, 2FA or audit middleware
    queries, so a query count measures the endpoint alone."""

    def authenticated(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return authenticated
