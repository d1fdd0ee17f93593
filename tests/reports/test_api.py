"""Every figure of the screen and the reports in the REST API, with the pages' scopes."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from campus_safety.devices.models import Device
from campus_safety.reports import scheduled
from tests.factories import GuardFactory, SchoolFactory, UserFactory, sign_in
from tests.reports.support import device_with_history

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    sign_in(client, user)
    return client


@pytest.fixture
def town(decheng, lingcheng):
    a = SchoolFactory(region=decheng)
    GuardFactory(school=a)
    SchoolFactory(region=lingcheng)
    return a


def test_a_city_user_gets_every_figure(town, decheng, clock):
    api = client_for(UserFactory(role="dispatcher", region=decheng.parent))
    board = api.get("/api/v1/reports/targets/").json()
    assert board["schools"] == 2 and {d["code"] for d in board["districts"]} == {"371402", "371403"}
    trend = api.get("/api/v1/reports/targets/trend/?weeks=2").json()
    assert len(trend["weeks"]) == 2
    assert api.get("/api/v1/reports/targets/?region=371402").json()["schools"] == 1
    device_with_history(town, [(clock.now() - dt.timedelta(days=2), Device.Status.ONLINE)])
    history = api.get("/api/v1/reports/availability/?days=3").json()
    assert history["districts"]["371402"]["rate"] == 1.0 and len(history["days"]) == 3
    text = api.get("/api/v1/reports/campaign/").json()
    assert text["figures"]["schools"]["value"] == 2 and len(text["paragraphs"]) == 4
    assert api.get("/api/v1/reports/campaign/?from=2026-02-30").status_code == 400
    assert api.get("/api/v1/reports/big-screen/").json()["devices"]["online"] == 1
    assert len(api.get("/api/v1/reports/big-screen/kpi/").json()["districts"]) == 2


def test_a_district_user_gets_its_district_only(town, decheng, clock):
    api = client_for(UserFactory(role="dispatcher", region=decheng))
    assert api.get("/api/v1/reports/targets/").json()["schools"] == 1
    assert api.get("/api/v1/reports/targets/?region=371403").status_code == 404
    assert api.get("/api/v1/reports/campaign/?region=371403").status_code == 404
    scheduled.generate("weekly", decheng.parent, dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    mine = scheduled.generate("weekly", decheng, dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    listed = api.get("/api/v1/reports/generated/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["id"] for r in rows] == [mine.pk]
    figures = api.get(f"/api/v1/reports/generated/{mine.pk}/figures/").json()
    assert figures["region"]["code"] == "371402"


def test_a_school_administrator_has_no_big_screen(town):
    api = client_for(UserFactory(role="school_admin", school=town))
    assert api.get("/api/v1/reports/big-screen/").status_code == 403
