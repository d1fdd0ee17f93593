"""Hazards in a real browser (headless Chromium against a live server): a school
administrator reports a hazard from a phone-sized screen with a photo, records the fix
with evidence; a police officer verifies it. Screenshots go to ``test-artifacts/``."""

import io

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from campus_safety.accounts.landing import landing_url
from campus_safety.hazards.models import Hazard
from campus_safety.hazards.uploads import has_location
from campus_safety.orgs.models import Organisation
from tests.alarms.support import station_chain
from tests.factories import PASSWORD, CountyFactory, SchoolFactory, UserFactory
from tests.hazards.support import jpeg_bytes
from tests.ui.chromium import CHROMIUM, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the live server reads committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def people(transactional_db, media):
    county = CountyFactory(code="371402", name="德城区")
    station = station_chain(county)
    Organisation.objects.create(
        name="德城区教育和体育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=county
    )
    school = SchoolFactory(
        region=county,
        police_station=station,
        name="德城区实验小学",
        longitude=116.3,
        latitude=37.45,
    )
    users = {
        "school": UserFactory(
            username="schooladmin", role="school_admin", school=school, display_name="张主任"
        ),
        "police": UserFactory(
            username="officer", role="police_officer", organisation=station, display_name="李警官"
        ),
    }
    devices = {
        name: TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        for name, user in users.items()
    }
    return {"school": school, "users": users, "devices": devices}


def new_tab(browser, **options):
    context = browser.new_context(locale="zh-CN", **options)
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    return context, tab


def sign_in(page, live_server, username, device) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click(".login-card button[type=submit]")
    page.wait_for_url("**/accounts/2fa/verify/**")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page.fill("input[name=code]", f"{totp.token():06d}")
    page.click("#otp-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{landing_url(device.user)}")


def photo_file(name: str, *, gps: bool = False) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg_bytes(gps=gps, size=(320, 240))}


def test_a_school_reports_a_hazard_with_a_photo_and_the_police_verify_the_fix(
    django_db_setup, live_server, people, browser
):
    # The school administrator, on a phone-sized screen, with the phone's position.
    phone, page = new_tab(
        browser,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": 37.4512, "longitude": 116.3021},
        permissions=["geolocation"],
    )
    sign_in(page, live_server, "schooladmin", people["devices"]["school"])
    page.goto(f"{live_server.url}/hazards/")
    page.click("a[href='/hazards/report/']")
    page.wait_for_url("**/hazards/report/")
    assert page.is_visible("#id_key_area") and not page.is_visible("#id_spot_kind")
    page.fill("#id_title", "门卫室一键报警按钮损坏")
    page.select_option("#id_key_area", "gate_room")
    page.fill("#id_facility", "一键报警")
    page.select_option("#id_category", "electronic")
    page.select_option("#id_severity", "high")
    page.fill("#id_description", "按下后无声光报警，未联网。")
    page.set_input_files("#id_photos", photo_file("found.jpg", gps=True))
    page.wait_for_selector("#photo-preview img")
    page.click("[data-locate]")
    page.wait_for_function("() => document.querySelector('[name=latitude]').value !== ''")
    screenshot(page, "hazard-report-phone")
    page.click("#hazard-report button[type=submit]")
    page.wait_for_url("**/hazards/*/")
    hazard = Hazard.objects.get()
    assert hazard.status == "assigned" and hazard.responsible_kind == "school"
    assert (round(hazard.latitude, 4), round(hazard.longitude, 4)) == (37.4512, 116.3021)
    found = hazard.photos.get()
    with found.image.open("rb") as handle:
        assert not has_location(handle.read())  # stripped by default
    # the photo loads after the page (the live server answers one request at a time)
    page.wait_for_function(
        "() => { const img = document.querySelector('.photo-strip img');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    assert page.locator(".photo-strip img").first.evaluate("img => img.naturalWidth") == 320

    # The school fixes it and submits the evidence.
    page.fill("#step-progress textarea[name=note]", "已联系厂家更换按钮")
    page.click("#step-progress button[type=submit]")
    page.wait_for_selector(".messages li")
    page.fill("#step-submitted textarea[name=note]", "已更换并与110联网测试")
    page.set_input_files("#step-submitted input[type=file]", photo_file("fixed.jpg"))
    page.click("#step-submitted button[type=submit]")
    page.wait_for_selector("#hazard-timeline li.submitted")
    assert page.locator("#step-verified").count() == 0  # never the school's own verification
    screenshot(page, "hazard-submitted-phone")
    assert page.errors == []
    phone.close()

    # The police officer, at a desk, verifies the fix and closes the hazard.
    desk, tab = new_tab(browser, viewport={"width": 1440, "height": 900})
    sign_in(tab, live_server, "officer", people["devices"]["police"])
    tab.goto(f"{live_server.url}/hazards/?status=submitted")
    tab.click(f"text={hazard.reference}")
    tab.wait_for_url(f"**/hazards/{hazard.pk}/")
    assert tab.locator("#hazard-timeline li").count() == 4
    assert tab.locator(".photo-strip img").count() >= 2
    tab.fill("#step-verified textarea[name=note]", "现场复核，报警已接入110")
    tab.click("#step-verified button[type=submit]")
    tab.wait_for_selector("#hazard-timeline li.verified")
    tab.click("#step-closed button[type=submit]")
    tab.wait_for_selector("#hazard-timeline li.closed")
    screenshot(tab, "hazard-closed")
    hazard.refresh_from_db()
    assert hazard.status == "closed"
    assert hazard.verified_by == people["users"]["police"]
    steps = list(hazard.events.values_list("step", "by__username"))
    assert steps == [
        ("reported", "schooladmin"), ("assigned", "schooladmin"), ("progress", "schooladmin"),
        ("submitted", "schooladmin"), ("verified", "officer"), ("closed", "officer"),
    ]  # fmt: skip
    # The trouble-spot map draws (no spots here, but the page and script work).
    tab.goto(f"{live_server.url}/hazards/map/")
    tab.wait_for_selector("#hazard-map[data-loaded=true]")
    assert tab.errors == []
    desk.close()
    Image.open(io.BytesIO(jpeg_bytes())).verify()
