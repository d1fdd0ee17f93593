"""The http backend against a real local HTTP server standing in for the operator's SMS
gateway: it verifies every request's signature, and answers 2xx, 4xx, 5xx or too late."""

import socket

import pytest
from django.db import transaction

from campus_safety.messaging import services
from campus_safety.messaging.backends import HttpBackend
from campus_safety.messaging.models import OutboundMessage
from tests.messaging.support import SECRET, Answer

pytestmark = pytest.mark.django_db
PHONE = "13900000002"
State = OutboundMessage.State


def queue(school, key="k-1", purpose="pickup_code", text="接送码 ABCD-EFGH"):
    with transaction.atomic():
        return services.enqueue(
            purpose=purpose, phone=PHONE, text=text, recipient="小***", key=key, school=school
        )


def test_a_message_is_posted_signed_and_recorded_with_the_gateway_s_id(school, clock, gateway):
    gateway.answers = [Answer(200, {"id": "gw-42"})]
    message = queue(school)
    assert services.send_due(clock.now())["sent"] == 1
    [request] = gateway.received
    assert request.signature_valid
    assert request.headers["Idempotency-Key"] == "k-1"
    assert request.json == {
        "id": message.pk,
        "phone": PHONE,
        "text": "【校园安全】接送码 ABCD-EFGH",
        "purpose": "pickup_code",
    }
    message.refresh_from_db()
    assert message.state == State.SENT and message.provider_id == "gw-42"
    assert message.sent_at is not None and message.text == ""  # the code is gone


def test_a_wrong_secret_is_refused_by_the_gateway_for_good(school, clock, gateway, settings):
    settings.SMS_HTTP_SECRET = "not-" + SECRET
    queue(school)
    assert services.send_due(clock.now())["failed"] == 1
    assert [r.signature_valid for r in gateway.received] == [False]
    message = OutboundMessage.objects.get()
    assert message.state == State.FAILED and message.last_error == "HTTP 401: bad signature"


def test_a_4xx_fails_permanently_with_the_gateway_s_reason(school, clock, gateway):
    gateway.answers = [Answer(400, {"error": "号码格式错误"})]
    queue(school)
    services.send_due(clock.now())
    clock.advance(hours=2)
    services.send_due(clock.now())
    assert len(gateway.received) == 1  # never tried again
    message = OutboundMessage.objects.get()
    assert message.state == State.FAILED and message.attempts == 1
    assert message.last_error == "HTTP 400: 号码格式错误"


def test_a_5xx_is_retried_with_the_same_key_and_then_sent(school, clock, gateway):
    gateway.answers = [Answer(503, {"error": "upstream busy"}), Answer(202, {"message_id": 7})]
    queue(school)
    assert services.send_due(clock.now())["pending"] == 1
    message = OutboundMessage.objects.get()
    assert message.state == State.PENDING and message.last_error == "HTTP 503: upstream busy"
    clock.advance(seconds=30)
    assert services.send_due(clock.now())["sent"] == 1
    assert [r.headers["Idempotency-Key"] for r in gateway.received] == ["k-1", "k-1"]
    assert all(r.signature_valid for r in gateway.received)
    message.refresh_from_db()
    assert message.state == State.SENT and message.attempts == 2 and message.provider_id == "7"


def test_429_means_later_not_never(school, clock, gateway):
    gateway.answers = [Answer(429, {"message": "rate limited"})]
    queue(school)
    services.send_due(clock.now())
    assert OutboundMessage.objects.get().state == State.PENDING


def test_a_gateway_that_answers_too_late_is_tried_again_then_given_up(
    school, clock, gateway, settings
):
    settings.SMS_MAX_ATTEMPTS = 2
    gateway.answers = [Answer(200, pause=2.0), Answer(200, pause=2.0)]
    queue(school)
    services.send_due(clock.now())
    message = OutboundMessage.objects.get()
    assert message.state == State.PENDING and "timed out" in message.last_error
    clock.advance(seconds=30)
    services.send_due(clock.now())
    message.refresh_from_db()
    assert message.state == State.FAILED and message.attempts == 2
    assert message.last_error.startswith("gave up after 2 attempts") and message.text == ""


def test_a_gateway_that_is_down_is_tried_again(school, clock, settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{port}/sms"
    settings.SMS_HTTP_SECRET = SECRET
    queue(school)
    services.send_due(clock.now())
    message = OutboundMessage.objects.get()
    assert message.state == State.PENDING and "refused" in message.last_error.lower()


def test_a_redirect_is_not_followed(school, clock, gateway):
    gateway.answers = [Answer(307, {"error": "moved"})]
    queue(school)
    services.send_due(clock.now())
    assert len(gateway.received) == 1
    assert OutboundMessage.objects.get().last_error.startswith("HTTP 307")


def test_the_backend_needs_an_http_url_and_a_secret():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        HttpBackend("file:///etc/passwd", SECRET, 5)
    with pytest.raises(ImproperlyConfigured):
        HttpBackend("https://sms.example/send", "", 5)


def test_a_gateway_s_reason_quoting_the_number_is_kept_masked(school, clock, gateway, caplog):
    gateway.answers = [Answer(400, {"error": f"blacklisted number {PHONE}"})]
    queue(school)
    services.send_due(clock.now())
    message = OutboundMessage.objects.get()
    assert message.last_error == "HTTP 400: blacklisted number 139****0002"
    assert PHONE not in caplog.text
