"""Sign-in: password, then TOTP for staff roles; enrolment; recovery codes; throttling."""

import datetime as dt
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from campus_safety.accounts.idle_timeout import TOUCHED_KEY
from campus_safety.audit.models import AuditEntry
from tests.factories import PASSWORD, SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db


def code_for(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def password_step(client, username, password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


@pytest.fixture
def dispatcher(city):
    return UserFactory(username="dispatcher", role="dispatcher", region=city)


def test_first_sign_in_of_a_staff_user_leads_to_enrolment(client, dispatcher):
    response = password_step(client, "dispatcher")
    assert response.status_code == 302 and response.url.startswith("/accounts/2fa/setup/")


def test_nothing_but_the_second_factor_is_reachable_before_it_is_passed(client, dispatcher):
    password_step(client, "dispatcher")
    assert client.get("/schools/").url.startswith("/accounts/2fa/setup/")
    assert client.get("/api/v1/schools/").status_code == 403


def test_enrolment_with_a_right_code_verifies_and_shows_recovery_codes_once(client, dispatcher):
    password_step(client, "dispatcher")
    page = client.get("/accounts/2fa/setup/")
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=dispatcher, confirmed=False)
    response = client.post("/accounts/2fa/setup/?next=/schools/", {"code": code_for(device)})
    assert response.url.startswith("/accounts/2fa/recovery/")
    recovery = client.get(response.url)
    assert len(recovery.context["codes"]) == 10
    assert client.get(response.url).status_code == 302  # shown only once
    assert client.get("/schools/").status_code == 200


def test_enrolment_with_a_wrong_code_keeps_the_device_unconfirmed(client, dispatcher):
    password_step(client, "dispatcher")
    client.get("/accounts/2fa/setup/")
    response = client.post("/accounts/2fa/setup/", {"code": "000000"})
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=dispatcher, confirmed=True).exists()


def test_enrolled_user_signs_in_with_password_then_code(client, dispatcher):
    device = TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    response = password_step(client, "dispatcher")
    assert response.url.startswith("/accounts/2fa/verify/")
    response = client.post("/accounts/2fa/verify/?next=/schools/", {"code": code_for(device)})
    assert response.url == "/schools/"
    assert client.get("/schools/").status_code == 200


def test_a_recovery_code_works_once(client, dispatcher):
    from campus_safety.accounts.two_factor import new_recovery_codes

    TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    code = new_recovery_codes(dispatcher)[0]
    password_step(client, "dispatcher")
    assert client.post("/accounts/2fa/verify/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    password_step(client, "dispatcher")
    assert client.post("/accounts/2fa/verify/", {"code": code}).status_code == 200


def test_five_wrong_codes_end_the_session(client, dispatcher):
    TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    password_step(client, "dispatcher")
    for _ in range(5):
        response = client.post("/accounts/2fa/verify/", {"code": "123456"})
    assert response.url == "/accounts/login/"
    assert client.get("/schools/").url.startswith("/accounts/login/")
    assert AuditEntry.objects.filter(action="auth.second_factor", outcome="failure").count() == 5


def test_guards_and_volunteers_need_no_second_factor(client):
    school = SchoolFactory()
    UserFactory(username="guard1", role="guard", school=school)
    response = password_step(client, "guard1")
    assert response.status_code == 302 and "/2fa/" not in response.url
    assert client.get("/schools/").status_code == 200


def test_five_wrong_passwords_lock_the_account_for_15_minutes(client, dispatcher):
    for _ in range(4):
        assert password_step(client, "dispatcher", "wrong-password").status_code == 200
    assert password_step(client, "dispatcher", "wrong-password").status_code == 429
    response = password_step(client, "dispatcher")  # right password, still locked
    assert response.status_code == 429
    assert "15" in response.content.decode()
    assert AuditEntry.objects.filter(action="auth.login_failed").count() >= 5
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    assert password_step(client, "dispatcher").status_code == 302


def test_failures_from_one_address_lock_that_address_for_every_account(client, city):
    for n in range(5):
        UserFactory(username=f"u{n}", role="dispatcher", region=city)
        password_step(client, f"u{n}", "wrong-password", REMOTE_ADDR="10.9.9.9")
    UserFactory(username="fresh", role="dispatcher", region=city)
    assert password_step(client, "fresh", REMOTE_ADDR="10.9.9.9").status_code == 429
    assert password_step(client, "fresh", REMOTE_ADDR="10.9.9.10").status_code == 302


def test_idle_sessions_expire_after_30_minutes_and_are_renewed_once_a_minute(client, city):
    """The session row is written when the idle clock needs renewing, not per request
    (a page's parallel requests raced for it); an idle session leads back to sign-in."""
    guard = UserFactory(username="gate-guard", role="guard", region=city)
    client.force_login(guard)
    assert client.get("/").status_code in (200, 302)
    key = client.session.session_key

    def expiry() -> dt.datetime:
        return Session.objects.get(session_key=key).expire_date

    first = expiry()
    assert first - timezone.now() > dt.timedelta(minutes=29)
    client.get("/")
    assert expiry() == first  # within the minute: no write

    session = client.session
    session[TOUCHED_KEY] = int(time.time()) - 61
    session.save()
    Session.objects.filter(session_key=key).update(expire_date=first - dt.timedelta(minutes=5))
    client.get("/")
    assert expiry() > first - dt.timedelta(seconds=1)  # renewed to 30 minutes from now

    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.get("/hazards/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login")
