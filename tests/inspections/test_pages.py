"""The pages and the API through the user's scope: the board, a school's history, the
rules, patrols, notices (answer with a photo over HTTP), VQD results, Excel exports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from campus_safety.inspections import daily, notices, patrols, quality
from campus_safety.inspections.models import DailyResult, Notice
from campus_safety.simulator import camera_faults
from tests.factories import sign_in
from tests.hazards.support import upload
from tests.inspections.support import camera

DAY = dt.date(2026, 11, 18)


@pytest.fixture
def results(school, other_school, far_school):
    daily.run_daily_inspection(DAY, issue_notices=False)  # the inspector issues them here


def test_board_ranks_only_the_schools_in_scope(client, inspector, results, school, far_school):
    sign_in(client, inspector)
    page = client.get(reverse("inspections:home"), {"day": DAY.isoformat()})
    assert page.status_code == 200
    text = page.content.decode()
    assert school.name in text
    assert far_school.name not in text
    export = client.get(reverse("inspections:home"), {"day": DAY.isoformat(), "format": "xlsx"})
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_school_user_lands_on_its_own_history(client, school_admin, results, school, far_school):
    sign_in(client, school_admin)
    page = client.get(reverse("inspections:home"))
    assert page.status_code == 302 and page.url == reverse("inspections:school", args=[school.pk])
    assert client.get(page.url).status_code == 200
    assert client.get(reverse("inspections:school", args=[far_school.pk])).status_code == 404


def test_inspector_issues_a_notice_from_the_history(client, inspector, results, school):
    sign_in(client, inspector)
    result = DailyResult.objects.get(school=school, day=DAY)
    page = client.post(reverse("inspections:issue_from_result", args=[result.pk]), {"days": 5})
    notice = Notice.objects.get(school=school)
    assert page.url == reverse("inspections:notice", args=[notice.pk])
    assert client.get(page.url).status_code == 200


def test_rules_page(client, inspector):
    sign_in(client, inspector)
    assert "GB/T 29315-2022" in client.get(reverse("inspections:rules")).content.decode()


def test_patrol_screen_and_a_finding_over_http(client, inspector, school, other_school):
    camera(school, "entrance")
    sign_in(client, inspector)
    page = client.post(reverse("inspections:patrols"), {"schools": [school.pk, other_school.pk]})
    assert page.status_code == 302
    screen = client.get(page.url)
    assert screen.status_code == 200 and school.name in screen.content.decode()
    cam = screen.context["cameras"][0]["device"]
    client.post(page.url, {"step": "finding", "device": cam.pk, "kind": "camera_blocked"})
    notice = Notice.objects.get(school=school)
    assert notice.findings.get().device == cam


def test_school_answers_with_a_photo_and_the_inspector_accepts(
    client, inspector, school_admin, school, photo
):
    patrol = patrols.start_patrol(inspector, [school])
    notice = patrols.record_finding(patrol, inspector, school=school, kind="no_guard").notice
    url = reverse("inspections:notice", args=[notice.pk])
    sign_in(client, school_admin)
    client.post(url, {"step": "answer", "note": "已安排", "photos": [upload(photo)]})
    notice.hazard.refresh_from_db()
    assert notice.hazard.status == "submitted"
    assert client.post(url, {"step": "accept"}).status_code == 403
    client.logout()
    sign_in(client, inspector)
    client.post(url, {"step": "accept"})
    notice.hazard.refresh_from_db()
    assert notice.hazard.status == "closed"
    listing = client.get(reverse("inspections:notices"), {"state": "closed"})
    assert notice.reference in listing.content.decode()


def test_vqd_pages_show_the_diagnosed_picture(client, inspector, school):
    import random

    import numpy as np

    cam = camera(school, "entrance")
    rng = random.Random(3)
    scene = np.full((576, 704, 3), 90, np.uint8)
    scene[::16] = 200  # some texture
    quality.diagnose_picture(cam, camera_faults.jpeg(camera_faults.noise(scene, rng, 2)))
    sign_in(client, inspector)
    page = client.get(reverse("inspections:vqd"), {"show": "all"})
    assert page.status_code == 200
    detail = client.get(reverse("inspections:vqd_camera", args=[cam.pk]))
    assert detail.status_code == 200
    check = detail.context["checks"][0]["c"]
    if check.picture:
        assert client.get(reverse("inspections:vqd_picture", args=[check.pk])).status_code == 200


def test_api_lists_in_scope_and_takes_steps(
    client, inspector, school_admin, school, far_school, photo
):
    daily.run_daily_inspection(DAY)
    patrol = patrols.start_patrol(inspector, [school])
    notice = patrols.record_finding(patrol, inspector, school=school, kind="gate_open").notice
    sign_in(client, school_admin)
    rows = client.get("/api/v1/inspections/results/").json()
    ids = {row["school"] for row in rows.get("results", rows)}
    assert ids == {school.pk}
    answered = client.post(
        f"/api/v1/inspections/notices/{notice.pk}/answer/",
        {"note": "已关门", "photos": [upload(photo)]},
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "submitted"


def test_inspector_keeps_ticked_schools_as_a_plan(client, inspector, school, other_school):
    from campus_safety.inspections.models import PatrolPlan

    sign_in(client, inspector)
    client.post(
        reverse("inspections:patrols"),
        {
            "step": "plan",
            "name": "每周巡查",
            "every_days": 7,
            "schools": [school.pk, other_school.pk],
        },
    )
    plan = PatrolPlan.objects.get()
    assert set(plan.schools.all()) == {school, other_school} and plan.inspector == inspector
    page = client.get(reverse("inspections:patrols"))
    assert "每周巡查" in page.content.decode()


def test_board_and_notice_list_need_as_many_queries_for_many_rows(
    client, inspector, county, station, django_assert_max_num_queries
):
    from tests.factories import SchoolFactory

    for _ in range(12):
        SchoolFactory(region=county, police_station=station)
    daily.run_daily_inspection(DAY, issue_notices=False)  # one notice each, by hand
    for result in DailyResult.objects.all():
        notices.issue_notice(
            inspector,
            school=result.school,
            source=Notice.Source.DAILY,
            items=notices.items_from_result(result),
            daily_result=result,
        )
    sign_in(client, inspector)
    with django_assert_max_num_queries(20):
        board = client.get(reverse("inspections:home"), {"day": DAY.isoformat()})
    with django_assert_max_num_queries(20):
        listing = client.get(reverse("inspections:notices"))
    assert len(board.context["rows"]) == 12 and len(listing.context["rows"]) == 12


def test_vqd_fault_filter_finds_cameras_beyond_the_first_page(
    client, inspector, school, monkeypatch
):
    from django.utils import timezone

    from campus_safety.inspections.models import CameraQuality
    from campus_safety.web import listing

    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    since = timezone.now()
    for index, faults in enumerate([["blur"], ["blur"], ["dark", "moved"]]):
        CameraQuality.objects.create(
            device=camera(school, "entrance"),
            school=school,
            faults=faults,
            faulty_since=since + dt.timedelta(minutes=index),
        )
    sign_in(client, inspector)
    page = client.get(reverse("inspections:vqd"), {"fault": "moved"})
    assert [row["q"].faults for row in page.context["rows"]] == [["dark", "moved"]]
    assert dict((code, n) for code, _label, n in page.context["counts"])["blur"] == 2
    second = client.get(reverse("inspections:vqd"), {"fault": "blur", "page": 2})
    assert [row["q"].faults for row in second.context["rows"]] == [["blur"]]
    assert second.context["page"].paginator.count == 2
    assert client.get(reverse("inspections:vqd"), {"fault": "nonsense"}).status_code == 200


def test_board_notices_and_patrol_lists_page_instead_of_stopping(
    client, inspector, county, station, monkeypatch
):
    """Page 2 shows the rows page 1 does not, and together they are every row."""
    from campus_safety.web import listing
    from tests.factories import SchoolFactory

    schools = [SchoolFactory(region=county, police_station=station) for _ in range(7)]
    daily.run_daily_inspection(DAY, issue_notices=False)  # one notice each, by hand
    for result in DailyResult.objects.all():
        notices.issue_notice(
            inspector,
            school=result.school,
            source=Notice.Source.DAILY,
            items=notices.items_from_result(result),
            daily_result=result,
        )
    for school in schools:
        patrols.start_patrol(inspector, [school])
    monkeypatch.setattr(listing, "PAGE_SIZE", 5)
    sign_in(client, inspector)
    url = reverse("inspections:home")
    first = client.get(url, {"day": DAY.isoformat()})
    second = client.get(url, {"day": DAY.isoformat(), "page": 2})
    board = [row["result"].school.name for row in first.context["rows"]]
    board += [row["result"].school.name for row in second.context["rows"]]
    assert len(first.context["rows"]) == 5 and len(second.context["rows"]) == 2
    assert sorted(board) == sorted(s.name for s in schools)
    assert 'rel="next"' in first.content.decode() and "page=2" in first.content.decode()

    url = reverse("inspections:notices")
    first, second = client.get(url, {"state": "all"}), client.get(url, {"state": "all", "page": 2})
    refs = [row["notice"].reference for row in first.context["rows"] + second.context["rows"]]
    assert sorted(refs) == sorted(Notice.objects.values_list("reference", flat=True))
    assert len(set(refs)) == 7

    url = reverse("inspections:patrols")
    first = client.get(url)
    second = client.get(url, {"schools_page": 2, "patrols_page": 2})
    ticked = [s.name for s in first.context["candidates"]]
    ticked += [s.name for s in second.context["candidates"]]
    assert sorted(ticked) == sorted(s.name for s in schools)
    done = list(first.context["patrols"]) + list(second.context["patrols"])
    assert len({p.pk for p in done}) == 7
    assert "schools_page=2" in first.content.decode()
    assert "patrols_page=2" in first.content.decode()
    narrowed = client.get(url, {"q": schools[3].name})
    assert [s.name for s in narrowed.context["candidates"]] == [schools[3].name]


def test_device_page_shows_the_camera_picture_quality(client, inspector, school, far_school):
    """The device page loads the camera's VQD summary: its faults now and the checks."""
    from campus_safety.inspections.models import CameraQuality

    cam = camera(school, "entrance")
    CameraQuality.objects.create(device=cam, school=school, faults=["blur", "moved"])
    sign_in(client, inspector)
    device_page = client.get(reverse("devices:device_detail", args=[cam.pk]))
    summary_url = reverse("inspections:vqd_summary", args=[cam.pk])
    assert device_page.status_code == 200 and summary_url in device_page.content.decode()
    summary = client.get(summary_url)
    assert summary.status_code == 200
    assert "Blurred" in summary.content.decode() and "Camera moved" in summary.content.decode()
    elsewhere = camera(far_school, "entrance")
    assert client.get(reverse("inspections:vqd_summary", args=[elsewhere.pk])).status_code == 404
