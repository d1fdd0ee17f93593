"""A school administrator sets up the school's patrols on pages: checkpoints (and their
QR codes), routes (checkpoints in walking order), plans (route, times, days, guards),
护学岗 gate posts (place, geofence, head-count) and the school's windows. The pages
refuse what the API refuses, with the same reasons (its serializers), write through the
services the API uses, and reach only the user's own schools."""

import pytest

from campus_safety.audit.models import AuditEntry
from campus_safety.devices.models import Device
from campus_safety.orgs.models import Organisation
from campus_safety.patrols.models import (
    Checkpoint,
    PeakPost,
    SchoolTimetable,
    TourPlan,
    TourRoute,
)
from tests.devices.support import DeviceFactory
from tests.factories import GuardFactory, OrganisationFactory, SchoolFactory, UserFactory, sign_in
from tests.patrols.support import gate_post, tour

pytestmark = pytest.mark.django_db


@pytest.fixture
def schools():
    """Two schools of one district, each with a tour; the first school's administrator."""
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU)
    own = SchoolFactory(region=bureau.region, name="实验小学")
    other = SchoolFactory(region=bureau.region, name="第二中学")
    tour(own, codes=("A", "B", "C"))
    tour(other, codes=("X",))
    head = UserFactory(role="school_admin", school=own)
    return {"own": own, "other": other, "head": head, "bureau": bureau}


def test_a_school_administrator_adds_a_checkpoint_and_prints_its_qr_code(client, schools):
    sign_in(client, schools["head"])
    page = client.get("/patrols/setup/checkpoints/new/").content.decode()
    assert "实验小学" in page and "第二中学" not in page
    body = {"school": schools["own"].pk, "name": "东门", "code": "EAST-1",
            "key_area": "entrance", "is_active": "on"}  # fmt: skip
    response = client.post("/patrols/setup/checkpoints/new/", body)
    assert response.status_code == 302
    assert response.url == f"/patrols/setup/checkpoints/?school={schools['own'].pk}"
    checkpoint = Checkpoint.objects.get(code="EAST-1")
    assert (checkpoint.school, checkpoint.key_area, checkpoint.is_active) == (
        schools["own"], "entrance", True,
    )  # fmt: skip
    assert AuditEntry.objects.filter(action="checkpoint.create", object_id=checkpoint.pk).exists()
    listing = client.get(response.url).content.decode()
    assert "东门" in listing and f"/patrols/tours/checkpoint/{checkpoint.pk}/qr.svg" in listing
    qr = client.get(f"/patrols/tours/checkpoint/{checkpoint.pk}/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"


def test_a_checkpoint_code_is_once_per_school_as_in_the_api(client, schools):
    sign_in(client, schools["head"])
    body = {"school": schools["own"].pk, "name": "又一个A", "code": "A"}
    response = client.post("/patrols/setup/checkpoints/new/", body)
    assert response.status_code == 400
    assert "The school already has a checkpoint with this code." in response.content.decode()
    api = client.post("/api/v1/patrol-checkpoints/", {"school_id": schools["own"].pk,
                      "name": "又一个A", "code": "A"}, content_type="application/json")  # fmt: skip
    assert api.status_code == 400 and "already has a checkpoint" in api.content.decode()
    assert Checkpoint.objects.filter(school=schools["own"], code="A").count() == 1


def test_a_checkpoint_device_must_be_a_checkpoint_of_the_school(client, schools):
    sign_in(client, schools["head"])
    reader = DeviceFactory(school=schools["own"], kind="patrol_checkpoint", name="巡更读卡器")
    DeviceFactory(school=schools["own"], kind="camera", name="门口摄像机")
    page = client.get("/patrols/setup/checkpoints/new/").content.decode()
    assert "巡更读卡器" in page and "门口摄像机" not in page
    body = {"school": schools["own"].pk, "name": "读卡点", "code": "R1", "device": reader.pk}
    assert client.post("/patrols/setup/checkpoints/new/", body).status_code == 302
    assert Checkpoint.objects.get(code="R1").device == reader
    camera = Device.objects.get(kind="camera")
    body.update(code="R2", device=camera.pk)
    assert client.post("/patrols/setup/checkpoints/new/", body).status_code == 400


def test_a_checkpoint_is_renamed_and_taken_out_of_use(client, schools):
    sign_in(client, schools["head"])
    checkpoint = Checkpoint.objects.get(school=schools["own"], code="B")
    url = f"/patrols/setup/checkpoints/{checkpoint.pk}/edit/"
    page = client.get(url).content.decode()
    assert 'value="巡更点B"' in page and "disabled" in page  # the school stays
    body = {"school": schools["other"].pk, "name": "北楼", "code": "B"}  # is_active unticked
    assert client.post(url, body).status_code == 302
    checkpoint.refresh_from_db()
    assert (checkpoint.name, checkpoint.is_active, checkpoint.school) == (
        "北楼", False, schools["own"],
    )  # fmt: skip


def test_another_schools_objects_are_not_found(client, schools):
    sign_in(client, schools["head"])
    other = schools["other"]
    urls = [
        f"/patrols/setup/checkpoints/{other.checkpoints.get().pk}/edit/",
        f"/patrols/setup/routes/{other.tour_routes.get().pk}/edit/",
        f"/patrols/setup/plans/{other.tour_plans.get().pk}/edit/",
        f"/patrols/setup/posts/{gate_post(other).pk}/edit/",
        f"/patrols/setup/schools/{other.pk}/windows/",
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"name": "x"}).status_code == 404, url
    response = client.post("/patrols/setup/checkpoints/new/",
                           {"school": other.pk, "name": "越界", "code": "Z"})  # fmt: skip
    assert response.status_code == 400 and not Checkpoint.objects.filter(code="Z").exists()


def test_a_route_is_the_schools_checkpoints_in_the_order_given(client, schools):
    sign_in(client, schools["head"])
    a, b, c = (Checkpoint.objects.get(school=schools["own"], code=x) for x in "ABC")
    page = client.get("/patrols/setup/routes/new/").content.decode()
    assert "巡更点C" in page and "巡更点X" not in page
    body = {"school": schools["own"].pk, "name": "夜间路线",
            f"position_{c.pk}": "1", f"position_{a.pk}": "2", f"due_{a.pk}": "20"}  # fmt: skip
    response = client.post("/patrols/setup/routes/new/", body)
    assert response.status_code == 302
    route = TourRoute.objects.get(name="夜间路线")
    stops = list(route.stops.order_by("position").values_list("checkpoint", "due_minutes"))
    assert stops == [(c.pk, None), (a.pk, 20)]
    assert "巡更点C → 巡更点A" in client.get(response.url).content.decode()
    edit = f"/patrols/setup/routes/{route.pk}/edit/"
    assert f'name="position_{c.pk}" value="1"' in client.get(edit).content.decode()
    body = {"name": "夜间路线", f"position_{b.pk}": "1", f"position_{c.pk}": "2"}
    assert client.post(edit, body).status_code == 302
    assert list(route.stops.order_by("position").values_list("checkpoint", flat=True)) == [
        b.pk, c.pk,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("positions", "reason"),
    [({}, "A route needs at least one checkpoint."), ({"A": "1", "B": "1"}, "share a position")],
)
def test_a_route_without_stops_or_with_a_shared_place_is_refused(
    client, schools, positions, reason
):
    sign_in(client, schools["head"])
    body = {"school": schools["own"].pk, "name": "坏路线"}
    for code, position in positions.items():
        body[f"position_{Checkpoint.objects.get(school=schools['own'], code=code).pk}"] = position
    response = client.post("/patrols/setup/routes/new/", body)
    assert response.status_code == 400 and reason in response.content.decode()
    assert not TourRoute.objects.filter(name="坏路线").exists()


def test_a_plan_walks_a_route_at_the_times_typed_by_the_schools_guards(client, schools):
    sign_in(client, schools["head"])
    route = schools["own"].tour_routes.get()
    guard = GuardFactory(school=schools["own"], name="张保安")
    GuardFactory(school=schools["other"], name="外校保安")
    page = client.get("/patrols/setup/plans/new/").content.decode()
    assert "张保安" in page and "外校保安" not in page
    body = {"school": schools["own"].pk, "name": "夜巡", "route": route.pk,
            "round_starts": "21:00，23:30, 02:00", "duration_minutes": "40",
            "grace_minutes": "10", "days": "every_day", "guards": [guard.pk],
            "is_active": "on"}  # fmt: skip
    response = client.post("/patrols/setup/plans/new/", body)
    assert response.status_code == 302, response.content.decode()
    plan = TourPlan.objects.get(name="夜巡")
    assert plan.round_starts == ["02:00", "21:00", "23:30"]  # in the order of the day
    assert (plan.route, list(plan.guards.all()), plan.duration_minutes) == (route, [guard], 40)
    listing = client.get(response.url).content.decode()
    assert "02:00, 21:00, 23:30" in listing
    edit = f"/patrols/setup/plans/{plan.pk}/edit/"
    assert 'value="02:00, 21:00, 23:30"' in client.get(edit).content.decode()
    body.update(round_starts="25:00")
    response = client.post(edit, body)
    assert response.status_code == 400 and "not a time" in response.content.decode()
    plan.refresh_from_db()
    assert plan.round_starts == ["02:00", "21:00", "23:30"]


def test_a_gate_post_is_placed_with_its_geofence_and_head_count(client, schools):
    sign_in(client, schools["head"])
    body = {"school": schools["own"].pk, "name": "南门护学岗", "longitude": "116.3012",
            "latitude": "37.4507", "radius_m": "80", "in_service_since": "2026-03-02",
            "required_police": "1", "required_volunteer": "2", "is_active": "on"}  # fmt: skip
    response = client.post("/patrols/setup/posts/new/", body)
    assert response.status_code == 302, response.content.decode()
    post = PeakPost.objects.get(name="南门护学岗")
    assert (post.radius_m, post.required) == (80, {"police": 1, "volunteer": 2})
    listing = client.get(response.url).content.decode()
    assert "南门护学岗" in listing and "07:30–08:15" in listing  # the city's default window
    edit = f"/patrols/setup/posts/{post.pk}/edit/"
    assert 'name="required_volunteer" value="2"' in client.get(edit).content.decode()
    body = {**body, "required_police": "0", "required_volunteer": "0"}
    response = client.post(edit, body)
    assert response.status_code == 400
    assert "a post needs at least one person" in response.content.decode()
    body = {**body, "radius_m": "5", "required_teacher": "1"}
    assert client.post(edit, body).status_code == 400  # a 5 m fence is refused (10 to 2000)
    post.refresh_from_db()
    assert post.radius_m == 80


def test_the_schools_windows_are_set_and_shown_with_its_posts(client, schools):
    gate_post(schools["own"])
    sign_in(client, schools["head"])
    url = f"/patrols/setup/schools/{schools['own'].pk}/windows/"
    page = client.get(url).content.decode()
    assert 'value="08:00"' in page  # the city's default, until the school saves its own
    body = {"class_starts_at": "08:20", "dismissal_at": "16:30", "arrival_lead_minutes": "30",
            "arrival_tail_minutes": "15", "dismissal_lead_minutes": "10",
            "dismissal_tail_minutes": "30"}  # fmt: skip
    response = client.post(url, body)
    assert response.status_code == 302
    assert SchoolTimetable.objects.get(school=schools["own"]).class_starts_at.hour == 8
    listing = client.get(response.url).content.decode()
    assert "07:50–08:35" in listing and "16:20–17:00" in listing
    response = client.post(url, {**body, "dismissal_at": "07:00"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("role", "tours", "posts"),
    [("guard", 403, 403), ("education_staff", 403, 200), ("police_officer", 403, 200),
     ("auditor", 403, 403)],
)  # fmt: skip
def test_who_may_set_up_what(client, schools, role, tours, posts):
    scope = {"school": schools["own"]}
    if role == "education_staff":
        scope = {"organisation": schools["bureau"]}
    elif role in {"police_officer", "auditor"}:
        scope = {"region": schools["own"].region}
    sign_in(client, UserFactory(role=role, **scope))
    for url in ("/patrols/setup/checkpoints/new/", "/patrols/setup/routes/new/",
                "/patrols/setup/plans/new/"):  # fmt: skip
        assert client.get(url).status_code == tours, url
    assert client.get("/patrols/setup/posts/new/").status_code == posts
    assert client.get("/patrols/setup/checkpoints/").status_code == 200  # every role reads


def test_a_districts_user_chooses_the_school_and_gets_its_choices(client, schools):
    sign_in(client, UserFactory(role="education_staff", organisation=schools["bureau"]))
    page = client.get("/patrols/setup/posts/new/").content.decode()
    assert (
        "实验小学" in page and "第二中学" in page and 'hx-get="/patrols/setup/posts/new/"' in page
    )
    sign_in(client, schools["head"])  # a plan's routes are the chosen school's
    page = client.get(f"/patrols/setup/plans/new/?school={schools['other'].pk}").content.decode()
    assert schools["own"].tour_routes.get().name in page


def test_the_lists_keep_their_query_count_flat(client, schools, django_assert_max_num_queries):
    for n in range(12):
        tour(schools["own"], codes=(f"N{n}a", f"N{n}b"))
    sign_in(client, schools["head"])
    for url in ("/patrols/setup/checkpoints/", "/patrols/setup/routes/",
                "/patrols/setup/plans/", "/patrols/setup/posts/"):  # fmt: skip
        with django_assert_max_num_queries(14):
            assert client.get(url).status_code == 200, url


def test_the_tour_pages_link_to_the_set_up(client, schools):
    sign_in(client, schools["head"])
    tours = client.get("/patrols/tours/").content.decode()
    assert 'href="/patrols/setup/checkpoints/"' in tours
    rounds = client.get(f"/patrols/tours/school/{schools['own'].pk}/").content.decode()
    assert f"/patrols/setup/plans/?school={schools['own'].pk}" in rounds
