"""The hazard pages: list with filters and KPIs, Excel export, the report form, the
hazard page with its timeline and photos, the map, and the summary report block."""

import io

import pytest
from openpyxl import load_workbook

from campus_safety.hazards import services
from campus_safety.hazards.models import Hazard
from tests.factories import sign_in
from tests.hazards.support import internal, trouble_spot, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def several(school_admin, officer, school, station, photo):
    rows = [internal(school_admin, school, title=f"隐患{n}") for n in range(12)]
    spot = trouble_spot(officer, school, photos=[upload(photo)])
    services.assign_hazard(spot, officer, responsible_kind="police_station", organisation=station)
    return [*rows, spot]


def test_the_list_filters_and_keeps_its_query_count(
    client, education, several, django_assert_max_num_queries
):
    sign_in(client, education)
    with django_assert_max_num_queries(16):
        response = client.get("/hazards/")
    text = response.content.decode()
    assert response.status_code == 200 and "隐患11" in text
    spots = client.get("/hazards/?kind=surrounding&responsible=police_station").content.decode()
    assert "校门口流动摊贩" in spots and "隐患3" not in spots
    partial = client.get("/hazards/?kind=internal", headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="hazard-table"')


def test_a_bad_filter_is_a_400_with_the_reason(client, education, several):
    sign_in(client, education)
    response = client.get("/hazards/?status=nonsense")
    assert response.status_code == 400
    assert "nonsense" in response.content.decode()


def test_the_export_is_what_the_list_shows(client, education, several):
    sign_in(client, education)
    response = client.get("/hazards/?kind=surrounding&export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0].startswith("LD-")


def test_the_hazard_page_shows_timeline_photos_and_steps(
    client, officer, several, django_assert_max_num_queries
):
    spot = several[-1]
    sign_in(client, officer)
    with django_assert_max_num_queries(22):
        response = client.get(f"/hazards/{spot.pk}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "hazard-timeline" in text and "李警官" in text
    assert f"/hazards/photos/{spot.photos.get().pk}/" in text
    assert 'id="step-progress"' in text and 'id="step-verified"' not in text


def test_a_refused_step_on_the_page_says_why(client, school_admin, school):
    hazard = internal(school_admin, school)
    sign_in(client, school_admin)
    response = client.post(f"/hazards/{hazard.pk}/step/", {"step": "submitted", "note": "好了"})
    assert response.status_code == 400
    assert 'id="step-error"' in response.content.decode()
    response = client.post(f"/hazards/{hazard.pk}/step/", {"step": "verified"})
    assert response.status_code == 409  # not submitted yet: the wrong state
    assert Hazard.objects.get(pk=hazard.pk).status == "assigned"


def test_reporting_from_the_phone_form_with_a_photo_and_position(client, officer, school, photo):
    sign_in(client, officer)
    form = client.get("/hazards/report/").content.decode()
    assert 'accept="image/jpeg,image/png,image/webp"' in form and "data-locate" in form
    response = client.post(
        "/hazards/report/",
        {"kind": "surrounding", "school": school.pk, "title": "网吧违规接纳未成年人",
         "category": "public_order", "severity": "high", "source": "police_inspection",
         "spot_kind": "internet_cafe", "location": "学校北侧商业街", "distance_m": "180",
         "longitude": "116.3012", "latitude": "37.4521", "photos": [upload(photo)],
         "strip_location": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    spot = Hazard.objects.get()
    assert (spot.longitude, spot.latitude, spot.distance_m) == (116.3012, 37.4521, 180)
    assert spot.photos.count() == 1 and spot.reported_by == officer
    assert response.url == f"/hazards/{spot.pk}/"


def test_the_map_page_and_its_data(client, officer, several):
    sign_in(client, officer)
    page = client.get("/hazards/map/")
    assert page.status_code == 200 and "hazard-map-config" in page.content.decode()
    data = client.get("/hazards/map.geojson").json()
    spots = [f for f in data["features"] if f["properties"]["layer"] == "spot"]
    assert [s["properties"]["state"] for s in spots] == ["open"]
    assert any(f["properties"]["layer"] == "school" for f in data["features"])


def test_the_summary_report_has_the_hazards_block(client, education, several):
    sign_in(client, education)
    figures = client.get("/api/v1/reports/summary/").json()["hazards"]
    assert figures["internal"] == {"found": 12, "rectified": 0, "open": 12, "overdue": 0}
    assert figures["surrounding"]["open"] == 1
    page = client.get("/report/summary/")
    assert page.status_code == 200 and "summary-hazards" in page.content.decode()


def test_the_navigation_links_the_hazards_for_roles_that_may_read_them(client, school_admin):
    sign_in(client, school_admin)
    assert 'href="/hazards/"' in client.get("/hazards/").content.decode()
