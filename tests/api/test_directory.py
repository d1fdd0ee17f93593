"""``/api/v1/regions/`` and ``/api/v1/organisations/``: read-only directories."""

import pytest

from campus_safety.orgs.models import Organisation
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
REGIONS = "/api/v1/regions/"
ORGANISATIONS = "/api/v1/organisations/"
SQUARE = {"type": "Polygon", "coordinates": [[[116, 37], [117, 37], [117, 38], [116, 37]]]}


@pytest.fixture
def reader(districts):
    return UserFactory(role="dispatcher", region=districts["decheng"])


def codes(response):
    assert response.status_code == 200, response.content
    return [row["code"] for row in response.json()["results"]]


def test_anonymous_cannot_read_the_directories(api, districts):
    assert api().get(REGIONS).status_code in (401, 403)
    assert api().get(ORGANISATIONS).status_code in (401, 403)


def test_regions_filter_by_level_and_parent_code(api, reader, districts):
    client = api(reader)
    assert codes(client.get(REGIONS, {"level": "county"})) == ["371402", "371403"]
    assert codes(client.get(REGIONS, {"parent": "371400"})) == ["371402", "371403"]
    assert codes(client.get(REGIONS, {"level": "city"})) == ["371400"]


def test_region_list_leaves_outlines_out_unless_asked(api, reader, districts):
    districts["decheng"].outline = SQUARE
    districts["decheng"].save()
    client = api(reader)
    row = client.get(REGIONS, {"level": "county"}).json()["results"][0]
    assert "outline" not in row
    row = client.get(REGIONS, {"level": "county", "outline": "1"}).json()["results"][0]
    assert row["outline"] == SQUARE


def test_region_detail_includes_the_outline_and_parent_code(api, reader, districts):
    districts["decheng"].outline = SQUARE
    districts["decheng"].save()
    body = api(reader).get(f"{REGIONS}{districts['decheng'].pk}/").json()
    assert (body["code"], body["parent"], body["outline"]) == ("371402", "371400", SQUARE)


def test_organisations_filter_by_kind_and_region_code(api, reader, districts):
    company = OrganisationFactory(
        kind=Organisation.Kind.SECURITY_COMPANY, region=districts["lingcheng"]
    )
    client = api(reader)
    rows = client.get(ORGANISATIONS, {"kind": "security_company"}).json()["results"]
    assert [r["id"] for r in rows] == [company.pk]
    assert rows[0]["region"] == {"code": "371403", "name": "陵城区"}
    rows = client.get(ORGANISATIONS, {"region": "371402"}).json()["results"]
    assert [r["id"] for r in rows] == [districts["station"].pk]


def test_directories_are_read_only(api, superuser, districts):
    client = api(superuser)
    assert client.post(REGIONS, {"code": "371499"}, format="json").status_code == 405
    assert client.post(ORGANISATIONS, {"name": "x"}, format="json").status_code == 405
