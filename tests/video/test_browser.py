"""The dispatcher opens an alarm case in headless Chromium and the alarm point's linked
camera plays: a real GB/T 28181 gateway, a simulated NVR whose camera sends FFmpeg
H.264 in PS over RTP, the platform remuxing to MPEG-TS, mpegts.js decoding it (the
``<video>`` element's current time advances). Served by uvicorn (ASGI), as production
is: the stream is an open response. Screenshots of the video pages go to docs/."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety import clock
from campus_safety.alarms.models import AlarmCase
from campus_safety.audit.models import AuditEntry
from campus_safety.devices.models import Device
from campus_safety.simulator import video_camera
from campus_safety.simulator.ports import free_port
from campus_safety.video import services, streams
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, SchoolFactory, UserFactory, city_region
from tests.gateway.gb28181.harness import NVR_ID
from tests.ui.chromium import CHROMIUM, launched
from tests.ui.test_alarm_console import read_uncommitted
from tests.ui.test_browser import sign_in
from tests.video.support import CAMERAS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


@pytest.fixture
def scene(transactional_db, rig, monkeypatch):
    monkeypatch.setattr(streams, "hub", rig.hub)
    county = CountyFactory(code="371402", name="德城区", parent=city_region())
    school = SchoolFactory(region=county, name="德城区实验小学", longitude=116.3, latitude=37.45)
    nvr = DeviceFactory(
        device_id=NVR_ID,
        kind=Device.Kind.NVR,
        protocol=Device.Protocol.GB28181,
        school=school,
        name="硬盘录像机",
    )
    names = ["校门口", "操场东", "教学楼走廊"]
    cameras = [
        DeviceFactory(
            device_id=c, kind=Device.Kind.CAMERA, protocol=Device.Protocol.GB28181,
            school=school, parent=nvr, name=names[i],
            key_area="entrance" if i == 0 else "playground",
            longitude=116.3 + i / 1000, latitude=37.45,
        )
        for i, c in enumerate(CAMERAS)
    ]  # fmt: skip
    box = DeviceFactory(
        school=school, key_area="entrance", name="大门一键报警", longitude=116.3, latitude=37.45
    )
    now = clock.now() - dt.timedelta(minutes=5)
    case = AlarmCase.objects.create(
        school=school, device=box, key_area="entrance", opened_at=now, last_event_at=now
    )
    user = UserFactory(
        username="dispatcher", role="dispatcher", display_name="调度员小王", region=city_region()
    )
    totp = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return SimpleNamespace(case=case, cameras=cameras, school=school, totp=totp)


@pytest.fixture
def asgi_server(scene, settings, monkeypatch):
    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    settings.ALLOWED_HOSTS = ["*"]
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    app = ASGIStaticFilesHandler(get_asgi_application())
    if connection.vendor == "sqlite":  # see tests/ui/test_alarm_console.py
        connection_created.connect(read_uncommitted)
        connection.ensure_connection()
        read_uncommitted(connection=connection)
        app = _one_request_at_a_time(app)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
                       timeout_graceful_shutdown=2)
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    connection_created.disconnect(read_uncommitted)


def _one_request_at_a_time(app):
    """Pages one by one (SQLite); the live event stream and video streams run beside."""
    lock = asyncio.Lock()

    async def serialised(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(("/live/", "/video/stream/")):
            return await app(scope, receive, send)
        async with lock:
            return await app(scope, receive, send)

    return serialised


def _playing(page, timeout: float = 12.0) -> float:
    """Wait for the first tile to show a picture; its current time then advances."""
    page.wait_for_selector(".video-tile[data-state=playing]", timeout=timeout * 1000)
    first = page.evaluate("document.querySelector('.video-tile video').currentTime")
    page.wait_for_timeout(1500)
    later = page.evaluate("document.querySelector('.video-tile video').currentTime")
    assert later > first > 0, (first, later)
    return later - first


def _picture_time(page, video: str, at_least: float = 0.0, timeout: float = 15.0) -> float:
    """The time the camera drew in the picture now shown by ``video`` (Unix seconds),
    read from its pixels through a canvas (the simulated camera's time code row); waits
    until one is read that is ``at_least`` that late."""
    from campus_safety.simulator.video_camera import TIME_CODE_JS

    if not page.evaluate("typeof window.readTimeCode === 'function'"):
        page.evaluate(TIME_CODE_JS + "\ntrue;")  # a script, not a function to call
    handle = page.wait_for_function(
        "([video, least]) => { const v = window.readTimeCode(document.querySelector(video));"
        " return v !== null && v >= least ? v : null; }",
        arg=[video, at_least * 1000],
        timeout=timeout * 1000,
    )
    return handle.json_value() / 1000


def _shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_the_dispatcher_opens_an_alarm_case_and_the_linked_camera_plays(asgi_server, scene, rig):
    with launched() as browser:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, asgi_server, {"device": scene.totp})
        page.goto(asgi_server.url + reverse("alarms:case_detail", args=[scene.case.pk]))
        tiles = page.locator("#alarm-live-cameras .video-tile")
        assert tiles.count() == 2  # the nearest cameras: the gate's first
        assert tiles.first.get_attribute("data-camera") == CAMERAS[0]
        assert _playing(page) > 0.5
        metrics = page.evaluate("window.videoMetrics")
        assert all(m.get("firstPictureMs") for m in metrics[:1]), metrics
        _shoot(page, "video-alarm-case-desktop")

        # 回放: from 30 s before the alarm, the camera plays its recording from then
        page.locator("#alarm-live-cameras [data-playback]").first.click()
        page.wait_for_function(
            "() => { const m = window.videoMetrics; const r = m[m.length - 1];"
            " return r.playback && r.firstPictureMs; }",
            timeout=12000,
        )
        assert _playing(page) > 0.5
        replay_from = int(scene.case.opened_at.timestamp()) - 30
        assert any(s.target.playback_start == replay_from for s in streams.hub.sessions.values())
        assert any(s.recorded_at == replay_from for s in video_camera.streams(rig.fleet))
        # the picture itself is the earlier one: the time the camera drew in it, read
        # from the <video>'s pixels, is the moment asked for (5.5 min ago), not now
        shown = _picture_time(page, "#alarm-live-cameras .video-tile:nth-child(1) video")
        assert replay_from <= shown <= replay_from + 10, (shown - replay_from, replay_from)
        live = _picture_time(page, "#alarm-live-cameras .video-tile:nth-child(2) video")
        assert abs(live - time.time()) < 5, live - time.time()  # the other tile: live

        page.goto(asgi_server.url + reverse("video:camera", args=[scene.cameras[0].pk]))
        _playing(page)
        page.wait_for_selector("#recordings[data-loaded] .timeline-piece", timeout=12000)
        _shoot(page, "video-camera-desktop")
        page.goto(f"{asgi_server.url}/video/?school={scene.school.pk}&grid=4")
        page.wait_for_selector(".video-tile[data-state=playing]", timeout=12000)
        page.wait_for_timeout(1500)
        _shoot(page, "video-wall-desktop")

        phone = browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
            storage_state=context.storage_state(),
        )  # fmt: skip
        small = phone.new_page()
        small.goto(f"{asgi_server.url}/video/?school={scene.school.pk}&grid=4")
        small.wait_for_selector(".video-tile[data-state=playing]", timeout=12000)
        small.wait_for_timeout(1000)
        _shoot(small, "video-wall-phone")
        small.goto(asgi_server.url + reverse("video:camera", args=[scene.cameras[0].pk]))
        _playing(small)
        _shoot(small, "video-camera-phone")
        phone.close()
        context.close()
        assert errors == []
    connection.close()


def test_presets_playback_controls_end_of_file_and_a_clip_download_on_the_camera_page(
    asgi_server, scene, rig, monkeypatch, settings, tmp_path
):
    settings.VIDEO_DOWNLOAD_DIR = str(tmp_path)
    with launched() as browser:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, asgi_server, {"device": scene.totp})
        page.goto(asgi_server.url + reverse("video:camera", args=[scene.cameras[0].pk]))
        _playing(page)

        # a named preset: saved on the camera, listed, then called by picking it
        page.fill("#presets input[name=preset]", "5")
        page.fill("#presets input[name=name]", "校门全景")
        page.click("#presets [data-preset=preset_set]")
        page.wait_for_selector("#presets[data-last='preset_set:ok']", timeout=8000)
        assert page.inner_text("#presets select[name=pick] option:checked") == "5 · 校门全景"
        page.select_option("#presets select[name=pick]", "")
        page.select_option("#presets select[name=pick]", "5")
        page.wait_for_selector("#presets[data-last='preset_call:ok']", timeout=8000)
        assert [code[6:8] for _, code in video_camera.controls(rig.fleet)] == ["81", "82"]

        piece = page.locator("#recordings[data-loaded] .timeline-piece").first
        piece.wait_for(timeout=12000)
        piece.click()  # plays the recording from there; the controls show
        page.wait_for_selector("#playback-controls:not([hidden])")
        page.wait_for_function(
            "() => { const m = window.videoMetrics; const r = m[m.length - 1];"
            " return r.playback && r.firstPictureMs; }",
            timeout=12000,
        )
        recorded_at = int(
            page.evaluate("document.querySelector('#camera-live .video-tile').dataset.from")
        )
        camera = next(s for s in video_camera.streams(rig.fleet) if s.recorded_at == recorded_at)
        shown = _picture_time(page, "#camera-live video")
        assert recorded_at <= shown <= recorded_at + 10, (shown - recorded_at, recorded_at)

        def last(action: str) -> None:
            page.wait_for_function(
                "(a) => document.getElementById('playback-controls').dataset.last === a + ':ok'",
                arg=action,
                timeout=8000,
            )

        page.click("#playback-controls [data-control=pause]")
        last("pause")
        assert page.locator("#playback-controls [data-control=resume]").is_visible()
        page.click("#playback-controls [data-control=resume]")
        last("resume")
        page.select_option("#playback-controls select[name=scale]", "2")
        last("speed")
        assert page.evaluate("document.querySelector('#camera-live video').playbackRate") == 2
        assert [c.action for c in camera.controls] == ["pause", "resume", "speed"]
        assert camera.speed == 2.0
        # 跳转 two minutes on: the picture shows the recording from then
        page.eval_on_selector(
            "#playback-controls input[name=position]",
            "input => { input.value = '120'; input.dispatchEvent(new Event('change')); }",
        )
        last("seek")
        shown = _picture_time(page, "#camera-live video", at_least=recorded_at + 120)
        assert shown <= recorded_at + 130, (shown - recorded_at, recorded_at)

        # a clip of 30 s from the clicked moment, with a reason, saved as MP4
        clock_value = page.input_value("#download input[name=clock]")
        assert clock_value.count(":") == 2
        page.fill("#download input[name=reason]", "案件 2026-118 调取录像")
        page.click("#download button[type=submit]")
        page.wait_for_selector("#download[data-state=done] #download-note a", timeout=40000)
        href = page.get_attribute("#download-note a", "href")
        saved = page.request.get(asgi_server.url + href)
        assert saved.status == 200 and saved.headers["content-type"] == "video/mp4"
        assert len(saved.body()) > 10_000
        ended = AuditEntry.objects.get(action="video.download_result")
        assert ended.outcome == "success" and ended.detail["bytes"] == len(saved.body())
        assert ended.user.username == "dispatcher"
        request = AuditEntry.objects.get(action="video.download")
        assert request.detail["why"] == "案件 2026-118 调取录像" and request.detail["seconds"] == 30

        # a short recording plays to its end: the viewer is told, the dialog closed
        monkeypatch.setattr(services, "PLAYBACK_SECONDS", 3)
        piece.click()
        page.wait_for_selector("#camera-live .video-tile[data-state=eof]", timeout=20000)
        assert "录像已播放完毕" in page.inner_text("#camera-live .video-state")
        _shoot(page, "video-camera-playback-controls")
        context.close()
        assert errors == []
    connection.close()
