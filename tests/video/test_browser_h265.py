"""An H.265 camera in headless Chromium. Debian's Chromium has no H.265 decoder (its
MSE refuses ``hvc1``), so the tile must say so in words — which browser to use, or to
set the camera to H.264 — instead of staying black, while the school's H.264 cameras
on the same wall play. In a browser whose MSE takes H.265 the same tile plays."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from campus_safety.simulator import video_camera
from tests.ui.chromium import CHROMIUM, launched, screenshot
from tests.ui.test_browser import sign_in
from tests.video.support import CAMERAS
from tests.video.test_browser import asgi_server, scene  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
H265_CAMERA = CAMERAS[1]
HEVC = 'video/mp4; codecs="hvc1.1.6.L93.B0"'


def test_an_h265_camera_in_a_browser_without_h265_says_why_and_the_others_play(
    asgi_server,  # noqa: F811
    scene,  # noqa: F811
    rig,
    monkeypatch,
):
    monkeypatch.setattr(video_camera.OPTIONS, "h265_channels", {H265_CAMERA})
    with launched() as browser:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, asgi_server, {"device": scene.totp})
        page.goto(f"{asgi_server.url}/video/?school={scene.school.pk}&grid=4")
        tile = page.locator(f".video-tile[data-camera='{H265_CAMERA}']")
        decodes_h265 = page.evaluate(f"MediaSource.isTypeSupported('{HEVC}')")
        assert page.evaluate("MediaSource.isTypeSupported('video/mp4; codecs=\"avc1.42E01E\"')")
        if decodes_h265:  # a browser with H.265: the camera simply plays
            page.wait_for_selector(
                f".video-tile[data-camera='{H265_CAMERA}'][data-state=playing]", timeout=15000
            )
        else:
            page.wait_for_selector(
                f".video-tile[data-camera='{H265_CAMERA}'][data-state=unsupported]",
                timeout=15000,
            )
            message = tile.locator(".video-state")
            assert message.is_visible()
            words = message.inner_text()
            assert "此浏览器不能播放 H.265 视频" in words, words
            assert "支持 H.265 的浏览器" in words and "H.264" in words, words
            assert tile.get_attribute("data-codec") == "h265"
            # the message fits the tile (a 2x2 wall at 1440 px), nothing cut off
            box, frame = message.bounding_box(), tile.locator(".video-frame").bounding_box()
            assert box["y"] >= frame["y"] and box["height"] <= frame["height"], (box, frame)
        # the school's H.264 cameras on the same wall play as ever
        for camera in (CAMERAS[0], CAMERAS[2]):
            page.wait_for_selector(
                f".video-tile[data-camera='{camera}'][data-state=playing]", timeout=15000
            )
        screenshot(page, "video-wall-h265-unsupported")

        # a camera's own page says the same
        page.goto(asgi_server.url + reverse("video:camera", args=[scene.cameras[1].pk]))
        state = "playing" if decodes_h265 else "unsupported"
        page.wait_for_selector(f".video-tile[data-state={state}]", timeout=15000)
        context.close()
        assert errors == []
    assert any(s.codec == "h265" for s in video_camera.streams(rig.fleet))
    connection.close()
