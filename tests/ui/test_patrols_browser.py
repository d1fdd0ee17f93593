"""An officer at a 护学岗 post, in a real browser: headless Chromium with a faked
geolocation checks in from outside the geofence (refused, with the reason), then from
inside it (accepted). Screenshots go to ``test-artifacts/``."""

import datetime as dt

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety.patrols import peak_posts
from campus_safety.patrols.models import PeakPost, PostCheckIn
from tests.factories import PASSWORD, OrganisationFactory, SchoolFactory, UserFactory
from tests.patrols.support import GATE, FrozenClock, gate_post, local, metres_north
from tests.ui.chromium import CHROMIUM, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
DAY = dt.date(2026, 3, 2)  # a Monday


@pytest.fixture
def on_duty(transactional_db, monkeypatch):
    """A police officer rostered at a post; the platform's clock stands at 07:45 on a
    Monday, inside the arrival window (07:30–08:15 by the city default timetable)."""
    FrozenClock(monkeypatch, local(DAY, "07:45"))  # the live server runs in this process
    station = OrganisationFactory(name="新华派出所")
    school = SchoolFactory(name="德城区实验小学", police_station=station, region=station.region)
    user = UserFactory(
        username="officer", role="police_officer", organisation=station, display_name="民警老李"
    )
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    post = gate_post(school, radius=100, required={"police": 1}, members=[(user, "police")])
    peak_posts.generate_roster(PeakPost.objects.all(), DAY, DAY)
    return {"user": user, "device": device, "post": post}


def test_an_officer_is_refused_outside_the_fence_and_checks_in_inside_it(
    django_db_setup, live_server, on_duty, browser
):
    lon, lat = metres_north(250)
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},  # a phone
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 10},
        permissions=["geolocation"],
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "officer")
    page.fill("#id_password", PASSWORD)
    page.click(".login-card button[type=submit]")
    page.wait_for_url("**/accounts/2fa/verify/**")
    device = on_duty["device"]
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page.fill("input[name=code]", f"{totp.token():06d}")
    page.click("#otp-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/alarms/")  # an officer lands on the wall

    page.goto(f"{live_server.url}/patrols/duty/")
    card = page.locator(".duty-card").first  # the arrival peak; the dismissal card follows
    assert "南门护学岗" in card.inner_text()
    assert not card.locator('[data-action="check-out"]').is_visible()
    card.locator('[data-action="check-in"]').click()
    page.wait_for_selector(".duty-state.bad")
    refusal = card.locator(".duty-state").inner_text()
    assert "250 米" in refusal and "100 米" in refusal  # the distance and the fence (zh-Hans)
    assert not PostCheckIn.objects.exists()
    screenshot(page, "patrols-duty-refused")

    context.set_geolocation({"longitude": GATE[0], "latitude": GATE[1] + 0.0003, "accuracy": 8})
    card.locator('[data-action="check-in"]').click()
    page.wait_for_selector(".duty-state.ok")
    assert card.locator('[data-action="check-out"]').is_visible()
    assert not card.locator('[data-action="check-in"]').is_visible()
    row = PostCheckIn.objects.get()
    assert (row.user, row.is_exception) == (on_duty["user"], False)
    assert 30 < row.in_distance_m < 37  # 0.0003° of latitude ≈ 33 m
    screenshot(page, "patrols-duty-checked-in")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/patrols/")
    page.wait_for_selector("#posts-map[data-loaded=true]")
    assert page.get_attribute("#posts-map", "data-markers") == "1"
    assert page.inner_text("#live-staffed") == "1"  # the window is live and staffed
    screenshot(page, "patrols-posts-today")
    assert errors == []
    context.close()
