"""``/api/v1/devices/``: the registry with live state, history and channels, online
rates, writes with GB/T 28181 validation, write-only credentials, approval."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from campus_safety.devices import gateway_link
from campus_safety.devices.models import Device, StatusChange
from campus_safety.gateway import credentials
from campus_safety.orgs.models import Organisation
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, OrganisationFactory, SchoolFactory, UserFactory

NVR_ID = "37140200111187000001"


@pytest.fixture
def town():
    decheng = CountyFactory(code="371402", name="德城区")
    lingcheng = CountyFactory(code="371403", name="陵城区")
    school, neighbour = SchoolFactory(region=decheng), SchoolFactory(region=decheng)
    other = SchoolFactory(region=lingcheng)
    nvr = DeviceFactory(device_id=NVR_ID, kind="nvr", protocol="gb28181", school=school,
                        status="online", name="录像机")  # fmt: skip
    for i in range(1, 8):
        DeviceFactory(device_id=f"3714020011132700{i:04d}", kind="camera", protocol="gb28181",
                      school=school, parent=nvr, key_area="entrance",
                      status="online" if i % 2 else "offline")  # fmt: skip
    DeviceFactory(school=other, status="online", name="陵城报警")
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=decheng)
    staff = UserFactory(role="education_staff", organisation=bureau)
    return {"school": school, "neighbour": neighbour, "other": other, "nvr": nvr, "staff": staff}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_list_is_scoped_filtered_and_paged(town):
    client = api(town["staff"])
    everything = client.get("/api/v1/devices/").json()
    assert everything["count"] == 8
    assert "陵城报警" not in str(everything)
    offline = client.get("/api/v1/devices/", {"status": "offline", "kind": "camera"}).json()
    assert offline["count"] == 3
    paged = client.get("/api/v1/devices/", {"page_size": 3, "ordering": "device_id"}).json()
    assert len(paged["results"]) == 3 and paged["next"]


def test_a_device_reads_back_without_credentials_and_with_its_type_and_channel_count(town):
    Device.objects.filter(pk=town["nvr"].pk).update(password="enc-me")
    body = api(town["staff"]).get(f"/api/v1/devices/{town['nvr'].pk}/").json()
    assert (body["type_code"], body["type_name"], body["channel_count"]) == ("118", "NVR", 7)
    assert "password" not in body and "secret" not in body


def test_history_and_channels_are_separate_paginated_endpoints(town):
    nvr = town["nvr"]
    at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    StatusChange.objects.bulk_create(
        StatusChange(device=nvr, at=at + dt.timedelta(seconds=i), from_status="offline",
                     to_status="online", reason=str(i))
        for i in range(60)
    )  # fmt: skip
    client = api(town["staff"])
    history = client.get(f"/api/v1/devices/{nvr.pk}/history/").json()
    assert history["count"] == 60 and history["results"][0]["reason"] == "59"
    channels = client.get(f"/api/v1/devices/{nvr.pk}/channels/", {"page_size": 5}).json()
    assert channels["count"] == 7 and len(channels["results"]) == 5


def test_another_scopes_device_and_its_history_are_404(town):
    far = Device.objects.get(name="陵城报警")
    client = api(town["staff"])
    assert client.get(f"/api/v1/devices/{far.pk}/").status_code == 404
    assert client.get(f"/api/v1/devices/{far.pk}/history/").status_code == 404
    assert client.patch(f"/api/v1/devices/{far.pk}/", {"name": "x"}).status_code == 404


def test_online_rate_groups_in_the_database(town, django_assert_max_num_queries):
    client = api(UserFactory(is_superuser=True, role="system_admin"))
    with django_assert_max_num_queries(3):
        body = client.get("/api/v1/devices/online-rate/", {"by": "district"}).json()
    rows = {r["key"]: (r["total"], r["online"]) for r in body["rows"]}
    assert rows == {"371402": (8, 5), "371403": (1, 1)}
    assert body["overall"]["total"] == 9
    by_area = client.get("/api/v1/devices/online-rate/", {"by": "key_area", "kind": "camera"})
    assert {r["key"]: r["online"] for r in by_area.json()["rows"]} == {"entrance": 4}
    assert client.get("/api/v1/devices/online-rate/", {"by": "planet"}).status_code == 400


def new_device(town, **fields):
    values = {
        "device_id": "37140200111327009001",
        "name": "新摄像机",
        "kind": "camera",
        "protocol": "gb28181",
        "school_id": town["school"].pk,
        "parent_device_id": NVR_ID,
        "key_area": "perimeter",
        "password": "Cam-pass-1",
    }
    return {**values, **fields}


def test_a_device_is_created_with_its_password_stored_but_never_read_back(town):
    response = api(town["staff"]).post("/api/v1/devices/", new_device(town), format="json")
    assert response.status_code == 201, response.json()
    assert "Cam-pass-1" not in response.text
    device = Device.objects.get(device_id="37140200111327009001")
    assert (device.password, device.parent, device.school) == (
        "Cam-pass-1",
        town["nvr"],
        town["school"],
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"device_id": "3714020011132700900"[:17]}, "device_id"),  # 17 digits
        ({"device_id": "3714020011132700900A"}, "device_id"),
        ({"kind": "one_key_alarm"}, "kind"),  # type code 132 is a camera, not an alarm input
        ({"parent_device_id": "37140200111327000001"}, "parent_device_id"),  # a camera
        ({"school_id": "neighbour"}, "parent_device_id"),  # the NVR is at another school
        ({"protocol": "http", "parent_device_id": None}, "secret"),
    ],
)
def test_invalid_devices_are_refused_with_the_reason(town, fields, field):
    if fields.get("school_id") == "neighbour":
        fields = {"school_id": town["neighbour"].pk}
    response = api(town["staff"]).post(
        "/api/v1/devices/", new_device(town, **fields), format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()


def test_a_blank_password_on_update_keeps_the_stored_one(town):
    client = api(town["staff"])
    client.post("/api/v1/devices/", new_device(town), format="json")
    device = Device.objects.get(device_id="37140200111327009001")
    response = client.patch(f"/api/v1/devices/{device.pk}/", {"name": "改名", "password": ""},
                            format="json")  # fmt: skip
    assert response.status_code == 200
    device.refresh_from_db()
    assert (device.name, device.password) == ("改名", "Cam-pass-1")


def test_a_null_password_resets_the_device_to_the_platform_default(town, live):
    client = api(town["staff"])
    client.post("/api/v1/devices/", new_device(town), format="json")
    device = Device.objects.get(device_id="37140200111327009001")
    assert credentials.load(device.device_id).password == "Cam-pass-1"
    response = client.patch(f"/api/v1/devices/{device.pk}/", {"password": None}, format="json")
    assert response.status_code == 200, response.json()
    device.refresh_from_db()
    assert device.password == ""  # empty: GB28181_PASSWORD, the platform-wide default
    assert credentials.load(device.device_id).password == ""  # the gateway's cache follows


def test_a_school_outside_the_writers_scope_reads_as_unknown(town):
    response = api(town["staff"]).post(
        "/api/v1/devices/", new_device(town, school_id=town["other"].pk, parent_device_id=None),
        format="json",
    )  # fmt: skip
    assert response.status_code == 400 and "school_id" in response.json()


def test_read_only_roles_cannot_write(town):
    station = OrganisationFactory(kind=Organisation.Kind.POLICE_STATION)
    officer = UserFactory(role="police_officer", organisation=station)
    assert api(officer).post("/api/v1/devices/", new_device(town), format="json").status_code == 403


def test_a_pending_device_is_approved_through_the_api(town):
    pending = Device.objects.create(device_id="37140200111347000077", name="p", kind="camera",
                                    protocol="gb28181", is_approved=False)  # fmt: skip
    client = api(town["staff"])
    response = client.post(
        f"/api/v1/devices/{pending.pk}/approve/",
        {"school_id": town["school"].pk, "kind": "one_key_alarm", "key_area": "gate_room"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["is_approved"] is True
    pending.refresh_from_db()
    assert (pending.kind, pending.school) == ("one_key_alarm", town["school"])


def test_the_gateway_status_is_for_platform_administrators(town):
    assert api(town["staff"]).get("/api/v1/devices/gateway/").status_code == 403
    admin = api(UserFactory(is_superuser=True, role="system_admin"))
    assert admin.get("/api/v1/devices/gateway/").json() == {"running": False}

    class Link:
        def is_running(self):
            return True

        def stats(self):
            return {"gb28181": {"keepalives": 5}, "mqtt": {}}

    link = Link()
    gateway_link.connect(link)
    try:
        body = admin.get("/api/v1/devices/gateway/").json()
    finally:
        gateway_link.disconnect(link)
    assert body["running"] is True and body["gb28181"]["keepalives"] == 5
