"""Two sender jobs at once (two worker processes' threads, each with its own database
connection) never send one message twice: claims are committed before any send, under
SELECT … FOR UPDATE SKIP LOCKED."""

import threading

import pytest
from django.db import connection, connections, transaction

from campus_safety.messaging import services
from campus_safety.messaging.backends import Outcome
from campus_safety.messaging.models import OutboundMessage

MESSAGES = 40


class SharedGateway:
    """Counts each message's sends; the first send of each job waits for the other job's
    first send, so both jobs hold claims at the same moment."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[int] = []
        self.together = threading.Barrier(2, timeout=30)
        self.first = threading.local()

    def send(self, delivery):
        if not getattr(self.first, "done", False):
            self.first.done = True
            self.together.wait()
        with self.lock:
            self.sent.append(delivery.message_id)
        return Outcome.sent()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_never_send_one_message_twice(school, clock):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's in-memory test database is one connection: no concurrent jobs")
    with transaction.atomic():
        for n in range(MESSAGES):
            services.enqueue(
                purpose="pickup_refused",
                phone="13900000002",
                text=f"通知 {n}",
                recipient="小***",
                key=f"k-{n}",
                school=school,
            )
    gateway, errors = SharedGateway(), []

    def job() -> None:
        try:
            services.send_due(clock.now(), backend=gateway, batch=5)
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)
        finally:
            connections.close_all()

    jobs = [threading.Thread(target=job) for _ in range(2)]
    for thread in jobs:
        thread.start()
    for thread in jobs:
        thread.join()
    assert errors == []
    assert sorted(gateway.sent) == sorted(OutboundMessage.objects.values_list("pk", flat=True))
    assert len(set(gateway.sent)) == MESSAGES
    assert set(OutboundMessage.objects.values_list("state", "attempts")) == {("sent", 1)}


@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_messages_another_job_holds_instead_of_waiting(school, clock):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite's writers run one at a time")
    with transaction.atomic():
        held, free = (
            services.enqueue(
                purpose="pickup_refused",
                phone="13900000002",
                text="通知",
                recipient="小***",
                key=key,
                school=school,
            )
            for key in ("held", "free")
        )
    locked, release = threading.Event(), threading.Event()

    def other_job() -> None:  # holds the row as a claim in progress would
        try:
            with transaction.atomic():
                list(OutboundMessage.objects.select_for_update().filter(pk=held.pk))
                locked.set()
                release.wait(timeout=20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_job)
    thread.start()
    assert locked.wait(timeout=20)
    try:
        claimed = services.claim_due(clock.now(), 10)
    finally:
        release.set()
        thread.join()
    assert [m.pk for m in claimed] == [free.pk]
    assert OutboundMessage.objects.get(pk=held.pk).state == OutboundMessage.State.PENDING
