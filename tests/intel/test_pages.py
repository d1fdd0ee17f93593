"""Pages and API with scopes: schools never see persons; the education bureau sees
alerts of its schools only; the citizen tip form's rate limit and photo checks."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from campus_safety.intel import services
from campus_safety.intel.models import Alert, Lead
from tests.factories import sign_in
from tests.hazards.support import jpeg_bytes

from .support import incident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings, tmp_path):
    settings.LANGUAGE_CODE = "en"
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    with translation.override("en"):
        yield


def _alert(school, reference):
    now = timezone.now()
    alert = Alert.objects.create(
        reference=reference,
        signature=reference,
        kind="theft",
        scan_date=now.date(),
        raised_at=now,
        latitude=school.latitude,
        longitude=school.longitude,
        radius_m=500,
        window_start=now.date() - dt.timedelta(days=2),
        window_end=now.date(),
        observed=6,
        expected=0.8,
        statistic=9.1,
        p_value=0.001,
        recurrence_days=1000,
        school=school,
        region=school.region,
        police_station=school.police_station,
    )
    alert.schools.set([school])
    return alert


def test_schools_never_see_persons_or_incidents(client, world):
    inc = incident(lat=37.45, lon=116.30, persons=[{"role": "suspect", "name": "张三"}])
    sign_in(client, world["school_admin"])
    assert client.get("/intel/incidents/").status_code == 403
    assert client.get(f"/intel/incidents/{inc.pk}/").status_code == 403
    assert client.get("/api/v1/intel/incidents/").status_code == 403
    assert client.get("/intel/").status_code == 403
    assert client.get("/intel/leads/").status_code == 403
    # a school may submit a lead through the API, never read leads
    made = client.post(
        "/api/v1/intel/leads/", {"summary": "门口有可疑人员"}, content_type="application/json"
    )
    assert made.status_code == 201
    assert Lead.objects.get().source == Lead.Source.SCHOOL
    assert client.get("/api/v1/intel/leads/").status_code == 403


def test_education_sees_alerts_of_its_schools_only_without_persons(client, world):
    mine, theirs = _alert(world["school"], "YJ-MINE"), _alert(world["other"], "YJ-THEIRS")
    inc = incident(lat=37.45, lon=116.30, persons=[{"role": "victim", "name": "李四"}])
    mine.incidents.set([inc])
    sign_in(client, world["education"])
    page = client.get("/intel/").content.decode()
    assert "YJ-MINE" in page and "YJ-THEIRS" not in page
    detail = client.get(f"/intel/alerts/{mine.pk}/").content.decode()
    assert inc.reference not in detail and "李" not in detail
    assert client.get(f"/intel/alerts/{theirs.pk}/").status_code == 404
    refs = {a["reference"] for a in client.get("/api/v1/intel/alerts/").json()["results"]}
    assert refs == {"YJ-MINE"}
    assert client.get("/api/v1/intel/incidents/").status_code == 403
    # the bureau may acknowledge its alert, not start an operation
    assert (
        client.post(f"/intel/alerts/{mine.pk}/step/", {"action": "acknowledge"}).status_code == 302
    )
    assert client.post(f"/intel/alerts/{mine.pk}/operation/").status_code == 403


def test_police_pages_render_and_mask_persons(client, world):
    inc = incident(
        lat=37.45,
        lon=116.30,
        persons=[
            {
                "role": "suspect",
                "name": "张三丰",
                "id_number": "371402200801011234",
                "is_minor": True,
            }
        ],
    )
    alert = _alert(world["school"], "YJ-POLICE")
    alert.incidents.set([inc])
    sign_in(client, world["officer"])
    for url in [
        "/intel/",
        "/intel/incidents/",
        "/intel/leads/",
        "/intel/groups/",
        "/intel/operations/",
        "/intel/risk/",
        f"/intel/alerts/{alert.pk}/",
    ]:
        assert client.get(url).status_code == 200, url
    detail = client.get(f"/intel/incidents/{inc.pk}/").content.decode()
    assert "张**" in detail and "张三丰" not in detail and "3714**********1234" in detail
    api = client.get("/api/v1/intel/incidents/").json()["results"][0]
    assert api["persons"][0]["name"] == "张**"
    export = client.get("/intel/incidents/?export=xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd")
    made = client.post(
        "/api/v1/intel/incidents/",
        {
            "kind": "theft",
            "occurred_at": "2026-05-01T10:00:00+08:00",
            "latitude": 37.45,
            "longitude": 116.30,
            "persons": [{"role": "victim", "name": "王五", "is_minor": True}],
        },
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    bad = client.post(
        "/api/v1/intel/incidents/",
        {"kind": "nonsense", "latitude": 99},
        content_type="application/json",
    )
    assert bad.status_code == 400


def test_lead_list_pager_links_reach_the_next_page(client, world, settings):
    for n in range(51):
        services.submit_lead(source="police", summary=f"线索{n}", latitude=37.45, longitude=116.30)
    sign_in(client, world["officer"])
    page = client.get("/intel/leads/").content.decode()
    link = re.search(r'<a href="([^"]*page=2[^"]*)"', page).group(1)
    assert link.startswith("?page=") and "??" not in link
    second = client.get("/intel/leads/" + html.unescape(link)).content.decode()
    assert len(re.findall(r'href="/intel/leads/\d+/"', second)) == 1  # the 51st
    assert 'aria-current="page">2<' in second


def test_officer_starts_operation_from_alert(client, world):
    alert = _alert(world["school"], "YJ-OP")
    sign_in(client, world["officer"])
    response = client.post(f"/intel/alerts/{alert.pk}/operation/")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "YJ-OP" in page


def test_citizen_tip_without_login_rate_limited(client, world, settings):
    settings.INTEL_TIPS_PER_HOUR = 2
    assert client.get("/intel/tip/").status_code == 200
    for _ in range(2):
        response = client.post(
            "/intel/tip/", {"summary": "校门口有人卖管制刀具", "address": "长江路"}
        )
        assert response.status_code == 200
    assert Lead.objects.filter(source="citizen").count() == 2
    limited = client.post("/intel/tip/", {"summary": "第三条"})
    assert limited.status_code == 429
    assert Lead.objects.count() == 2


def test_citizen_tip_limit_is_per_citizen_behind_the_proxy(client, world, settings):
    settings.INTEL_TIPS_PER_HOUR = 1
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    first = client.post("/intel/tip/", {"summary": "一"}, HTTP_X_FORWARDED_FOR="1.1.1.1", **proxy)
    other = client.post("/intel/tip/", {"summary": "二"}, HTTP_X_FORWARDED_FOR="2.2.2.2", **proxy)
    again = client.post("/intel/tip/", {"summary": "三"}, HTTP_X_FORWARDED_FOR="1.1.1.1", **proxy)
    assert (first.status_code, other.status_code, again.status_code) == (200, 200, 429)


def test_citizen_tip_photo_checked(client, world):
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post("/intel/tip/", {"summary": "照片不对", "photo": fake})
    assert response.status_code == 400 and Lead.objects.count() == 0
    good = SimpleUploadedFile("p.jpg", jpeg_bytes(gps=True), content_type="image/jpeg")
    response = client.post("/intel/tip/", {"summary": "有照片", "photo": good})
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.photo.name.endswith(".jpg")


def test_lead_steps_on_page(client, world):
    lead = services.submit_lead(
        source="citizen", summary="可疑车辆", latitude=37.45, longitude=116.30
    )
    sign_in(client, world["officer"])
    assert (
        client.post(
            f"/intel/leads/{lead.pk}/", {"action": "triage", "priority": "urgent", "note": ""}
        ).status_code
        == 302
    )
    lead.refresh_from_db()
    assert lead.status == "triaged" and lead.priority == "urgent"
    response = client.post(f"/intel/leads/{lead.pk}/", {"action": "dismiss", "note": ""})
    assert response.status_code == 200  # no reason: refused, shown on the page
    lead.refresh_from_db()
    assert lead.status == "triaged"
