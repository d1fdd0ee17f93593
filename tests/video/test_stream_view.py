"""The player's two calls against a real gateway and a simulated camera: start (INVITE,
token back) and stream (MPEG-TS), each view's start and stop in the audit log."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.urls import reverse

from campus_safety.audit.models import AuditEntry
from campus_safety.video import ts, views
from tests.video.support import CAMERAS

pytestmark = pytest.mark.django_db


def test_start_then_stream_plays_and_both_ends_of_the_view_are_audited(
    client, dispatcher, cameras, rig, monkeypatch
):
    bodies = []
    make_body = views._body

    def recorded(*args):
        bodies.append(make_body(*args))
        return bodies[-1]

    monkeypatch.setattr(views, "_body", recorded)
    answer = client.post(reverse("video:start", args=[cameras[0].pk]))
    assert answer.status_code == 200, answer.content
    url = answer.json()["url"]
    assert answer.json()["codec"] == "h264"

    async def watch() -> bytes:
        browser = AsyncClient()
        browser.cookies = client.cookies
        response = await browser.get(url + "?why=test")
        assert response.status_code == 200
        assert response["Content-Type"] == "video/mp2t"
        body = bytearray()
        async for chunk in response.streaming_content:
            body += chunk
            if len(body) > 50_000:
                break
        await bodies[0].aclose()  # the browser leaves (ASGI cancels the response's task)
        return bytes(body)

    body = async_to_sync(watch)()
    assert ts.parse_packets(body[: len(body) // 188 * 188])[0][0] == 0
    actions = list(
        AuditEntry.objects.filter(action__startswith="video.view")
        .order_by("pk")
        .values_list("action", "outcome", "detail")
    )
    assert [(a, o) for a, o, _ in actions] == [
        ("video.view_start", "success"),
        ("video.view_stop", "success"),
    ]
    assert actions[0][2]["why"] == "test"
    assert actions[1][2]["bytes"] >= 50_000
    assert rig.hub.sessions[CAMERAS[0]].viewers == set()  # idle now: stops in 30 s


def test_a_camera_that_sends_nothing_is_reported_within_5_s(client, dispatcher, cameras):
    from campus_safety.simulator import video_camera

    video_camera.OPTIONS.silent_channels.add(CAMERAS[1])
    answer = client.post(reverse("video:start", args=[cameras[1].pk]))
    assert answer.status_code == 504
    assert answer.json() == {"error": "设备未推流", "code": "no_media"}
