"""Group commit: one writer thread stores what every adapter hands it, in one transaction
per batch, and answers each caller with its own results only once they are committed.

The writer is another thread with its own database connection, so these tests commit
for real (``transaction=True``) and make the database itself fail where a failure is
wanted: no mocked database.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import time
from collections import Counter

import pytest
from django.db import OperationalError, connection, transaction

from campus_safety import bus
from campus_safety.alarms.models import AlarmEvent
from campus_safety.devices import liveness
from campus_safety.devices.models import DeviceEvent
from campus_safety.gateway import committer
from campus_safety.gateway.committer import Committer
from campus_safety.gateway.ingest import DeviceMessage
from tests.devices.support import DeviceFactory, fresh_liveness

pytestmark = pytest.mark.django_db(transaction=True)

TS = "2026-03-02T08:15:00+08:00"
WHEN = dt.datetime.fromisoformat(TS)
WAIT = 30  # seconds a test waits for the writer before calling it stuck


@pytest.fixture(autouse=True)
def live(transactional_db, clock):
    yield fresh_liveness()
    liveness.reset()


@pytest.fixture
def writers(transactional_db):
    """Committers made by a test; each still running is stopped (its connection closed)
    before the database is flushed, as is the process-wide writer."""
    made: list[Committer] = []

    def make(**options) -> Committer:
        made.append(Committer(**options))
        return made[-1]

    yield make
    committer.stop()
    for writer in made:
        if writer._thread.is_alive():
            writer.stop()


def alarm(device, event_id: str, **fields) -> DeviceMessage:
    payload = {"event_id": event_id, "ts": TS, "priority": 1, "method": 2, **fields}
    return DeviceMessage(device.device_id, "alarm", event_id, WHEN, payload, "mqtt")


def status(device, event_id: str) -> DeviceMessage:
    payload = {"event_id": event_id, "ts": TS, "state": "ok"}
    return DeviceMessage(device.device_id, "status", event_id, WHEN, payload, "mqtt")


def outcomes(results) -> list[str]:
    return [r.outcome for r in results]


def test_messages_from_many_threads_are_stored_once_and_each_caller_gets_its_own_results(
    writers,
):
    """Callers share batches, yet each hears about exactly its own messages, in order."""
    devices = [DeviceFactory() for _ in range(8)]
    committer.start()
    start = threading.Barrier(len(devices))
    answers: dict[int, list] = {}

    def caller(n: int) -> None:
        device = devices[n]
        batch = [
            alarm(device, f"t{n}-a"),
            alarm(device, f"t{n}-bad", priority=9),
            alarm(device, f"t{n}-b"),
            alarm(device, f"t{n}-a"),  # the device's own retry, in the same delivery
        ]
        start.wait(WAIT)
        answers[n] = committer.commit(batch, timeout=WAIT)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(len(devices))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(answers) == list(range(len(devices)))
    for n, device in enumerate(devices):
        results = answers[n]
        assert outcomes(results) == ["accepted", "rejected", "accepted", "duplicate"]
        assert results[1].reason == "priority must be an integer from 1 to 4"
        assert results[3].object_id == results[0].object_id
        mine = {
            pk: (device_pk, event_id)
            for pk, device_pk, event_id in AlarmEvent.objects.filter(
                pk__in=[results[0].object_id, results[2].object_id]
            ).values_list("pk", "device_id", "event_id")
        }
        assert mine[results[0].object_id] == (device.pk, f"t{n}-a")
        assert mine[results[2].object_id] == (device.pk, f"t{n}-b")
    stored = Counter(AlarmEvent.objects.values_list("device_id", "event_id"))
    assert len(stored) == 2 * len(devices) and set(stored.values()) == {1}
    assert committer.running().messages == 4 * len(devices)


def test_requests_waiting_together_are_stored_in_one_transaction(writers):
    """What piles up while the writer is busy goes out in one commit, not one per caller.
    The requests are queued before the thread starts, so the grouping is certain."""
    writer = writers()
    devices = [DeviceFactory() for _ in range(5)]
    futures = []
    queued = [
        threading.Thread(target=lambda d=d: futures.append((d, writer.submit([alarm(d, "g-1")]))))
        for d in devices
    ]
    for thread in queued:
        thread.start()
    for thread in queued:
        thread.join(WAIT)
    writer.start()
    for device, future in futures:
        [result] = future.result(WAIT)
        assert result.outcome == "accepted"
        assert AlarmEvent.objects.get(pk=result.object_id).device_id == device.pk
    assert (writer.batches, writer.messages) == (1, 5)
    assert AlarmEvent.objects.count() == 5


def test_a_batch_stops_growing_at_max_batch_messages(writers):
    """The bound on one commit's latency: requests are whole, so a batch closes as soon
    as it holds max_batch messages or more."""
    writer = writers(max_batch=4)
    device = DeviceFactory()
    futures = [
        writer.submit([alarm(device, f"m{n}-1"), alarm(device, f"m{n}-2")]) for n in range(5)
    ]
    writer.start()
    answers = [future.result(WAIT) for future in futures]
    assert [outcomes(a) for a in answers] == [["accepted", "accepted"]] * 5
    # 2+2 | 2+2 | 2
    assert (writer.batches, writer.messages) == (3, 10)
    for n, answer in enumerate(answers):
        ids = dict(
            AlarmEvent.objects.filter(pk__in=[r.object_id for r in answer]).values_list(
                "pk", "event_id"
            )
        )
        assert [ids[r.object_id] for r in answer] == [f"m{n}-1", f"m{n}-2"]


def _end_the_session_waiting_for_the_lock(ended: list[int]) -> None:
    """PostgreSQL, on a thread of its own: end the session that waits for our lock, as a
    server restart would."""
    deadline = time.monotonic() + WAIT
    try:
        with connection.cursor() as cursor:
            while not ended and time.monotonic() < deadline:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
                for (pid,) in cursor.fetchall():
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                    ended.append(pid)
                time.sleep(0.02)
    finally:
        connection.close()


@contextlib.contextmanager
def alarm_table_unavailable():
    """While inside, whoever writes an alarm fails with a real OperationalError.

    SQLite (the shared-cache test database): this connection holds the write lock, and
    any other connection is refused at once ("database table is locked"). PostgreSQL: an
    exclusive lock makes the writer wait, then its session is terminated."""
    killer, ended = None, []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE alarms_alarmevent IN ACCESS EXCLUSIVE MODE")
            killer = threading.Thread(target=_end_the_session_waiting_for_the_lock, args=(ended,))
            killer.start()
        else:
            cursor.execute("DELETE FROM alarms_alarmevent WHERE id = -1")
        try:
            yield
        finally:
            if killer is not None:
                killer.join(WAIT)
    assert killer is None or ended, "nobody ever waited for the locked alarm table"


def test_a_database_failure_is_raised_to_every_caller_of_the_batch_and_nothing_is_stored(
    writers,
):
    """Nothing acknowledged is lost: when the commit fails, every caller in the batch
    hears the error (so no device is acknowledged), even one whose own message was
    fine, and nothing of the batch stays stored; the writer then carries on."""
    writer = writers()
    device = DeviceFactory()
    first = writer.submit([status(device, "s-1")])
    second = writer.submit([alarm(device, "a-1")])
    with alarm_table_unavailable():
        writer.start()
        for future in (first, second):
            with pytest.raises(OperationalError):
                future.result(WAIT)
    assert writer.batches == 0
    assert not DeviceEvent.objects.exists() and not AlarmEvent.objects.exists()
    # the devices resend; the writer reconnects and stores them, now for the first time
    again = writer.submit([status(device, "s-1"), alarm(device, "a-1")]).result(WAIT)
    assert outcomes(again) == ["accepted", "accepted"]
    assert DeviceEvent.objects.get().event_id == "s-1"
    assert AlarmEvent.objects.get().event_id == "a-1"


def _thread_announcing_the_alarm(send) -> str:
    threads: list[str] = []
    unsubscribe = bus.subscribe(
        "alarm.event", lambda name, payload: threads.append(threading.current_thread().name)
    )
    try:
        result = send()
    finally:
        unsubscribe()
    assert result[0].outcome == "accepted"
    assert len(threads) == 1
    return threads[0]


def test_commit_without_a_running_writer_stores_in_the_calling_thread():
    """Tests and management commands have no writer: commit must still store (and
    announce after its own commit) rather than wait for a thread that never comes."""
    assert committer.running() is None
    device = DeviceFactory()
    name = _thread_announcing_the_alarm(lambda: committer.commit([alarm(device, "c-1")]))
    assert name == threading.current_thread().name
    assert AlarmEvent.objects.get().event_id == "c-1"


def test_commit_with_a_running_writer_stores_on_the_writer_thread(writers):
    """The contrast to the test above: with serve's writer running, the caller waits and
    the writer thread does the storing."""
    device = DeviceFactory()
    committer.start()
    name = _thread_announcing_the_alarm(
        lambda: committer.commit([alarm(device, "w-1")], timeout=WAIT)
    )
    assert name == "ingest-committer"
    assert AlarmEvent.objects.get().event_id == "w-1"


def test_stop_stores_what_is_queued_then_refuses_more(writers):
    """Shutting down must not drop messages callers are waiting on: stop returns only
    after they are committed and answered; later ones are refused, not left hanging."""
    writer = writers()
    device = DeviceFactory()
    futures = [writer.submit([alarm(device, f"q-{n}")]) for n in range(3)]
    writer.start()
    writer.stop()
    assert all(future.done() for future in futures)  # answered before stop returned
    assert [outcomes(f.result(0)) for f in futures] == [["accepted"]] * 3
    assert sorted(AlarmEvent.objects.values_list("event_id", flat=True)) == ["q-0", "q-1", "q-2"]
    assert not writer._thread.is_alive()
    late = writer.submit([alarm(device, "q-late")])
    with pytest.raises(RuntimeError, match="stopped"):
        late.result(0)
    assert not AlarmEvent.objects.filter(event_id="q-late").exists()


def test_commit_async_waits_for_the_writer_without_blocking_the_event_loop(writers):
    """The SIP server awaits its alarms on the loop: other work on the loop goes on."""
    device = DeviceFactory()
    committer.start()
    ticks: list[int] = []

    async def ticker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            ticks.append(1)
            await asyncio.sleep(0)

    async def main():
        stop = asyncio.Event()
        beat = asyncio.create_task(ticker(stop))
        try:
            return await asyncio.wait_for(committer.commit_async([alarm(device, "l-1")]), WAIT)
        finally:
            stop.set()
            await beat

    [result] = asyncio.run(main())
    assert result.outcome == "accepted"
    assert AlarmEvent.objects.get(pk=result.object_id).event_id == "l-1"
    assert ticks  # the loop ran while the writer stored


def test_a_caller_that_gives_up_costs_no_other_caller_its_answer(writers, monkeypatch):
    """A SIP alarm task cancelled while it waits (the SIP server cancels its tasks when it
    closes) cancels its future through ``asyncio.wrap_future``. The writer must still
    answer the other callers of that batch and keep serving later ones.

    ``_current`` is set to a writer not yet started so that the cancelled request and
    the other caller's are certain to land in the same batch."""
    writer = writers()
    monkeypatch.setattr(committer, "_current", writer)
    device = DeviceFactory()

    async def give_up_waiting() -> None:
        task = asyncio.create_task(committer.commit_async([alarm(device, "gone-1")]))
        await asyncio.sleep(0)  # the request is queued
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(give_up_waiting())
    other = writer.submit([alarm(device, "kept-1")])
    writer.start()
    assert outcomes(answered(other, writer)) == ["accepted"]
    later = writer.submit([alarm(device, "later-1")])
    assert outcomes(answered(later, writer)) == ["accepted"]
    assert writer._thread.is_alive()


def answered(future, writer: Committer, within: float = 10):
    """The future's results, or a failure that says whether the writer is still alive."""
    try:
        return future.result(within)
    except TimeoutError:
        alive = writer._thread.is_alive()
        raise AssertionError(
            f"no answer within {within} s; writer thread alive: {alive}; stored so far: "
            f"{sorted(AlarmEvent.objects.values_list('event_id', flat=True))}"
        ) from None
