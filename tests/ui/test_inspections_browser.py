"""Online inspection in a real browser (issue #19): an education-bureau inspector
patrols three schools by video, marks a blocked camera; the school answers the notice
with a photo; the inspector accepts it. Screenshots of the main pages at 1440×900 and
390×844 go to docs/screenshots/."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety.hazards.models import Hazard
from campus_safety.inspections import daily, quality
from campus_safety.inspections.models import Finding, Notice
from campus_safety.orgs.models import Organisation
from campus_safety.simulator import camera_faults
from tests.alarms.support import station_chain
from tests.factories import CountyFactory, SchoolFactory, UserFactory
from tests.inspections.support import camera, good_school
from tests.ui.chromium import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the live server reads committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def _scene(seed: int) -> np.ndarray:
    """A textured picture for a camera (stripes and blocks, so it is not flat)."""
    rng = np.random.default_rng(seed)
    frame = np.full((576, 704, 3), 70, np.uint8)
    for _ in range(40):
        x, y = rng.integers(0, 650), rng.integers(40, 520)
        frame[y : y + 50, x : x + 50] = rng.integers(30, 230, 3)
    return frame


class _Snapshots(BaseHTTPRequestHandler):
    pictures: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.pictures.get(self.path.rsplit("/", 1)[-1].removesuffix(".jpg"))
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def snapshot_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Snapshots)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/snapshots/"
    server.shutdown()


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client.cookies["sessionid"].value


@pytest.fixture
def world(transactional_db, snapshot_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    county = CountyFactory(code="371402", name="德城区")
    station = station_chain(county)
    bureau = Organisation.objects.create(
        name="德城区教育和体育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=county
    )
    schools = [
        SchoolFactory(region=county, police_station=station, name=name)
        for name in ("德城区实验小学", "德城区第二中学", "德城区育才幼儿园")
    ]
    day = dt.date.today() - dt.timedelta(days=1)
    good_school(schools[0], day)
    for n, school in enumerate(schools):
        cam = camera(school, "entrance", name=f"{school.name[:3]}南门摄像机")
        cam.snapshot_url = f"{snapshot_server}{cam.device_id}.jpg"
        cam.save()
        _Snapshots.pictures[cam.device_id] = camera_faults.jpeg(_scene(n))
        quality.diagnose_picture(cam, _Snapshots.pictures[cam.device_id])  # the reference
    blocked = schools[1].devices.filter(name__contains="南门").get()
    rng = __import__("random").Random(2)
    covered = camera_faults.jpeg(camera_faults.occlude(_scene(1), rng, 2))
    _Snapshots.pictures[blocked.device_id] = covered  # what the patrol sees now
    quality.diagnose_picture(blocked, covered)
    for back in range(7, 0, -1):
        # History only: the notice of this test is the patrol's (run's own: test_auto_notices)
        daily.run_daily_inspection(dt.date.today() - dt.timedelta(days=back), issue_notices=False)
    inspector = UserFactory(
        username="inspector", role="education_staff", organisation=bureau, display_name="王科长"
    )
    school_admin = UserFactory(
        username="principal", role="school_admin", school=schools[1], display_name="张主任"
    )
    return {
        "schools": schools,
        "blocked": blocked,
        "cookies": {"inspector": _cookie(inspector), "school": _cookie(school_admin)},
    }


def _tab(browser, live_server, cookie, viewport):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(120_000)  # the live server answers one request at a time
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def _shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_function(  # the pictures in view are drawn before the shot
        "() => [...document.images]"
        ".filter(i => i.getBoundingClientRect().top < innerHeight).every(i => i.complete)"
    )
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_patrol_three_schools_blocked_camera_answered_with_a_photo_and_accepted(
    world, live_server, browser, tmp_path
):
    page = _tab(browser, live_server, world["cookies"]["inspector"], DESKTOP)
    page.goto(f"{live_server.url}/inspections/")
    page.wait_for_selector("#ranking")
    _shoot(page, "inspections-board-desktop")

    page.goto(f"{live_server.url}/inspections/patrols/")
    for school in world["schools"]:
        page.check(f"#start-patrol input[value='{school.pk}']")
    page.click("#start-patrol button[type=submit]")
    page.wait_for_selector("#cameras")
    assert world["schools"][0].name in page.inner_text("h1")

    page.click("#next-school")  # the second school: its gate camera is covered
    page.wait_for_function(
        f"() => document.querySelector('h1').innerText.includes('{world['schools'][1].name}')"
    )
    card = page.locator(f"figure[data-device='{world['blocked'].pk}']")
    card.locator("img").evaluate("img => img.decode()")
    card.locator("select[name=kind]").select_option("camera_blocked")
    card.locator("input[name=note]").fill("南门摄像机被遮挡")
    card.locator("button[type=submit]").click()
    page.wait_for_selector("#findings td.title")
    _shoot(page, "inspections-patrol-desktop")
    page.click("#next-school")
    page.wait_for_function(
        f"() => document.querySelector('h1').innerText.includes('{world['schools'][2].name}')"
    )
    page.click("#finish-patrol")
    page.wait_for_url("**/inspections/patrols/")
    assert page.errors == []

    finding = Finding.objects.get()
    assert finding.kind == "camera_blocked" and finding.snapshot
    notice = Notice.objects.get()
    assert notice.school == world["schools"][1]

    school_page = _tab(browser, live_server, world["cookies"]["school"], PHONE)
    school_page.goto(f"{live_server.url}/inspections/notices/{notice.pk}/")
    photo = tmp_path / "fix.jpg"
    photo.write_bytes(camera_faults.jpeg(_scene(1)))
    school_page.fill("#answer-form textarea[name=note]", "已清除遮挡物，恢复画面")
    school_page.set_input_files("#answer-form input[name=photos]", str(photo))
    school_page.click("#answer-form button[type=submit]")
    school_page.wait_for_selector(".photos img")
    assert "已回复" in school_page.inner_text("#notice-state")
    _fits(school_page, PHONE["width"])
    _shoot(school_page, "inspections-notice-phone")

    page.goto(f"{live_server.url}/inspections/notices/{notice.pk}/")
    page.fill("#accept-form input[name=note]", "画面已恢复")
    page.click("#accept-form button[type=submit]")
    page.wait_for_selector("#notice-state.ok")
    assert "已验收" in page.inner_text("#notice-state")
    _shoot(page, "inspections-notice-desktop")
    notice.hazard.refresh_from_db()
    assert notice.hazard.status == Hazard.Status.CLOSED

    page.goto(f"{live_server.url}/inspections/vqd/")
    page.wait_for_selector("#vqd-cameras figure")
    _shoot(page, "inspections-vqd-desktop")
    assert page.errors == [] and school_page.errors == []


@pytest.mark.parametrize("path", ["", "patrols/", "vqd/", "rules/"])
def test_pages_fit_a_phone(world, live_server, browser, path):
    page = _tab(browser, live_server, world["cookies"]["inspector"], PHONE)
    page.goto(f"{live_server.url}/inspections/{path}")
    page.wait_for_selector("main h1")
    _fits(page, PHONE["width"])
    name = {"": "board", "patrols/": "patrols", "vqd/": "vqd", "rules/": "rules"}[path]
    _shoot(page, f"inspections-{name}-phone")
    assert page.errors == []
