"""Who may watch which camera, the stream token, the pages, linked cameras, auditing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campus_safety.audit.models import AuditEntry
from campus_safety.devices.identifiers import make_device_id
from campus_safety.devices.models import Device
from campus_safety.orgs.models import Organisation
from campus_safety.video import services
from campus_safety.video.models import CameraLink
from tests.devices.support import DeviceFactory
from tests.factories import OrganisationFactory, SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db


def camera(school, n: int, **fields) -> Device:
    return DeviceFactory(
        school=school,
        kind=Device.Kind.CAMERA,
        protocol=Device.Protocol.GB28181,
        device_id=make_device_id("371402", "131", 500 + n),
        name=f"摄像机{n}",
        **fields,
    )


@pytest.fixture
def two_sides(decheng, lingcheng):
    station = OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=decheng)
    ours = SchoolFactory(region=decheng, police_station=station)
    theirs = SchoolFactory(region=lingcheng)
    return {
        "station": station,
        "ours": ours,
        "theirs": theirs,
        "our_camera": camera(ours, 1, key_area="gate", latitude=37.45, longitude=116.3),
        "their_camera": camera(theirs, 2),
    }


def test_a_token_opens_only_for_its_user_and_only_until_it_expires(two_sides, clock, settings):
    settings.VIDEO_TOKEN_SECONDS = 60
    user, other = UserFactory(role="dispatcher"), UserFactory(role="dispatcher")
    token = services.issue_token(two_sides["our_camera"], user)
    assert services.read_token(token, user).camera_pk == two_sides["our_camera"].pk
    with pytest.raises(services.TokenError, match="another user"):
        services.read_token(token, other)
    with pytest.raises(services.TokenError, match="bad"):
        services.read_token(token[:-2] + "xx", user)
    clock.advance(seconds=61)
    with pytest.raises(services.TokenError, match="expired"):
        services.read_token(token, user)


@pytest.mark.parametrize(
    ("role", "scope", "sees_theirs"),
    [
        ("school_admin", "school", False),
        ("police_officer", "station", False),
        ("education_staff", "bureau", False),
        ("dispatcher", "city", True),
    ],
)
def test_cameras_are_scoped_like_every_record(two_sides, city, decheng, role, scope, sees_theirs):
    kwargs = {
        "school": {"school": two_sides["ours"]},
        "station": {"organisation": two_sides["station"]},
        "bureau": {
            "organisation": OrganisationFactory(
                kind=Organisation.Kind.EDUCATION_BUREAU, region=decheng
            )
        },
        "city": {"region": city},
    }[scope]
    user = UserFactory(role=role, **kwargs)
    visible = set(services.cameras_visible_to(user))
    assert two_sides["our_camera"] in visible
    assert (two_sides["their_camera"] in visible) is sees_theirs


def test_a_camera_outside_the_scope_is_404_and_a_role_without_video_403(client, two_sides):
    user = UserFactory(role="school_admin", school=two_sides["ours"])
    sign_in(client, user)
    assert client.get(reverse("video:camera", args=[two_sides["our_camera"].pk])).status_code == 200
    theirs = reverse("video:camera", args=[two_sides["their_camera"].pk])
    assert client.get(theirs).status_code == 404
    assert (
        client.post(reverse("video:start", args=[two_sides["their_camera"].pk])).status_code == 404
    )
    client.logout()
    sign_in(client, UserFactory(role="auditor"))
    assert client.get(reverse("video:wall")).status_code == 403


def test_the_wall_shows_a_schools_cameras_in_the_chosen_grid(client, dispatcher, two_sides):
    for n in range(3, 8):
        camera(two_sides["ours"], n)
    page = client.get(reverse("video:wall"), {"school": two_sides["ours"].pk, "grid": 4})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="video-tile"') == 4
    assert "grid-4" in html and "wall-cameras" in html
    assert "视频墙" in html


def test_start_without_a_gateway_says_why_and_is_audited(client, dispatcher, two_sides):
    answer = client.post(reverse("video:start", args=[two_sides["our_camera"].pk]))
    assert answer.status_code == 503
    assert "网关" in answer.json()["error"]
    entry = AuditEntry.objects.get(action="video.view_start")
    assert entry.outcome == "failure" and entry.user_id == dispatcher.pk


def test_a_forged_or_expired_stream_url_is_refused(client, dispatcher, two_sides, clock):
    token = services.issue_token(two_sides["our_camera"], dispatcher)
    clock.advance(seconds=3600)
    assert client.get(reverse("video:stream", args=[token])).status_code == 403
    assert client.get(reverse("video:stream", args=["forged"])).status_code == 403


def test_linked_cameras_are_the_schools_links_else_the_nearest_of_the_key_area(two_sides):
    school = two_sides["ours"]
    box = DeviceFactory(school=school, key_area="gate", latitude=37.45, longitude=116.3)
    far = camera(school, 3, key_area="playground", latitude=37.46, longitude=116.31)
    near = camera(school, 4, key_area="playground", latitude=37.4501, longitude=116.3001)
    user = UserFactory(role="school_admin", school=school)
    assert services.linked_cameras(box, user, limit=2) == [two_sides["our_camera"], near]
    services.set_links(box, [far], user=user)
    assert services.linked_cameras(box, user) == [far]
    assert CameraLink.objects.visible_to(user).count() == 1
    with pytest.raises(ValueError):
        services.set_links(box, [two_sides["their_camera"]], user=user)


def test_the_alarm_case_page_shows_the_linked_cameras_live(client, dispatcher, two_sides):
    from campus_safety import clock
    from campus_safety.alarms.models import AlarmCase

    box = DeviceFactory(school=two_sides["ours"], key_area="gate")
    now = clock.now()
    case = AlarmCase.objects.create(
        school=two_sides["ours"], device=box, opened_at=now, last_event_at=now
    )
    html = client.get(reverse("alarms:case_detail", args=[case.pk])).content.decode()
    assert 'id="alarm-live-cameras"' in html
    assert reverse("video:start", args=[two_sides["our_camera"].pk]) in html
