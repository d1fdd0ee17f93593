"""Recordings: RecordInfo in several parts from a simulated camera, a playback INVITE
(s=Playback, u=, t=) streamed like a live one, and who may watch recordings."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from campus_safety.audit.models import AuditEntry
from campus_safety.gateway.gb28181 import manscdp, records
from campus_safety.simulator import video_camera
from campus_safety.video import streams
from tests.gateway.gb28181.harness import NVR_ID
from tests.video.support import CAMERAS, probe


def _today() -> tuple[dt.datetime, dt.datetime]:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1, seconds=-1)


def test_record_info_comes_in_parts_and_is_collected_until_sumnum(rig):
    start, end = _today()
    spans = rig.call(rig.server.server.dialogs.record_info(NVR_ID, CAMERAS[0], start, end))
    expected = video_camera.day_of_recordings(
        CAMERAS[0], start.replace(tzinfo=None), end.replace(tzinfo=None)
    )
    assert len(spans) == len(expected) >= 1
    assert all(a < b for a, b in spans)
    gap = [a for a, _ in spans if dt.time(3) <= a.astimezone().time() < dt.time(3, 30)]
    assert gap == []  # the maintenance window has no recording


def test_record_info_answers_are_read_and_bad_items_skipped():
    good = records.Recording(dt.datetime(2026, 12, 7, 8), dt.datetime(2026, 12, 7, 8, 30))
    bad = records.Recording(dt.datetime(2026, 12, 7, 9), dt.datetime(2026, 12, 7, 8))
    body = records.build_response(5, CAMERAS[0], "校门口", 3, [good, bad])
    total, items = records.parse_response(manscdp.parse(body))
    assert total == 3 and items == [records.Recording(good.start, good.end, "校门口", "time")]


def test_a_playback_streams_the_recording_beside_the_live_stream(rig):
    recorded_at = int(time.time()) - 3600
    live = rig.call(rig.hub.open(rig.target()))
    target = streams.Target(CAMERAS[0], NVR_ID, recorded_at, recorded_at + 600)
    viewer = streams.Viewer()
    playback = rig.call(rig.hub.attach(target, viewer))
    assert playback is not live and playback.ssrc.startswith("1")
    assert {live.target.key, playback.target.key} == set(rig.hub.sessions)
    sent = [s for s in rig.camera_streams() if s.recorded_at == recorded_at]
    assert len(sent) == 1  # the camera plays the recording back from then
    data = bytearray()
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:
        data += viewer.get(0.2) or b""
    assert probe(bytes(data)) == "h264,640,360"


@pytest.mark.django_db
def test_replay_from_before_the_alarm_through_the_page_calls(client, dispatcher, cameras):
    listing = client.get(reverse("video:recordings", args=[cameras[0].pk]))
    assert listing.status_code == 200, listing.content
    assert listing.json()["recordings"]
    recorded_at = int(time.time()) - 1800
    answer = client.post(reverse("video:start", args=[cameras[0].pk]), {"from": recorded_at})
    assert answer.status_code == 200, answer.content
    assert (
        client.post(reverse("video:start", args=[cameras[0].pk]), {"from": "tomorrow"}).status_code
        == 400
    )
    assert AuditEntry.objects.filter(action="video.view_start", outcome="failure").count() == 0


@pytest.mark.django_db
def test_a_role_without_recordings_may_not_replay(client, cameras):
    from tests.factories import UserFactory, sign_in

    sign_in(client, UserFactory(role="guard", school=cameras[0].school))
    assert client.get(reverse("video:recordings", args=[cameras[0].pk])).status_code == 403
    answer = client.post(reverse("video:start", args=[cameras[0].pk]), {"from": 1})
    assert answer.status_code == 403
