"""PresetQuery (GB/T 28181-2022 设备预置位查询): the answer's parser (hypothesis: names
in Chinese, any count, split over parts, garbage refused), and 从设备读取 end to end
over real SIP against the simulated camera — presets saved by the platform and by
"other software" on the camera read back with their names, merged, audited, for the
roles that may steer cameras."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus_safety.audit.models import AuditEntry
from campus_safety.gateway.gb28181 import manscdp, presets
from campus_safety.video import services
from campus_safety.video.models import CameraPreset
from tests.video.support import CAMERAS

CHINESE = "校门全景操场食堂北门南门教学楼宿舍停车场围墙东西大门预置点"
names = st.text(alphabet=st.sampled_from(CHINESE + "ABCxyz019 -_·()"), max_size=44)
preset_lists = st.dictionaries(st.integers(1, 255), names, max_size=30)


def parsed(body: bytes) -> presets.PresetPart:
    return presets.parse_response(manscdp.parse(body))


def clean(name: str) -> str:
    return " ".join(name.split())[:40]


@settings(suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine
@given(preset_lists)
def test_a_whole_answer_reads_back_every_preset_and_name(kept):
    items = [presets.Preset(n, name) for n, name in sorted(kept.items())]
    body = presets.build_response(7, CAMERAS[0], items)
    assert b'encoding="GB2312"' in body  # GB2312 bytes, as devices send them
    part = parsed(body)
    assert part.sum_num == len(items) and part.invalid == 0
    assert {p.number: p.name for p in part.presets} == {n: clean(v) for n, v in kept.items()}


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(preset_lists, st.integers(1, 12))
def test_an_answer_split_over_parts_adds_up_to_its_sum_num(kept, size):
    items = [presets.Preset(n, name) for n, name in sorted(kept.items())]
    chunks = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
    collected: dict[int, str] = {}
    for chunk in chunks:
        part = parsed(presets.build_response(9, CAMERAS[0], chunk, sum_num=len(items)))
        assert part.sum_num == len(items)  # SumNum: the whole, in every part
        assert len(part.presets) == len(chunk)  # Num: this part's
        collected.update((p.number, p.name) for p in part.presets)
    assert collected == {n: clean(v) for n, v in kept.items()}


def test_a_utf8_body_labelled_gb2312_and_the_spec_example_are_read():
    body = (
        '<?xml version="1.0" encoding="GB2312"?>\r\n<Response>\r\n<CmdType>PresetQuery</CmdType>'
        f"<SN>17</SN><DeviceID>{CAMERAS[0]}</DeviceID>"
        '<PresetList Num="2"><Item><PresetID>1</PresetID><PresetName>大门</PresetName></Item>'
        "<Item><PresetID>002</PresetID><PresetName> 操场  东侧 </PresetName></Item>"
        "</PresetList></Response>"
    ).encode()
    part = parsed(body)
    assert part.sum_num == 2
    assert part.presets == (presets.Preset(1, "大门"), presets.Preset(2, "操场 东侧"))


def test_items_without_a_preset_number_are_counted_not_guessed():
    body = (
        f"<Response><CmdType>PresetQuery</CmdType><SN>1</SN><DeviceID>{CAMERAS[0]}</DeviceID>"
        '<PresetList Num="4"><Item><PresetID>0</PresetID></Item>'
        "<Item><PresetID>256</PresetID></Item><Item><PresetID>x</PresetID></Item>"
        "<Item><PresetID>3</PresetID></Item></PresetList></Response>"
    ).encode()
    part = parsed(body)
    assert part.sum_num == 4 and part.invalid == 3
    assert part.presets == (presets.Preset(3, ""),)


@pytest.mark.parametrize(
    "inner",
    [
        "",  # no PresetList
        '<PresetList Num="many"></PresetList>',
        '<PresetList Num="-1"></PresetList>',
        "<SumNum>9999</SumNum><PresetList/>",
    ],
)
def test_a_malformed_answer_is_a_clear_error(inner):
    body = (
        f"<Response><CmdType>PresetQuery</CmdType><SN>1</SN><DeviceID>{CAMERAS[0]}</DeviceID>"
        f"{inner}</Response>"
    ).encode()
    with pytest.raises(manscdp.ManscdpError):
        parsed(body)


def test_another_message_is_not_taken_for_a_preset_list():
    with pytest.raises(manscdp.ManscdpError, match="not a PresetQuery response"):
        parsed(manscdp.build_query("Catalog", 1, CAMERAS[0]))


@settings(max_examples=300)
@given(st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
def test_garbage_never_escapes_as_anything_but_a_manscdp_error(data):
    try:
        part = parsed(data)
    except manscdp.ManscdpError:
        return
    assert all(1 <= p.number <= 255 for p in part.presets)


@pytest.mark.parametrize(
    ("name", "is_generic"),
    [("", True), ("  ", True), ("3", True), ("003", True), ("预置点3", True),
     ("预置位 03", True), ("Preset 003", True), ("preset#3", True), ("预置点4", False),
     ("3号门", False), ("校门全景", False), ("Preset 30", False)],
)  # fmt: skip
def test_a_name_that_is_only_the_number_in_the_cameras_pattern_is_no_name(name, is_generic):
    assert services.is_generic_preset_name(name, 3) is is_generic


@given(st.text(alphabet=st.sampled_from("#_- 0123456789预置点位presetPRESET门"), max_size=12))
def test_only_a_number_in_the_cameras_pattern_counts_as_no_name(name):
    generic = services.is_generic_preset_name(name, 3)
    if not name.strip():
        assert generic
    if generic and name.strip():
        assert "3" in name


# --- 从设备读取 over real SIP against the simulated camera -----------------------------------


def read(client, camera, **headers):
    return client.post(
        reverse("video:presets_read", args=[camera.pk]),
        headers={"Accept": "application/json", **headers},
    )


@pytest.mark.django_db
def test_presets_from_the_platform_and_from_other_software_are_read_back_with_names(
    client, dispatcher, cameras, rig
):
    url = reverse("video:presets", args=[cameras[0].pk])
    for number, name in ((1, "校门全景"), (2, "操场")):
        saved = client.post(url, {"action": "preset_set", "number": number, "name": name})
        assert saved.status_code == 200, saved.content
    # other software (the camera's own web page) saves a third one, with its name
    rig.fleet.set_preset(CAMERAS[0], 9, "食堂门口")
    # and the platform still lists one the camera no longer has (deleted there)
    CameraPreset.objects.create(
        camera=cameras[0], school=cameras[0].school, number=5, name="旧北门"
    )
    answer = read(client, cameras[0])
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["presets"] == [
        {"number": 1, "name": "校门全景"},  # the camera has no name for it: the platform's stays
        {"number": 2, "name": "操场"},
        {"number": 9, "name": "食堂门口"},
    ]
    assert body["listed"] == 3 and body["complete"] is True
    assert body["added"] == [9] and body["removed"] == [{"number": 5, "name": "旧北门"}]
    entry = AuditEntry.objects.filter(action="video.preset").latest("pk")
    assert entry.user == dispatcher and entry.outcome == "success"
    assert entry.detail["action"] == "preset_read"
    assert entry.detail["removed"] == [{"number": 5, "name": "旧北门"}]

    # renamed on the camera: the camera's name wins
    rig.fleet.set_preset(CAMERAS[0], 2, "操场东侧")
    assert read(client, cameras[0]).json()["renamed"] == [2]
    assert CameraPreset.objects.get(camera=cameras[0], number=2).name == "操场东侧"


@pytest.mark.django_db
def test_a_long_list_comes_in_parts_and_all_of_it_is_read(client, dispatcher, cameras, rig):
    for number in range(1, 24):  # 3 parts of at most 10, SumNum 23 in each
        rig.fleet.set_preset(CAMERAS[1], number, f"点位{number}号" if number % 2 else "")
    answer = read(client, cameras[1])
    assert answer.status_code == 200, answer.content
    listed = answer.json()["presets"]
    assert [p["number"] for p in listed] == list(range(1, 24))
    assert listed[0]["name"] == "点位1号" and listed[1]["name"] == "预置位2"
    assert answer.json()["complete"] is True


@pytest.mark.django_db
def test_the_camera_page_form_reads_and_says_what_changed(client, dispatcher, cameras, rig):
    rig.fleet.set_preset(CAMERAS[2], 4, "北门")
    page = client.get(reverse("video:camera", args=[cameras[2].pk]))
    assert reverse("video:presets_read", args=[cameras[2].pk]) in page.content.decode()
    answer = client.post(reverse("video:presets_read", args=[cameras[2].pk]), follow=True)
    assert answer.redirect_chain[-1][0] == reverse("video:camera", args=[cameras[2].pk])
    text = answer.content.decode()
    assert "4 · 北门" in text and "messages" in text


@pytest.mark.django_db
def test_a_camera_that_does_not_answer_is_a_504_with_the_reason(
    client, dispatcher, cameras, rig, monkeypatch
):
    async def silent(endpoint, device, query):  # answers 200 to the MESSAGE, then nothing
        return None

    monkeypatch.setattr(rig.fleet, "_send_presets", silent)
    monkeypatch.setattr(services, "PRESET_QUERY_SECONDS", 1.0)
    CameraPreset.objects.create(camera=cameras[0], school=cameras[0].school, number=1, name="门")
    answer = read(client, cameras[0])
    assert answer.status_code == 504 and answer.json()["error"]
    assert CameraPreset.objects.filter(camera=cameras[0]).count() == 1  # nothing lost
    entry = AuditEntry.objects.get(action="video.preset")
    assert entry.outcome == "failure" and entry.detail["action"] == "preset_read"
    # from the page: back to it, with the reason said
    page = client.post(reverse("video:presets_read", args=[cameras[0].pk]), follow=True)
    assert page.status_code == 200 and "messages" in page.content.decode()


@pytest.mark.django_db
def test_an_unreadable_answer_is_a_502(client, dispatcher, cameras, rig, monkeypatch):
    async def garbled(endpoint, device, query):
        body = manscdp.build("Response", "PresetQuery", query.sn, query.device_id, [])
        await rig.fleet._answer(endpoint, device, body)  # no PresetList at all

    monkeypatch.setattr(rig.fleet, "_send_presets", garbled)
    answer = read(client, cameras[0])
    assert answer.status_code == 502 and answer.json()["error"]


@pytest.mark.django_db
def test_the_rest_action_reads_presets_and_lists_them(client, dispatcher, cameras, rig):
    rig.fleet.set_preset(CAMERAS[0], 6, "南门")
    answer = client.post(f"/api/v1/video-cameras/{cameras[0].pk}/presets/read/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["presets"] == [{"number": 6, "name": "南门"}]
    listed = client.get(f"/api/v1/video-cameras/{cameras[0].pk}/presets/")
    assert listed.json() == [{"number": 6, "name": "南门"}]
    schema = client.get("/api/v1/schema/").content.decode()
    assert "/api/v1/video-cameras/{id}/presets/read/" in schema


@pytest.mark.django_db
def test_a_school_role_without_ptz_rights_gets_403_and_other_schools_404(client, cameras, rig):
    from tests.factories import SchoolFactory, UserFactory, sign_in

    sign_in(client, UserFactory(role="guard", school=cameras[0].school))
    assert read(client, cameras[0]).status_code == 403
    assert client.post(f"/api/v1/video-cameras/{cameras[0].pk}/presets/read/").status_code == 403
    assert client.get(f"/api/v1/video-cameras/{cameras[0].pk}/presets/").status_code == 403
    sign_in(client, UserFactory(role="school_admin", school=SchoolFactory()))
    assert read(client, cameras[0]).status_code == 404
    assert client.post(f"/api/v1/video-cameras/{cameras[0].pk}/presets/read/").status_code == 404
    sign_in(client, UserFactory(role="school_admin", school=cameras[0].school))
    assert read(client, cameras[0]).status_code == 200
    assert not AuditEntry.objects.filter(action="video.preset", outcome="failure").exists()


# --- against sipp playing the camera (a real SIP peer) ---------------------------------------


def test_preset_query_to_a_sipp_camera_collects_both_parts(start_server, tmp_path):
    import threading
    from pathlib import Path

    from tests.gateway.gb28181.harness import NVR_ID, wait_until
    from tests.gateway.gb28181.test_sipp import CHANNELS, explain, run_sipp

    server = start_server()
    outcome: dict = {}
    scenario = str(Path(__file__).parent / "sipp" / "preset_answer.xml")

    def device() -> None:
        outcome["sipp"] = run_sipp(server.port, "catalog.xml", tmp_path, ooc=scenario, timeout=8.0)

    thread = threading.Thread(target=device)
    thread.start()
    wait_until(lambda: server.server.registration(NVR_ID), timeout=5)
    answer = server.call(server.server.dialogs.preset_query(NVR_ID, CHANNELS[0], 6.0))
    thread.join(15)
    assert outcome["sipp"].returncode == 0, explain(outcome["sipp"], tmp_path)
    errors = "".join(f.read_text(errors="replace") for f in tmp_path.glob("*_errors.log"))
    assert "Failed regexp" not in errors, errors  # sipp's checks of the query we sent
    assert answer.presets == ((1, "大门"), (2, "操场"), (3, "食堂北门"))
    assert answer.is_complete and answer.invalid == 0
    assert server.server.dialogs._presets == {}  # nothing left waiting
