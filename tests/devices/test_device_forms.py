"""Adding and changing one device on pages (``/devices/new/``, ``/devices/<id>/edit/``):
the API's rules (DeviceSerializer: GB/T 28181 ID and type code, the parent NVR at the
same school, write-only credentials — blank keeps, reset clears) and the API's writer
(services.create_device / update_device); schools offered are the user's own."""

import pytest
from rest_framework.test import APIClient

from campus_safety.audit.models import AuditEntry
from campus_safety.devices.models import Device
from campus_safety.orgs.models import Organisation
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, OrganisationFactory, SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db

NVR_ID = "37140200111187000001"
CAMERA_ID = "37140200111327009001"


@pytest.fixture
def school():
    county = CountyFactory(code="371402", name="德城区")
    own = SchoolFactory(region=county, name="实验小学")
    DeviceFactory(device_id=NVR_ID, kind="nvr", protocol="gb28181", school=own, name="录像机")
    return own


@pytest.fixture
def head(school):
    return UserFactory(role="school_admin", school=school)


def camera(school, **changes) -> dict:
    body = {"device_id": CAMERA_ID, "name": "南门摄像机", "kind": "camera",
            "protocol": "gb28181", "school": school.pk, "key_area": "entrance",
            "parent_device_id": NVR_ID, "keepalive_interval": "60", "keepalive_count": "3",
            "password": "Cam-pass-1"}  # fmt: skip
    return {**body, **changes}


def test_a_school_administrator_adds_a_camera_under_the_schools_nvr(client, school, head):
    sign_in(client, head)
    assert client.get("/devices/new/").status_code == 200
    response = client.post("/devices/new/", camera(school))
    device = Device.objects.get(device_id=CAMERA_ID)
    assert response.status_code == 302 and response.url == f"/devices/{device.pk}/"
    assert (device.school, device.parent.device_id, device.password, device.is_approved) == (
        school, NVR_ID, "Cam-pass-1", True,
    )  # fmt: skip
    assert AuditEntry.objects.filter(action="device.create", object_id=device.pk).exists()
    detail = client.get(response.url).content.decode()
    assert "南门摄像机" in detail and "Cam-pass-1" not in detail
    assert f'href="/devices/{device.pk}/edit/"' in detail


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": "one_key_alarm"}, "类型编码 132"),  # the reason, in Chinese by default
        ({"device_id": "3714020011132700900A"}, ""),
        ({"device_id": NVR_ID}, ""),  # taken
        ({"parent_device_id": "37140200111327000999"}, "37140200111327000999"),  # no such NVR
        ({"protocol": "http", "parent_device_id": "", "password": ""}, ""),  # needs its secret
    ],
)
def test_a_device_the_api_would_refuse_is_refused_with_the_reason(
    client, school, head, changes, reason
):
    sign_in(client, head)
    response = client.post("/devices/new/", camera(school, **changes))
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not Device.objects.filter(name="南门摄像机").exists()


def test_the_parent_nvr_must_be_at_the_same_school(client, school):
    neighbour = SchoolFactory(region=school.region, name="邻校")
    staff = UserFactory(
        role="education_staff",
        organisation=OrganisationFactory(
            kind=Organisation.Kind.EDUCATION_BUREAU, region=school.region
        ),
    )
    sign_in(client, staff)
    response = client.post("/devices/new/", camera(neighbour))
    assert response.status_code == 400 and not Device.objects.filter(device_id=CAMERA_ID).exists()


def test_only_the_users_own_schools_are_offered_or_accepted(client, school, head):
    elsewhere = SchoolFactory(name="外区学校")
    sign_in(client, head)
    page = client.get("/devices/new/").content.decode()
    assert "实验小学" in page and "外区学校" not in page
    response = client.post("/devices/new/", camera(elsewhere, parent_device_id=""))
    assert response.status_code == 400 and not Device.objects.filter(device_id=CAMERA_ID).exists()


def test_an_edit_keeps_a_blank_password_and_the_id(client, school, head):
    sign_in(client, head)
    client.post("/devices/new/", camera(school))
    device = Device.objects.get(device_id=CAMERA_ID)
    url = f"/devices/{device.pk}/edit/"
    page = client.get(url).content.decode()
    assert 'value="南门摄像机"' in page and "Cam-pass-1" not in page
    body = camera(school, name="南门枪机", password="", device_id="37140200111327009999")
    response = client.post(url, body)
    assert response.status_code == 302
    device.refresh_from_db()
    assert (device.name, device.password, device.device_id) == ("南门枪机", "Cam-pass-1", CAMERA_ID)
    assert client.post(url, {**body, "reset_password": "on"}).status_code == 302
    device.refresh_from_db()
    assert device.password == ""  # the platform-wide default (GB28181_PASSWORD)


def test_an_http_device_keeps_needing_its_secret(client, school, head):
    """A null secret through the API used to be accepted for an HTTP device that had
    one: it was cleared and the device could no longer sign what it sends."""
    device = DeviceFactory(school=school, protocol="http", kind="one_key_alarm")
    api = APIClient()
    api.force_authenticate(head)
    response = api.patch(f"/api/v1/devices/{device.pk}/", {"secret": None}, format="json")
    assert response.status_code == 400 and "secret" in response.json()
    device.refresh_from_db()
    assert device.secret


def test_read_only_roles_and_other_schools_cannot_edit(client, school, head):
    device = Device.objects.get(device_id=NVR_ID)
    sign_in(client, UserFactory(role="guard", school=school))
    assert client.get("/devices/new/").status_code == 403
    assert client.post(f"/devices/{device.pk}/edit/", {"name": "x"}).status_code == 403
    assert "/devices/new/" not in client.get("/devices/").content.decode()
    sign_in(client, UserFactory(role="school_admin", school=SchoolFactory()))
    assert client.get(f"/devices/{device.pk}/edit/").status_code == 404
    assert client.post(f"/devices/{device.pk}/edit/", {"name": "x"}).status_code == 404
    device.refresh_from_db()
    assert device.name == "录像机"
    sign_in(client, head)
    assert 'href="/devices/new/"' in client.get("/devices/").content.decode()
