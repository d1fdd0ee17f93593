"""A safety warning reaches a school's pages over the live stream (issue #20): the
banner and the notices list refresh themselves, with no reload and long before the
banner's fallback poll (5 minutes); another school's page, open at the same time, gets
nothing. Served by uvicorn as ``test_alarm_console.py`` does (its fixtures), so the
stream streams."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety.linkage import notices
from campus_safety.linkage.models import Notice
from campus_safety.orgs.models import Organisation
from tests.factories import OrganisationFactory, SchoolFactory, UserFactory
from tests.ui import test_alarm_console as console
from tests.ui.chromium import CHROMIUM, screenshot
from tests.ui.test_alarm_console import sign_in_as, wait_for_stream

# The console test's fixtures: its city, uvicorn, and the browser after it.
city, asgi_server, browser = console.city, console.asgi_server, console.browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the server's threads read committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


@pytest.fixture
def schools(city):
    other = SchoolFactory(
        region=city.school.region, police_station=city.school.police_station, name="德城区第二小学"
    )
    bureau = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=city.school.region, name="德城区教体局"
    )

    def person(name: str, **fields):
        user = UserFactory(username=name, **fields)
        return SimpleNamespace(user=user, totp=TOTPDevice.objects.create(user=user, name="phone"))

    return SimpleNamespace(
        mine=person("school-contact", role="school_admin", school=city.school),
        theirs=person("other-contact", role="school_admin", school=other),
        bureau=UserFactory(username="bureau", role="education_staff", organisation=bureau),
    )


def tab(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    context.set_default_timeout(60_000)  # a bound on a loaded machine, not a measurement
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return context, page


def test_a_warning_reaches_the_recipients_banner_live_and_no_one_elses(
    asgi_server, browser, schools
):
    mine_context, mine = tab(browser)
    sign_in_as(mine, asgi_server, schools.mine.user, schools.mine.totp)
    mine.goto(f"{asgi_server.url}/linkage/notices/")
    theirs_context, theirs = tab(browser)
    sign_in_as(theirs, asgi_server, schools.theirs.user, schools.theirs.totp)
    theirs.goto(f"{asgi_server.url}/linkage/notices/")
    for page in (mine, theirs):
        page.evaluate(
            "() => { window.heard = [];"
            " document.addEventListener('campus-live', e => window.heard.push(e.detail.name)); }"
        )
    wait_for_stream()
    mine.wait_for_selector("#linkage-warnings", state="attached")
    assert mine.inner_text("#linkage-warnings").strip() == ""

    notice = notices.send_notice(
        schools.bureau,
        title="暴雨红色预警：今日午后停止户外活动",
        body="气象台发布暴雨红色预警，请停止户外活动。",
        target={"schools": [schools.mine.user.school_id]},
        kind=Notice.Kind.WARNING,
    )
    mine.wait_for_selector(f"#linkage-warnings a.linkage-warning[href$='/{notice.pk}/']")
    assert notice.title in mine.inner_text("#linkage-warnings")
    mine.wait_for_selector(f"#notices a[href$='/notices/{notice.pk}/']")  # the list too
    assert "notice.published" in mine.evaluate("() => window.heard")
    screenshot(mine, "linkage-warning-banner-live")
    # The other school's page heard nothing and shows nothing (checked after the
    # recipient's page got it: both streams were offered the same event).
    assert "notice.published" not in theirs.evaluate("() => window.heard")
    assert notice.title not in theirs.inner_text("body")
    assert mine.errors == [] and theirs.errors == []
    mine_context.close()
    theirs_context.close()
    connection.close()  # the test body's own connection (Playwright's sync API)
