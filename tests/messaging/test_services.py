"""Queueing and sending SMS: only what committed is sent, once per key; retries back off
and give up; a message left "sending" by a dead process goes again under its key."""

import datetime as dt
import logging

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from campus_safety import retention
from campus_safety.messaging import services
from campus_safety.messaging.backends import LogBackend, Outcome
from campus_safety.messaging.models import OutboundMessage

pytestmark = pytest.mark.django_db
PHONE = "13900000002"
State = OutboundMessage.State
THIRTY = dt.timedelta(seconds=30)


class Recorder:
    """A backend that remembers what it was asked to send and answers from a script."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes, self.sent = list(outcomes), []

    def send(self, delivery):
        self.sent.append(delivery)
        return self.outcomes.pop(0) if self.outcomes else Outcome.sent("p-1")


def queue(school, key="k-1", purpose="pickup_refused", phone=PHONE, text="大一班 小*: 接送被拒"):
    with transaction.atomic():
        return services.enqueue(
            purpose=purpose, phone=phone, text=text, recipient="小***", key=key, school=school
        )


def test_a_message_queued_in_a_rolled_back_transaction_is_never_sent(school, clock):
    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        queue(school)
        raise Refused
    backend = Recorder()
    assert services.send_due(clock.now(), backend=backend)["sent"] == 0
    assert backend.sent == [] and not OutboundMessage.objects.exists()


def test_the_same_key_queued_twice_is_one_message_sent_once(school, clock):
    first, again = queue(school), queue(school)
    assert first.pk == again.pk and OutboundMessage.objects.count() == 1
    backend = Recorder()
    services.send_due(clock.now(), backend=backend)
    queue(school)  # after it went out: still the one message, not sent again
    services.send_due(clock.now(), backend=backend)
    assert [d.idempotency_key for d in backend.sent] == ["k-1"]
    message = OutboundMessage.objects.get()
    assert message.state == State.SENT and message.attempts == 1 and message.provider_id == "p-1"


def test_a_phone_that_is_no_mobile_number_queues_nothing(school):
    assert queue(school, phone="0534-2345678") is None
    assert queue(school, phone="") is None
    assert not OutboundMessage.objects.exists()


def test_a_text_too_long_is_refused(school):
    with pytest.raises(ValueError, match="1 to 500"):
        queue(school, text="字" * 500)
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_queueing_outside_a_transaction_is_refused(school):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        services.enqueue(
            purpose="pickup_refused", phone=PHONE, text="x", recipient="x", key="k", school=school
        )


def test_texts_carry_the_signature_and_phone_and_text_are_encrypted_at_rest(school, settings):
    settings.SMS_SIGNATURE = "校园安全"
    message = queue(school, purpose="pickup_code", text="接送码 ABCD-EFGH")
    assert message.text == "【校园安全】接送码 ABCD-EFGH"
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, text FROM messaging_outboundmessage")
        stored = repr(cursor.fetchall())
    assert PHONE not in stored and "ABCD" not in stored


def test_a_code_s_text_is_wiped_once_sent_a_refusal_s_is_kept(school, clock):
    code = queue(school, key="code", purpose="pickup_code", text="接送码 ABCD-EFGH")
    note = queue(school, key="note")
    services.send_due(clock.now(), backend=Recorder())
    code.refresh_from_db()
    note.refresh_from_db()
    assert code.state == note.state == State.SENT
    assert code.text == "" and "接送被拒" in note.text


def test_a_retry_backs_off_and_gives_up_after_the_attempts(school, clock, settings):
    settings.SMS_MAX_ATTEMPTS, settings.SMS_RETRY_SECONDS = 3, 30
    queue(school)
    backend = Recorder(*[Outcome.retry("HTTP 503: busy")] * 3)
    before = clock.now()
    services.send_due(before, backend=backend)
    message = OutboundMessage.objects.get()
    assert message.state == State.PENDING and message.attempts == 1
    assert before + THIRTY <= message.next_attempt_at <= clock.now() + THIRTY
    services.send_due(clock.now(), backend=backend)  # not due yet
    assert len(backend.sent) == 1
    clock.advance(seconds=30)
    before = clock.now()
    services.send_due(before, backend=backend)
    message.refresh_from_db()
    assert message.attempts == 2
    assert before + 2 * THIRTY <= message.next_attempt_at <= clock.now() + 2 * THIRTY  # doubled
    clock.advance(seconds=60)
    services.send_due(clock.now(), backend=backend)
    message.refresh_from_db()
    assert message.state == State.FAILED and message.attempts == 3
    assert message.last_error == "gave up after 3 attempts: HTTP 503: busy"
    clock.advance(hours=2)
    services.send_due(clock.now(), backend=backend)
    assert len(backend.sent) == 3


def test_a_refusal_by_the_gateway_fails_at_once(school, clock):
    queue(school)
    backend = Recorder(Outcome.failed("HTTP 400: invalid phone"))
    assert services.send_due(clock.now(), backend=backend)["failed"] == 1
    message = OutboundMessage.objects.get()
    assert message.state == State.FAILED and message.last_error == "HTTP 400: invalid phone"


def test_a_backend_that_raises_leaves_the_message_to_retry(school, clock):
    class Broken:
        def send(self, delivery):
            raise RuntimeError("bug")

    queue(school)
    services.send_due(clock.now(), backend=Broken())
    message = OutboundMessage.objects.get()
    assert message.state == State.PENDING and message.last_error == "RuntimeError: bug"


def test_a_message_left_sending_by_a_dead_process_goes_again_under_its_key(school, clock, settings):
    settings.SMS_SENDING_STALE_SECONDS = 300
    queue(school)
    [claimed] = services.claim_due(clock.now(), 10)  # the process dies after this
    assert OutboundMessage.objects.get().state == State.SENDING
    backend = Recorder()
    services.send_due(clock.now(), backend=backend)
    assert backend.sent == []  # its claim is recent: another process may be sending it
    clock.advance(seconds=301)
    services.send_due(clock.now(), backend=backend)
    assert [d.idempotency_key for d in backend.sent] == [claimed.idempotency_key]
    message = OutboundMessage.objects.get()
    assert message.state == State.SENT and message.attempts == 2


def test_a_late_outcome_of_a_lost_claim_is_not_written(school, clock):
    queue(school)
    [mine] = services.claim_due(clock.now(), 10)
    OutboundMessage.objects.filter(pk=mine.pk).update(state=State.PENDING)  # requeued
    assert services.record_outcome(mine, Outcome.sent("late"), clock.now()) == ""
    assert OutboundMessage.objects.get().provider_id == ""


def test_the_log_backend_masks_the_phone_and_withholds_codes(school, clock, caplog):
    queue(school, key="note")
    queue(school, key="code", purpose="pickup_code", text="接送码 ABCD-EFGH")
    with caplog.at_level(logging.INFO, logger="campus_safety.messaging"):
        services.send_due(clock.now(), backend=LogBackend())
    assert "139****0002" in caplog.text and "接送被拒" in caplog.text
    assert PHONE not in caplog.text and "ABCD" not in caplog.text
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {State.SENT}


def test_the_command_sends_with_the_configured_backend(school, clock, settings, capsys):
    settings.SMS_BACKEND = "log"
    queue(school)
    call_command("sms_send")
    assert "sent: 1" in capsys.readouterr().out
    assert OutboundMessage.objects.get().provider_id.startswith("log-")


def test_messages_are_kept_for_the_retention_period(school, clock, settings):
    # written in the past, purged now: PostgreSQL's audit log refuses a purge by a clock
    # moved months ahead (its trigger reads the server's own time)
    with transaction.atomic():
        services.enqueue(
            purpose="pickup_refused",
            phone=PHONE,
            text="旧通知",
            recipient="小***",
            key="old",
            school=school,
            now=clock.now() - dt.timedelta(days=181),
        )
    queue(school, key="new")
    removed = retention.purge_expired(clock.now())
    assert removed["messaging_sms"] == 1
    assert list(OutboundMessage.objects.values_list("idempotency_key", flat=True)) == ["new"]
