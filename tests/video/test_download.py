"""录像下载: the s=Download INVITE (u=, t=, a=downloadspeed) against sipp playing a
camera that ends the file with MediaStatus 121; a clip fetched from a simulated camera
through the page's calls, remuxed into MP4 (read back by ffprobe), audited with who,
which camera, which span and why; the limits and who may download."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from campus_safety.audit.models import AuditEntry
from campus_safety.video import media_control, sdp, streams
from tests.factories import UserFactory, sign_in
from tests.gateway.gb28181.harness import NVR_ID, PLATFORM_ID, wait_until
from tests.gateway.gb28181.test_sipp import CHANNELS, explain, run_sipp

HERE = Path(__file__).parent / "sipp"


def test_the_download_offer_names_the_span_and_the_speed(settings):
    settings.GB28181_PLATFORM_ID = PLATFORM_ID
    target = streams.Target(CHANNELS[0], NVR_ID, 1_765_000_000, 1_765_000_060, 4, "a1")
    offer = sdp.parse(streams.offer_for(target, address="127.0.0.1", port=30000, ssrc="1371400001"))
    assert offer.session_name == "Download" and offer.uri == f"{CHANNELS[0]}:0"
    assert (offer.start_time, offer.stop_time) == (1_765_000_000, 1_765_000_060)
    assert offer.video.attribute("downloadspeed") == "4"
    assert target.key != streams.Target(CHANNELS[0], NVR_ID, 1_765_000_000, 1_765_000_060).key
    with pytest.raises(sdp.SdpError):
        sdp.offer(platform_id=PLATFORM_ID, address="127.0.0.1", port=1, ssrc="1371400001",
                  session_name="Playback", download_speed=4)  # fmt: skip


def test_download_invite_and_the_device_s_end_of_file_against_sipp(
    start_server, tmp_path, settings
):
    settings.GB28181_PLATFORM_ID = PLATFORM_ID
    server = start_server()
    outcome: dict = {}

    def device() -> None:
        outcome["sipp"] = run_sipp(
            server.port, "catalog.xml", tmp_path, ooc=str(HERE / "download_answer.xml"),
            timeout=8.0,
        )  # fmt: skip

    thread = threading.Thread(target=device)
    thread.start()
    wait_until(lambda: server.server.registration(NVR_ID), timeout=5)
    seen: list[tuple[str, str]] = []
    listener = lambda dialog_id, notify_type: seen.append((dialog_id, notify_type))  # noqa: E731
    media_control.on_media_status(listener)
    try:
        start = int(time.time()) - 3600
        target = streams.Target(CHANNELS[0], NVR_ID, start, start + 60, 4, "t")
        offer = streams.offer_for(target, address="127.0.0.1", port=30000, ssrc="1371400002")
        dialogs = server.server.dialogs
        answer = server.call(
            dialogs.invite(NVR_ID, CHANNELS[0], offer, subject=f"{CHANNELS[0]}:1371400002,x:0")
        )
        wait_until(lambda: seen, timeout=5)
        assert seen == [(answer.dialog_id, "121")]
        server.call(dialogs.bye(answer.dialog_id))
    finally:
        media_control._status_listeners.remove(listener)
    thread.join(15)
    assert outcome["sipp"].returncode == 0, explain(outcome["sipp"], tmp_path)
    errors = "".join(f.read_text(errors="replace") for f in tmp_path.glob("*_errors.log"))
    assert "Failed regexp" not in errors, errors  # sipp's checks of what we sent
    assert server.server.dialogs.dialogs == {}


async def _read_all(chunks) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def _ffprobe(path: Path) -> dict:
    result = subprocess.run(
        [shutil.which("ffprobe") or "ffprobe", "-v", "error", "-show_entries",
         "format=format_name,duration:stream=codec_name,width,height", "-of", "json", str(path)],
        capture_output=True, timeout=20, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def _wait_for(client, url: str, seconds: float = 40.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        state = client.get(url).json()
        if state["state"] != "running" or time.monotonic() > deadline:
            return state
        time.sleep(0.3)


@pytest.mark.django_db
def test_a_clip_is_downloaded_as_mp4_without_transcoding_and_audited(
    client, dispatcher, cameras, settings, tmp_path
):
    settings.VIDEO_DOWNLOAD_DIR = str(tmp_path)
    begin = int(time.time()) - 3600
    answer = client.post(
        reverse("video:download_start", args=[cameras[0].pk]),
        {"from": begin, "to": begin + 8, "reason": "案件 2026-118 调取校门录像"},
    )
    assert answer.status_code == 202, answer.content
    state = _wait_for(client, answer.json()["url"])
    assert state["state"] == "done", state
    assert 6 <= state["seconds"] <= 9
    response = client.get(answer.json()["url"], {"file": "1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert cameras[0].device_id in response["Content-Disposition"]
    saved = tmp_path / "clip.mp4"
    saved.write_bytes(async_to_sync(_read_all)(response.streaming_content))
    probe = _ffprobe(saved)
    assert "mp4" in probe["format"]["format_name"]
    assert [(s["codec_name"], s["width"], s["height"]) for s in probe["streams"]] == [
        ("h264", 640, 360)  # the camera's own H.264, copied
    ]
    assert 6 <= float(probe["format"]["duration"]) <= 9
    entry = AuditEntry.objects.get(action="video.download")
    assert entry.user == dispatcher and entry.outcome == "success"
    assert entry.detail["device_id"] == cameras[0].device_id
    assert entry.detail["seconds"] == 8 and entry.detail["why"] == "案件 2026-118 调取校门录像"
    assert entry.detail["start"].startswith(time.strftime("%Y-%m-%dT%H", time.gmtime(begin)))
    assert AuditEntry.objects.filter(action="video.download_fetch", user=dispatcher).count() == 1
    time.sleep(0.3)
    assert streams.hub.sessions == {}  # the download's dialog is closed
    # another user never sees the job
    other = UserFactory(role="dispatcher", region=dispatcher.region)
    sign_in(client, other)
    assert client.get(answer.json()["url"]).status_code == 404


@pytest.mark.django_db
def test_a_clip_over_the_size_limit_stops_with_a_clear_message(
    client, dispatcher, cameras, settings, tmp_path
):
    settings.VIDEO_DOWNLOAD_DIR = str(tmp_path)
    settings.VIDEO_DOWNLOAD_MAX_MB = 0.2
    begin = int(time.time()) - 7200
    answer = client.post(
        reverse("video:download_start", args=[cameras[1].pk]),
        {"from": begin, "to": begin + 20, "reason": "核查"},
    )
    assert answer.status_code == 202, answer.content
    state = _wait_for(client, answer.json()["url"])
    assert state["state"] == "failed"
    assert "0.2 MB" in state["error"]
    assert client.get(answer.json()["url"], {"file": "1"}).status_code == 409
    assert list(tmp_path.iterdir()) == []  # no half file left
    time.sleep(0.3)
    assert streams.hub.sessions == {}


@pytest.mark.django_db
def test_download_requests_are_checked_and_refusals_audited(client, dispatcher, cameras, settings):
    settings.VIDEO_DOWNLOAD_MAX_SECONDS = 60
    url = reverse("video:download_start", args=[cameras[0].pk])
    now = int(time.time())
    no_reason = client.post(url, {"from": now - 600, "to": now - 590, "reason": " "})
    assert no_reason.status_code == 400 and no_reason.json()["error"]
    too_long = client.post(url, {"from": now - 600, "to": now - 480, "reason": "核查"})
    assert too_long.status_code == 400
    assert "1" in too_long.json()["error"]
    refused = AuditEntry.objects.get(action="video.download", outcome="failure")
    assert refused.detail["seconds"] == 120 and refused.detail["why"] == "核查"
    assert client.post(url, {"from": now + 10, "to": now + 20, "reason": "x y"}).status_code == 400
    assert client.post(url, {"from": "x", "to": now, "reason": "核查"}).status_code == 400
    assert client.get(url).status_code == 405
    sign_in(client, UserFactory(role="education_staff", region=dispatcher.region))
    assert client.post(url, {"from": now - 60, "to": now - 50, "reason": "核查"}).status_code == 403
