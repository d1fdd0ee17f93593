"""Every role's working day in a real browser (issue #14 items 2 and 3).

Each demo role signs in through the form (and its authenticator code, where the role
needs one) on a small seeded demo city, lands on its own work — the alarm wall, the
scan page, today's duty, the school's home page, the district overview, the audit log,
the role table — finds in its menu only pages it may open, and on a 1440 px desktop
and a 360 px phone nothing is wider than the window. On the phone each role then does
one thing of its day: a guard records a scan, a volunteer opens today's duty, a school
administrator opens a hazard from the school's home page, the education bureau filters
its district overview, an auditor filters the audit log, a police officer and a
dispatcher open their area's alarm case. The landing pages are kept as screenshots
(test-artifacts/<role>-landing-desktop.png and -phone.png; docs/screenshots/ has them).

Headless Debian Chromium over the uvicorn server of ``test_alarm_console.py`` (its
fixtures; its ``city`` is this module's seeded demo city) and the overflow helpers of
``test_alarm_banner_and_wall.py``.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety import clock
from campus_safety.accounts import two_factor
from campus_safety.accounts.landing import landing_url
from campus_safety.accounts.models import User
from campus_safety.devices.models import Device
from campus_safety.hazards.models import Hazard
from campus_safety.patrols.models import Checkpoint, TourScan
from campus_safety.simulator import demo_day
from campus_safety.simulator.demo_users import PASSWORD
from tests.alarms.support import send_alarm
from tests.hazards.support import internal
from tests.ui import test_alarm_console as console
from tests.ui.chromium import CHROMIUM
from tests.ui.test_alarm_banner_and_wall import DESKTOP, PHONE, fits, keep, overflow

asgi_server, browser = console.asgi_server, console.browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the server's threads read committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
ZONE = ZoneInfo("Asia/Shanghai")
MORNING = dt.datetime(2026, 12, 14, 10, 5, tzinfo=ZONE)  # a Monday in term
LANDINGS = {  # demo username → where the role starts its day
    "dispatcher": "/alarms/",
    "police": "/alarms/",
    "edu": "/overview/",
    "school": "/schools/{school}/home/",
    "guard": "/patrols/scan/",
    "volunteer": "/patrols/duty/",
    "auditor": "/audit/",
    "security": "/accounts/roles/",
    "admin": "/overview/",
}


@pytest.fixture
def city(transactional_db):
    """The demo city, 40 schools, at 10:05 on a school day made to look like one (the
    morning's tours walked, the arrival peak's check-ins); most devices online, a few
    off; an alarm just in at a school of the demo police station and an open hazard at
    the demo school. Demo users with an authenticator each (a TOTP secret of their own).
    Named ``city`` because the console's ``asgi_server`` starts after it."""
    clock.start_at(MORNING)
    call_command("seed_demo", "--schools", "40", "--verbosity", "0", stdout=StringIO())
    demo_day.start_demo_day()
    Device.objects.update(status=Device.Status.ONLINE)
    every_ninth = list(Device.objects.order_by("pk").values_list("pk", flat=True))[::9]
    Device.objects.filter(pk__in=every_ninth).update(status=Device.Status.OFFLINE)
    users = {u.username: u for u in User.objects.filter(username__in=LANDINGS)}
    totp = {
        name: TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        for name, user in users.items()
        if two_factor.required_for(user)
    }
    police = users["police"]
    box = Device.objects.filter(
        school__police_station=police.organisation, kind=Device.Kind.ONE_KEY_ALARM
    ).first()
    case = send_alarm(box, clock)
    school = users["school"].school
    hazard = internal(users["school"], school, title="东侧围墙破损")
    Hazard.objects.filter(pk=hazard.pk).update(deadline=clock.now() + dt.timedelta(days=3))
    yield SimpleNamespace(users=users, totp=totp, case=case, hazard=hazard, school=school)
    clock.reset()


def sign_in(page, server, user: User, totp: TOTPDevice | None) -> None:
    """Password, then (for the roles that need one) the authenticator code."""
    from django_otp.oath import TOTP

    page.goto(f"{server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click(".login-card button[type=submit]")
    if totp is not None:
        page.wait_for_url("**/accounts/2fa/verify/**")
        code = TOTP(totp.bin_key, totp.step, totp.t0, totp.digits, totp.drift).token()
        page.fill("input[name=code]", f"{code:06d}")
        page.click("#otp-form button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url and "/2fa/" not in url)


def tab(browser, viewport, state=None):
    context = browser.new_context(locale="zh-CN", viewport=viewport, storage_state=state)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return context, page


def settled(page) -> None:
    """Maps and charts drawn (they are what widens a page, if anything does)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def menu(page) -> list[str]:
    return page.eval_on_selector_all(".mainnav a", "all => all.map(a => a.getAttribute('href'))")


# --- one thing of each role's day, on the phone ------------------------------------------


def guard_records_a_scan(page, city, server) -> None:
    checkpoint = Checkpoint.objects.filter(school=city.school, is_active=True).first()
    page.fill("#id_code", checkpoint.code)
    page.click(".phone-form button[type=submit]")
    page.wait_for_selector("#record-scan")
    fits(page, "#record-scan", PHONE["width"])
    assert overflow(page) == 0
    page.click("#record-scan")
    page.wait_for_selector("#scan-result")
    assert TourScan.objects.filter(checkpoint=checkpoint, user=city.users["guard"]).exists()


def volunteer_opens_todays_duty(page, city, server) -> None:
    card = page.locator(".duty-card").first
    assert "护学岗" in card.inner_text()
    assert city.school.name in card.inner_text()
    fits(page, ".duty-card", PHONE["width"])


def school_admin_opens_a_hazard_from_the_home_page(page, city, server) -> None:
    link = f"#school-hazards tr[data-hazard-id='{city.hazard.pk}'] a"
    fits(page, link, PHONE["width"])
    page.click(link)
    page.wait_for_url(f"**/hazards/{city.hazard.pk}/")
    assert city.hazard.title in page.inner_text("h1")


def edu_filters_the_district_overview(page, city, server) -> None:
    page.click("#district-table a[href='?region=371402']")
    page.wait_for_url("**/overview/?region=371402")
    assert "德城区" in page.inner_text(".breadcrumbs")


def auditor_filters_the_audit_log(page, city, server) -> None:
    page.fill("#audit-filters input[name=user]", "auditor")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url("**/audit/?*user=auditor*")
    people = page.locator("#audit-table td.person").all_inner_texts()
    assert people and all("auditor" in who for who in people)


def opens_the_areas_alarm_case(page, city, server) -> None:
    row = f"#alarm-cases tr.case-row[data-case-id='{city.case.pk}']"
    fits(page, f"{row} .c-actions a.btn", PHONE["width"])
    page.click(f"{row} .c-actions a.btn")
    page.wait_for_url(f"**/alarms/{city.case.pk}/**")
    assert city.case.school.name in page.inner_text("main")


def police_open_their_stations_case(page, city, server) -> None:
    fits(page, "#wall-posts-today", PHONE["width"])  # and today's posts, one tap away
    opens_the_areas_alarm_case(page, city, server)


def security_reads_the_role_table(page, city, server) -> None:
    """Who may read the audit log: on a phone a card naming only the roles that may."""
    cell = "#role-table tr[data-resource='audit'] td[data-role='auditor']"
    fits(page, cell, PHONE["width"])
    assert page.inner_text(cell) == "读取 · 导出"
    assert page.get_attribute(cell, "data-label") == "审计员"
    assert page.is_hidden("#role-table tr[data-resource='audit'] td[data-role='guard']")


def admin_filters_the_city_overview(page, city, server) -> None:
    page.select_option("#id_region", "371402")
    page.wait_for_url("**/overview/?region=371402")


DAILY_TASKS = {
    "dispatcher": opens_the_areas_alarm_case,
    "police": police_open_their_stations_case,
    "edu": edu_filters_the_district_overview,
    "school": school_admin_opens_a_hazard_from_the_home_page,
    "guard": guard_records_a_scan,
    "volunteer": volunteer_opens_todays_duty,
    "auditor": auditor_filters_the_audit_log,
    "security": security_reads_the_role_table,
    "admin": admin_filters_the_city_overview,
}


@pytest.mark.parametrize("username", list(LANDINGS))
def test_each_role_lands_on_its_work_with_a_menu_it_may_open_on_a_desktop_and_a_phone(
    django_db_setup, city, asgi_server, browser, username
):
    user = city.users[username]
    landing = LANDINGS[username].format(school=city.school.pk)
    assert landing_url(user) == landing

    desktop, page = tab(browser, DESKTOP)
    sign_in(page, asgi_server, user, city.totp.get(username))
    assert page.url == f"{asgi_server.url}{landing}"
    settled(page)
    assert overflow(page) == 0
    links = menu(page)
    assert links, "an empty menu"
    hidden = "nav => nav.scrollWidth - nav.clientWidth"  # the menu scrolled, items out of view
    assert page.eval_on_selector(".mainnav", hidden) <= 1
    for href in links:  # every item opens: the menu is the role table's
        assert desktop.request.get(f"{asgi_server.url}{href}").status == 200, href
    if username == "guard":
        assert reverse("alarms:wall") not in links
    if username == "volunteer":
        assert reverse("reports:overview") not in links  # no staffing statistics
    keep(page, f"{username}-landing-desktop")
    state = desktop.storage_state()
    assert page.errors == []
    desktop.close()

    phone, page = tab(browser, PHONE, state)
    page.goto(f"{asgi_server.url}{landing}")
    settled(page)
    assert overflow(page) == 0
    for n in range(len(links)):  # the whole menu in view: it wraps, nothing off screen
        fits(page, f".mainnav a >> nth={n}", PHONE["width"])
    keep(page, f"{username}-landing-phone")
    DAILY_TASKS[username](page, city, asgi_server)
    settled(page)
    assert overflow(page) == 0
    assert page.errors == []
    phone.close()
