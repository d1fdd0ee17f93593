"""PTZCmd: the 8-byte command and its check digits (hypothesis), and the camera page's
PTZ call through the gateway to a simulated camera, audited, for roles that may."""

from __future__ import annotations

import contextlib

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from campus_safety.audit.models import AuditEntry
from campus_safety.video import ptz

commands = st.builds(
    ptz.PtzCommand,
    instruction=st.integers(0, 255),
    pan_speed=st.integers(0, 255),
    tilt_speed=st.integers(0, 255),
    zoom_speed=st.integers(0, 15),
    address=st.integers(0, 0xFFF),
)


def test_known_commands():
    assert ptz.encode(ptz.command("stop")) == "A50F0100000000B5"  # address 1, as devices expect
    assert ptz.encode(ptz.PtzCommand(0x02, pan_speed=0x1F, address=1)) == "A50F01021F0000D6"
    assert ptz.decode("A50F0100000000B5") == ptz.PtzCommand(0, address=1)
    assert ptz.command("preset_call", preset=3) == ptz.PtzCommand(0x82, 0, 3, address=1)


@given(commands)
def test_round_trip(command):
    text = ptz.encode(command)
    assert len(text) == 16 and text.startswith("A50F")
    assert ptz.decode(text) == command


@given(commands, st.integers(1, 15), st.integers(1, 7))
def test_a_changed_byte_is_caught_by_the_checksum(command, delta, index):
    data = bytearray(bytes.fromhex(ptz.encode(command)))
    data[index] = (data[index] + delta) % 256
    with pytest.raises(ptz.PtzError):
        ptz.decode(data.hex())


@given(st.text(max_size=20))
def test_garbage_is_refused(text):
    with contextlib.suppress(ptz.PtzError):
        ptz.decode(text)


def test_bad_arguments_are_refused():
    for bad in (lambda: ptz.command("spin"), lambda: ptz.command("preset_call", preset=0),
                lambda: ptz.encode(ptz.PtzCommand(1, pan_speed=256))):  # fmt: skip
        with pytest.raises(ptz.PtzError):
            bad()


@pytest.mark.django_db
def test_a_dispatcher_steers_a_camera_and_it_is_audited(client, dispatcher, cameras):
    answer = client.post(reverse("video:ptz", args=[cameras[0].pk]), {"action": "left"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["ptz_cmd"] == ptz.encode(ptz.command("left"))
    entry = AuditEntry.objects.get(action="video.ptz")
    assert entry.detail["action"] == "left" and entry.detail["status"] == 200
    assert (
        client.post(reverse("video:ptz", args=[cameras[0].pk]), {"action": "x"}).status_code == 400
    )


@pytest.mark.django_db
def test_a_role_without_ptz_may_not(client, decheng, cameras):
    from tests.factories import OrganisationFactory, UserFactory, sign_in

    bureau = OrganisationFactory(kind="education_bureau", region=decheng)
    sign_in(client, UserFactory(role="education_staff", organisation=bureau))
    assert client.get(reverse("video:camera", args=[cameras[0].pk])).status_code == 200
    answer = client.post(reverse("video:ptz", args=[cameras[0].pk]), {"action": "left"})
    assert answer.status_code == 403


@pytest.mark.django_db
def test_named_presets_are_saved_called_renamed_and_deleted_on_the_camera(
    client, dispatcher, cameras, rig
):
    from campus_safety.simulator import video_camera
    from campus_safety.video.models import CameraPreset

    url = reverse("video:presets", args=[cameras[0].pk])
    saved = client.post(url, {"action": "preset_set", "number": "3", "name": " 校门 全景 "})
    assert saved.status_code == 200, saved.content
    assert saved.json()["presets"] == [{"number": 3, "name": "校门 全景"}]
    client.post(url, {"action": "preset_set", "number": "7", "name": "操场"})
    renamed = client.post(url, {"action": "preset_set", "number": "3", "name": "大门"})
    assert renamed.json()["presets"] == [
        {"number": 3, "name": "大门"},
        {"number": 7, "name": "操场"},
    ]
    assert client.post(url, {"action": "preset_call", "number": "7"}).status_code == 200
    deleted = client.post(url, {"action": "preset_delete", "number": "7"})
    assert deleted.json()["presets"] == [{"number": 3, "name": "大门"}]
    assert client.get(url).json()["presets"] == [{"number": 3, "name": "大门"}]
    assert CameraPreset.objects.get().school == cameras[0].school
    # the camera received each command, with the preset's number
    sent = [ptz.decode(code) for channel, code in video_camera.controls(rig.fleet)]
    assert [(c.instruction, c.tilt_speed) for c in sent] == [
        (0x81, 3), (0x81, 7), (0x81, 3), (0x82, 7), (0x83, 7)
    ]  # fmt: skip
    audited = AuditEntry.objects.filter(action="video.preset").order_by("pk")
    assert [(e.detail["action"], e.detail["number"], e.detail["name"]) for e in audited] == [
        ("preset_set", 3, "校门 全景"), ("preset_set", 7, "操场"), ("preset_set", 3, "大门"),
        ("preset_call", 7, ""), ("preset_delete", 7, ""),
    ]  # fmt: skip
    assert all(e.user == dispatcher and e.outcome == "success" for e in audited)
    page = client.get(reverse("video:camera", args=[cameras[0].pk]))
    assert "3 · 大门" in page.content.decode()

    bad_requests = [
        {"action": "preset_set", "number": "4"},  # no name
        {"action": "preset_set", "number": "0", "name": "x"},
        {"action": "left", "number": "1"},
        {"action": "preset_call"},
    ]
    for bad in bad_requests:
        assert client.post(url, bad).status_code == 400


@pytest.mark.django_db
def test_a_preset_the_camera_does_not_take_is_not_stored(client, dispatcher, cameras):
    from campus_safety.devices.models import Device
    from campus_safety.video.models import CameraPreset
    from tests.devices.support import DeviceFactory

    away = DeviceFactory(
        device_id="37140200001310000099",
        kind=Device.Kind.CAMERA,
        protocol=Device.Protocol.GB28181,
        school=cameras[0].school,
    )  # fmt: skip
    # its device never registered: the command cannot reach it
    url = reverse("video:presets", args=[away.pk])
    answer = client.post(url, {"action": "preset_set", "number": "2", "name": "校门"})
    assert answer.status_code == 502 and answer.json()["error"]
    assert not CameraPreset.objects.exists()
    assert AuditEntry.objects.get(action="video.preset").outcome == "failure"


@pytest.mark.django_db
def test_presets_are_for_roles_that_may_steer_and_cameras_in_scope(client, decheng, cameras):
    from tests.factories import OrganisationFactory, SchoolFactory, UserFactory, sign_in

    bureau = OrganisationFactory(kind="education_bureau", region=decheng)
    sign_in(client, UserFactory(role="education_staff", organisation=bureau))
    url = reverse("video:presets", args=[cameras[0].pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "preset_call", "number": "1"}).status_code == 403
    other_school = SchoolFactory(region=decheng)
    sign_in(client, UserFactory(role="school_admin", school=other_school))
    assert client.get(url).status_code == 404
