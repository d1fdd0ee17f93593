"""The device pages, as a signed-in user sees them: scope, live state, history and
channels, online rates, faults, approval, maintenance windows, the map layer."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from django.urls import reverse

from campus_safety.audit.models import AuditEntry
from campus_safety.devices import gateway_link
from campus_safety.devices.models import Device, MaintenanceWindow, StatusChange
from campus_safety.orgs.models import Organisation
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, OrganisationFactory, SchoolFactory, UserFactory, sign_in

NVR_ID = "37140200111187000001"


@pytest.fixture
def town():
    """Two districts; 德城区's school has an NVR with channels and an alarm box."""
    decheng = CountyFactory(code="371402", name="德城区")
    lingcheng = CountyFactory(code="371403", name="陵城区")
    school = SchoolFactory(region=decheng, name="实验小学")
    other = SchoolFactory(region=lingcheng, name="陵城中学")
    nvr = DeviceFactory(
        device_id=NVR_ID,
        name="实验小学录像机",
        kind=Device.Kind.NVR,
        protocol=Device.Protocol.GB28181,
        school=school,
        status="online",
        password="nvr-digest-password",
    )
    channels = [
        DeviceFactory(
            device_id=f"3714020011132700{i:04d}",
            name=f"校门口{i:02d}",
            kind=Device.Kind.CAMERA,
            protocol=Device.Protocol.GB28181,
            school=school,
            parent=nvr,
            key_area="entrance",
            status="online" if i % 4 else "offline",
        )
        for i in range(1, 61)
    ]
    alarm = DeviceFactory(
        school=school, name="门卫室一键报警", key_area="gate_room", status="online"
    )
    far = DeviceFactory(school=other, name="陵城一键报警", status="offline")
    return {"school": school, "other": other, "nvr": nvr, "channels": channels, "alarm": alarm,
            "far": far, "decheng": decheng}  # fmt: skip


def education_user(region):
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=region)
    return UserFactory(role="education_staff", organisation=bureau)


def test_the_list_shows_devices_in_scope_with_live_status_and_not_the_others(client, town):
    sign_in(client, education_user(town["decheng"]))
    page = client.get(reverse("devices:device_list"), {"kind": "one_key_alarm"})
    assert page.status_code == 200
    assert "门卫室一键报警" in page.text and "陵城一键报警" not in page.text
    page = client.get(reverse("devices:device_list"))
    assert "实验小学录像机" in page.text
    assert page.context["counts"]["total"] == 62
    assert page.context["counts"]["offline"] == 15


def test_the_list_filters_by_kind_status_and_search_and_answers_htmx_with_the_table(client, town):
    sign_in(client, education_user(town["decheng"]))
    page = client.get(
        reverse("devices:device_list"),
        {"kind": "camera", "status": "offline", "q": "校门口"},
        HTTP_HX_REQUEST="true",
    )
    assert page.status_code == 200
    assert page.templates[0].name == "devices/_device_table.html"
    names = [d.name for d in page.context["rows"]]
    assert len(names) == 15 and all(n.startswith("校门口") for n in names)


def test_the_list_and_the_detail_page_run_a_bounded_number_of_queries(
    client, town, django_assert_max_num_queries
):
    sign_in(client, UserFactory(is_superuser=True, role="system_admin"))
    with django_assert_max_num_queries(14):
        assert client.get(reverse("devices:device_list")).status_code == 200
    with django_assert_max_num_queries(14):
        assert (
            client.get(reverse("devices:device_detail", args=[town["nvr"].pk])).status_code == 200
        )


def test_the_detail_page_pages_channels_and_history_and_never_shows_credentials(client, town):
    nvr = town["nvr"]
    now = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    StatusChange.objects.bulk_create(
        StatusChange(device=nvr, at=now + dt.timedelta(minutes=i), from_status="offline",
                     to_status="online", reason=f"change {i}")
        for i in range(45)
    )  # fmt: skip
    sign_in(client, education_user(town["decheng"]))
    url = reverse("devices:device_detail", args=[nvr.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "nvr-digest-password" not in page.text
    assert "NVR" in page.text and "118" in page.text  # GB/T 28181 type from the ID
    assert page.context["channel_page"].paginator.count == 60
    assert len(page.context["channel_page"].object_list) == 50
    assert page.context["history_page"].paginator.num_pages == 3
    second = client.get(url, {"channels_page": 2}, HTTP_HX_REQUEST="true",
                        HTTP_HX_TARGET="device-channels")  # fmt: skip
    assert second.templates[0].name == "devices/_channels.html"
    assert len(second.context["channel_page"].object_list) == 10
    history = client.get(url, {"history_page": 3}, HTTP_HX_REQUEST="true",
                         HTTP_HX_TARGET="device-history")  # fmt: skip
    assert history.templates[0].name == "devices/_history.html"
    assert "change 0" in history.text


def test_a_device_outside_the_scope_is_a_404(client, town):
    sign_in(client, education_user(town["decheng"]))
    assert client.get(reverse("devices:device_detail", args=[town["far"].pk])).status_code == 404


def test_the_query_buttons_say_plainly_when_no_gateway_runs_here(client, town):
    sign_in(client, education_user(town["decheng"]))
    url = reverse("devices:device_query", args=[town["nvr"].pk])
    response = client.post(url, {"what": "status"})
    assert response.status_code == 200
    assert "GB28181_ENABLED=1" in response.text  # the hint, in either language
    assert AuditEntry.objects.filter(action="device.query.status", outcome="failure").exists()


class FakeLink:
    """A gateway link as the running SIP server would connect it."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def is_running(self) -> bool:
        return True

    def is_registered(self, device_id: str) -> bool:
        return device_id == NVR_ID

    async def query(self, what: str, device_id: str) -> dict:
        await asyncio.sleep(0)
        self.asked.append((what, device_id))
        return {"result": "OK", "online": "ONLINE", "status": "OK", "manufacturer": "海康威视"}

    def stats(self) -> dict:
        return {"gb28181": {"registered": 1}}


def test_a_registered_device_is_asked_through_the_gateway_link(client, town):
    link = FakeLink()
    gateway_link.connect(link)
    try:
        sign_in(client, education_user(town["decheng"]))
        page = client.get(reverse("devices:device_detail", args=[town["nvr"].pk]))
        assert page.context["gateway"] == {
            "is_queryable": True, "is_running": True, "is_registered": True,
        }  # fmt: skip
        response = client.post(
            reverse("devices:device_query", args=[town["nvr"].pk]), {"what": "info"}
        )
    finally:
        gateway_link.disconnect(link)
    assert link.asked == [("info", NVR_ID)]
    assert "海康威视" in response.text


def test_online_rates_group_by_district_school_key_area_and_kind(client, town):
    sign_in(client, UserFactory(is_superuser=True, role="system_admin"))
    by_district = client.get(reverse("devices:online_rate"))
    rows = {r.key: (r.total, r.online) for r in by_district.context["page"].object_list}
    assert rows == {"371402": (62, 47), "371403": (1, 0)}
    by_area = client.get(reverse("devices:online_rate"), {"by": "key_area"})
    areas = {r.key: r.online for r in by_area.context["page"].object_list}
    assert areas["entrance"] == 45 and areas["gate_room"] == 1
    by_kind = client.get(reverse("devices:online_rate"), {"by": "kind", "region": "371402"})
    kinds = {r.key: r.total for r in by_kind.context["page"].object_list}
    assert kinds == {"camera": 60, "nvr": 1, "one_key_alarm": 1}
    assert client.get(reverse("devices:online_rate"), {"by": "school"}).status_code == 200


def test_devices_offline_for_more_than_a_day_are_listed_as_faults(client, town, clock):
    town["alarm"].status, town["alarm"].status_since = (
        "offline",
        clock.now() - dt.timedelta(hours=30),
    )
    town["alarm"].save()
    Device.objects.filter(pk=town["nvr"].pk).update(
        status="offline", status_since=clock.now() - dt.timedelta(hours=2)
    )
    sign_in(client, education_user(town["decheng"]))
    page = client.get(reverse("devices:faults"))
    assert [d.name for d in page.context["page"].object_list] == ["门卫室一键报警"]


def test_a_pending_device_is_approved_into_a_school_and_audited(client, town):
    pending = Device.objects.create(
        device_id="37140200111347000099", name="37140200111347000099", kind="one_key_alarm",
        protocol="gb28181", is_approved=False, remote_address="udp:10.1.2.3:5060",
    )  # fmt: skip
    sign_in(client, education_user(town["decheng"]))
    page = client.get(reverse("devices:pending"))
    assert "37140200111347000099" in page.text
    response = client.post(
        reverse("devices:approve", args=[pending.pk]),
        {f"d{pending.pk}-school": town["school"].pk, f"d{pending.pk}-kind": "one_key_alarm",
         f"d{pending.pk}-key_area": "gate_room", f"d{pending.pk}-name": "新一键报警"},
    )  # fmt: skip
    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.is_approved, pending.school, pending.name) == (
        True,
        town["school"],
        "新一键报警",
    )
    assert AuditEntry.objects.filter(action="device.approve", object_id=str(pending.pk)).exists()


def test_a_pending_device_of_another_district_is_not_theirs_to_approve_or_reject(client, town):
    pending = Device.objects.create(
        device_id="37140300111347000099", name="x", kind="one_key_alarm", protocol="gb28181",
        is_approved=False,
    )  # fmt: skip
    sign_in(client, education_user(town["decheng"]))
    assert "37140300111347000099" not in client.get(reverse("devices:pending")).text
    assert client.post(reverse("devices:reject", args=[pending.pk])).status_code == 404
    assert Device.objects.filter(pk=pending.pk).exists()


def test_roles_that_may_only_read_cannot_approve(client, town):
    pending = Device.objects.create(
        device_id="37140200111347000098", name="x", kind="one_key_alarm", protocol="gb28181",
        is_approved=False, school=town["school"],
    )  # fmt: skip
    station = OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=town["decheng"])
    town["school"].police_station = station
    town["school"].save()
    sign_in(client, UserFactory(role="police_officer", organisation=station))
    assert client.get(reverse("devices:pending")).status_code == 200
    assert client.post(reverse("devices:reject", args=[pending.pk])).status_code == 403


def test_a_school_admin_plans_a_maintenance_window_for_their_own_school(client, town, clock):
    admin = UserFactory(role="school_admin", school=town["school"])
    sign_in(client, admin)
    start = clock.now() + dt.timedelta(hours=1)
    response = client.post(
        reverse("devices:maintenance"),
        {"school": town["school"].pk, "device_id": NVR_ID, "reason": "更换硬盘",
         "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
         "ends_at": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")},
    )  # fmt: skip
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert (window.device, window.reason) == (town["nvr"], "更换硬盘")
    refused = client.post(
        reverse("devices:maintenance"),
        {"school": town["other"].pk, "reason": "x",
         "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
         "ends_at": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")},
    )  # fmt: skip
    assert refused.status_code == 400
    assert MaintenanceWindow.objects.count() == 1


def test_the_map_layer_has_alarm_boxes_and_nvrs_in_scope_only(client, town):
    sign_in(client, education_user(town["decheng"]))
    data = client.get(reverse("devices:map_data")).json()
    names = {f["properties"]["name"]: f["properties"]["status"] for f in data["features"]}
    assert names == {"实验小学录像机": "online", "门卫室一键报警": "online"}
    assert client.get(reverse("devices:map")).status_code == 200


def test_a_snapshot_is_fetched_by_the_platform_for_a_device_in_scope(client, town):
    camera = town["channels"][0]
    camera.snapshot_url = "http://127.0.0.1:9/none.jpg"  # nothing listens: a 502, not a crash
    camera.save()
    sign_in(client, education_user(town["decheng"]))
    assert client.get(reverse("devices:device_snapshot", args=[camera.pk])).status_code == 502
    assert (
        client.get(reverse("devices:device_snapshot", args=[town["alarm"].pk])).status_code == 404
    )


def test_a_volunteer_may_not_open_the_device_pages(client, town):
    sign_in(client, UserFactory(role="volunteer", school=town["school"]))
    assert client.get(reverse("devices:device_list")).status_code == 403
