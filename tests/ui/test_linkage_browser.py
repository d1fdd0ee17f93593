"""Police–school linkage in a real browser (issue #20): an officer records a 训诫 on a
phone with a follow-up date; the school's designated contact sees it and a teacher of
the same school does not; the education bureau sends a notice and sees which schools
have not confirmed. Screenshots go to ``test-artifacts/`` (copied to docs/screenshots/)."""

import datetime as dt

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety import clock
from campus_safety.accounts.landing import landing_url
from campus_safety.linkage import services
from campus_safety.linkage.models import DisciplineRecord, Notice, NoticeReceipt
from campus_safety.orgs.models import Organisation
from tests.factories import PASSWORD, CountyFactory, OrganisationFactory, SchoolFactory, UserFactory
from tests.ui.chromium import ARTIFACTS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the live server reads committed rows
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def people(transactional_db):
    county = CountyFactory(code="371402", name="德城区")
    station = OrganisationFactory(
        kind=Organisation.Kind.POLICE_STATION, region=county, name="新华派出所"
    )
    bureau = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=county, name="德城区教育和体育局"
    )
    school = SchoolFactory(region=county, police_station=station, name="德城区实验小学")
    other = SchoolFactory(region=county, police_station=station, name="德城区第二小学")
    users = {
        "officer": UserFactory(
            username="officer", role="police_officer", organisation=station, display_name="李警官"
        ),
        "contact": UserFactory(
            username="contact", role="school_admin", school=school, display_name="张主任"
        ),
        "teacher": UserFactory(
            username="teacher", role="school_admin", school=school, display_name="王老师"
        ),
        "bureau": UserFactory(
            username="bureau", role="education_staff", organisation=bureau, display_name="赵科长"
        ),
    }
    devices = {
        name: TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        for name, user in users.items()
    }
    services.save_police_room(
        users["officer"],
        school,
        officers=[users["officer"]],
        location="校门东侧",
        hours="7:00-18:00",
    )
    services.record_drill(
        users["contact"], school, kind="fire", held_at=clock.now(), evacuation_seconds=118,
        participants=640,
    )  # fmt: skip
    return {"school": school, "other": other, "users": users, "devices": devices}


def new_tab(browser, **options):
    context = browser.new_context(locale="zh-CN", **options)
    context.set_default_timeout(90_000)  # a loaded CI machine; nothing here is timed
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    return context, tab


def sign_in(page, live_server, people, name) -> None:
    """A fresh authenticator each time: a TOTP code is good once (django-otp refuses a
    replay), and one person signs in twice within 30 s here."""
    user = people["devices"][name].user
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click(".login-card button[type=submit]")
    page.wait_for_url("**/accounts/2fa/verify/**")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page.fill("input[name=code]", f"{totp.token():06d}")
    page.click("#otp-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{landing_url(device.user)}")


def screenshot(page, name: str) -> None:
    """The window as a person sees it (the top bar stays on top), for docs/screenshots/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def fits(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )


def test_discipline_on_a_phone_and_a_notice_with_receipts(
    django_db_setup, live_server, people, browser
):
    school = people["school"]
    follow_up = timezone.localdate(clock.now()) + dt.timedelta(days=14)

    # The officer, on a phone: the hub, then a 训诫 with a follow-up date.
    phone, page = new_tab(browser, **PHONE)
    sign_in(page, live_server, people, "officer")
    page.goto(f"{live_server.url}/linkage/")
    assert page.is_visible("nav.mainnav a[href='/linkage/']")
    screenshot(page, "linkage-home-phone")
    page.goto(f"{live_server.url}/linkage/discipline/")
    page.click("#new-discipline")
    page.wait_for_url("**/linkage/discipline/new/**")
    page.select_option("#id_school", str(school.pk))
    page.click("#pick-school button[type=submit]")
    page.wait_for_selector("#discipline-form")
    page.fill("#id_student_name", "示例学生（虚构）")
    page.fill("#id_class_name", "五年级二班")
    page.fill("#id_age", "11")
    page.select_option("#id_level", "bad")
    page.select_option("#id_behaviour", "bullying")
    page.fill("#id_occurred_on", timezone.localdate(clock.now()).isoformat())
    page.fill("#id_facts", "课间多次推搡同学并索要零花钱（虚构情节）")
    page.select_option("#id_guardian", "present")
    page.check("input[name=measures][value=reprimand]")
    page.check("input[name=measures][value=apology]")
    page.select_option("#id_designated_contact", str(people["users"]["contact"].pk))
    page.fill("#id_follow_up_on", follow_up.isoformat())
    assert fits(page)
    screenshot(page, "linkage-discipline-form-phone")
    page.click("#discipline-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/linkage/discipline/")
    record = DisciplineRecord.objects.get()
    assert record.follow_ups.get().due_on == follow_up
    assert "示**" in page.inner_text("#discipline") and record.reference in page.content()
    assert fits(page)
    screenshot(page, "linkage-discipline-phone")
    phone.close()

    # The school's designated contact sees it, after stating why.
    desk, page = new_tab(browser, **DESKTOP)
    sign_in(page, live_server, people, "contact")
    page.goto(f"{live_server.url}/linkage/discipline/")
    page.click(f"text={record.reference}")
    page.fill("#id_reason", "安排回访前了解情况")
    page.click("#reason-form button[type=submit]")
    page.wait_for_selector("#discipline-facts")
    assert "示例学生（虚构）" in page.inner_text("#discipline-facts")
    screenshot(page, "linkage-discipline-detail-desktop")
    desk.close()

    # A teacher of the same school does not.
    desk, page = new_tab(browser, **DESKTOP)
    sign_in(page, live_server, people, "teacher")
    page.goto(f"{live_server.url}/linkage/discipline/")
    assert record.reference not in page.content()
    response = page.goto(
        f"{live_server.url}/linkage/discipline/{record.pk}/?reason=%E6%9F%A5%E7%9C%8B%E4%B8%80%E4%B8%8B"
    )
    assert response.status == 404
    desk.close()

    # The bureau sends a notice to its district.
    desk, page = new_tab(browser, **DESKTOP)
    sign_in(page, live_server, people, "bureau")
    page.goto(f"{live_server.url}/linkage/notices/new/")
    page.fill("#id_title", "关于开展防溺水专项检查的通知")
    page.fill("#id_body", "请各校于本周五前完成自查并在平台确认。")
    page.select_option("#id_regions", "371402")
    page.fill(
        "#id_confirm_by",
        (timezone.localtime(clock.now()) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
    )
    page.click("form.linkage-form button[type=submit]")
    page.wait_for_url("**/linkage/notices/*/")
    notice = Notice.objects.get()
    assert page.inner_text("#pending-count") == "2"
    desk.close()

    # The contact confirms on the phone; the bureau sees which school has not.
    phone, page = new_tab(browser, **PHONE)
    sign_in(page, live_server, people, "contact")
    page.goto(f"{live_server.url}/linkage/notices/{notice.pk}/")
    page.fill("#id_reply", "已收到，正在落实")
    page.click("#confirm-receipt")
    page.wait_for_selector("#own-receipt .tag.ok")
    phone.close()
    assert NoticeReceipt.objects.get(school=school).confirmed_at is not None

    for options, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        context, page = new_tab(browser, **options)
        sign_in(page, live_server, people, "bureau")
        page.goto(f"{live_server.url}/linkage/notices/{notice.pk}/")
        assert page.inner_text("#pending-count") == "1"
        waiting = page.inner_text("#receipts tr[data-confirmed='0']")
        assert people["other"].name in waiting and school.name not in waiting
        assert fits(page)
        screenshot(page, f"linkage-notice-{suffix}")
        for name in ("", "drills/", "rooms/"):
            page.goto(f"{live_server.url}/linkage/{name}")
            assert fits(page), name
            screenshot(page, f"linkage-{name.strip('/') or 'home'}-{suffix}")
        assert page.errors == []
        context.close()


@pytest.fixture
def chain_people(transactional_db):
    from tests.factories import city_region

    city = city_region()
    a = CountyFactory(code="371402", name="德城区", parent=city)
    b = CountyFactory(code="371403", name="陵城区", parent=city)
    city_bureau = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=city, name="德州市教育和体育局"
    )
    bureau_a = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=a, name="德城区教育和体育局"
    )
    OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=b, name="陵城区教育和体育局"
    )
    SchoolFactory(region=a, name="德城区实验小学")
    SchoolFactory(region=a, name="德城区第二小学")
    SchoolFactory(region=b, name="陵城区第一小学")
    users = {
        "citybureau": UserFactory(
            username="citybureau", role="education_staff", organisation=city_bureau
        ),
        "districta": UserFactory(
            username="districta", role="education_staff", organisation=bureau_a
        ),
    }
    devices = {
        name: TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        for name, user in users.items()
    }
    return {"users": users, "devices": devices, "bureau_a": bureau_a}


def test_a_notice_goes_down_the_chain_and_the_city_sees_who_has_not_read(
    django_db_setup, live_server, chain_people, browser
):
    people = chain_people
    # The city bureau passes a notice to both district bureaus.
    desk, page = new_tab(browser, **DESKTOP)
    sign_in(page, live_server, people, "citybureau")
    page.goto(f"{live_server.url}/linkage/notices/new/")
    page.fill("#id_title", "关于开展校园周边安全隐患排查的通知")
    page.fill("#id_body", "请各区县转发至辖区学校，本周五前确认。")
    units = [o.get_attribute("value") for o in page.locator("#id_units option").all()]
    assert len(units) == 2  # the two district bureaus, not the city's own
    page.select_option("#id_units", value=units)
    page.click("form.linkage-form button[type=submit]")
    page.wait_for_url("**/linkage/notices/*/")
    root = Notice.objects.get(parent=None)
    assert page.inner_text("#chain-units") == "2"
    assert page.inner_text("#chain-units-unread") == "2"
    desk.close()

    # 德城区 opens it (read) and forwards it to its two schools, on a phone.
    phone, page = new_tab(browser, **PHONE)
    sign_in(page, live_server, people, "districta")
    page.goto(f"{live_server.url}/linkage/notices/{root.pk}/")
    page.fill("#id_note", "区教体局：请各校认真排查并确认。")
    assert fits(page)
    screenshot(page, "linkage-notice-forward-phone")
    page.click("#forward-form button[type=submit]")
    page.wait_for_selector("#forwarded-from")
    child = Notice.objects.get(parent=root)
    assert page.inner_text("#pending-count") == "2"
    phone.close()

    # The city sees the chain: one district has not read it, two schools have not.
    desk, page = new_tab(browser, **DESKTOP)
    sign_in(page, live_server, people, "citybureau")
    page.goto(f"{live_server.url}/linkage/notices/{root.pk}/")
    assert page.inner_text("#chain-units-unread") == "1"
    assert page.inner_text("#chain-units-not-forwarded") == "1"
    assert page.inner_text("#chain-schools") == "2"
    assert page.inner_text("#chain-unread") == "2"
    unread_row = page.inner_text("#chain-units-table tr[data-read='0']")
    assert "陵城区教育和体育局" in unread_row
    screenshot(page, "linkage-notice-chain-desktop")
    page.click(f"#chain-units-table a[href$='/notices/{child.pk}/?show=unread']")
    page.wait_for_selector("#receipts")
    assert "德城区实验小学" in page.inner_text("#receipts")
    assert page.errors == []
    desk.close()
