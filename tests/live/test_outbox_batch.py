"""Events published together (``bus.publish_many_on_commit``) reach the live log as one
write in the publishing transaction: in order, with their scope columns, and only if
that transaction commits; subscribers and streams hear each once, after the commit."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from django.db import transaction

from campus_safety import bus
from campus_safety.live import fanout, recording
from campus_safety.live.models import LiveEvent
from campus_safety.orgs.models import Organisation
from tests.devices.support import DeviceFactory
from tests.factories import OrganisationFactory, SchoolFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def schools():
    """Two schools in different counties, each with its own police station."""
    station = Organisation.Kind.POLICE_STATION
    first = SchoolFactory(police_station=OrganisationFactory(kind=station))
    second = SchoolFactory(police_station=OrganisationFactory(kind=station))
    assert first.region.code != second.region.code
    return first, second


@contextlib.contextmanager
def listening(name: str = "*"):
    """What bus subscribers hear: (name, payload, is_recorded) in order."""
    heard: list[tuple[str, dict, bool]] = []
    unsubscribe = bus.subscribe(name, lambda n, p: heard.append((n, p, bus.is_recorded())))
    try:
        yield heard
    finally:
        unsubscribe()


@contextlib.contextmanager
def streaming():
    """A console stream's mailbox in this process; yields a function returning what it
    has been handed so far (the fan-out calls it thread-safely, on its own loop)."""
    loop = asyncio.new_event_loop()
    listener = fanout.attach(loop)

    def received() -> list[fanout.Delivery | None]:
        loop.run_until_complete(asyncio.sleep(0))
        items = []
        while not listener.queue.empty():
            items.append(listener.queue.get_nowait())
        return items

    try:
        yield received
    finally:
        fanout.detach(listener)
        loop.close()


def test_events_published_together_are_written_in_order_with_their_scope(schools):
    """A stream filters on the copied scope columns; a device event names only its
    device, so its school is looked up (by pk, or by device ID)."""
    first, second = schools
    by_pk, by_id = DeviceFactory(school=first), DeviceFactory(school=second)
    published = [
        ("alarm.event", {"school_id": first.pk, "event_id": "e-1"}),
        ("device.offline", {"device_pk": by_pk.pk}),
        ("device.online", {"device_id": by_id.device_id, "school_id": None}),
        ("alarm.case_opened", {"school_id": second.pk, "case_id": 7}),
        ("device.pending", {"device_id": "37140200001320009999"}),  # no such device yet
    ]
    with transaction.atomic():
        bus.publish_many_on_commit(published)
        # in the transaction already: the rows commit (or roll back) with the events
        assert LiveEvent.objects.count() == len(published)
    rows = list(LiveEvent.objects.order_by("id"))
    assert [(r.name, r.payload) for r in rows] == published
    assert [(r.school_id, r.region_code, r.police_station_id) for r in rows] == [
        (first.pk, first.region.code, first.police_station_id),
        (first.pk, first.region.code, first.police_station_id),
        (second.pk, second.region.code, second.police_station_id),
        (second.pk, second.region.code, second.police_station_id),
        (None, "", None),
    ]
    assert len({r.at for r in rows}) == 1


def test_a_rollback_writes_nothing_and_announces_nothing(schools):
    first, _second = schools
    with listening() as heard, streaming() as received:
        with pytest.raises(RuntimeError), transaction.atomic():
            bus.publish_many_on_commit(
                [
                    ("alarm.event", {"school_id": first.pk, "event_id": "e-1"}),
                    ("alarm.case_opened", {"school_id": first.pk, "case_id": 1}),
                ]
            )
            raise RuntimeError("the alarms could not be stored")
        assert heard == [] and received() == []
    assert not LiveEvent.objects.exists()


def test_subscribers_and_streams_hear_each_event_once_after_the_commit(schools):
    """Subscribers are told the events were recorded already, so the after-commit
    recorder does not write them a second time."""
    first, second = schools
    published = [
        ("alarm.event", {"school_id": first.pk, "event_id": "e-1"}),
        ("alarm.event", {"school_id": second.pk, "event_id": "e-2"}),
        ("alarm.case_opened", {"school_id": first.pk, "case_id": 1}),
    ]
    with listening() as heard, streaming() as received:
        with transaction.atomic():
            bus.publish_many_on_commit(published)
            assert heard == [] and received() == []  # not before the commit
        streamed = received()
    assert heard == [(name, payload, True) for name, payload in published]
    rows = list(LiveEvent.objects.order_by("id"))
    assert len(rows) == len(published)
    assert [(d.id, d.name, d.school_id) for d in streamed] == [
        (r.pk, r.name, r.school_id) for r in rows
    ]


def test_events_outside_the_console_log_are_neither_written_nor_marked_recorded(schools):
    first, _second = schools
    device_id = "37140200001320000001"
    published = [
        ("device.registered", {"device_id": device_id}),
        ("alarm.event", {"school_id": first.pk, "event_id": "e-1"}),
        ("device.channels", {"device_id": device_id, "channels": 4}),
    ]
    with listening() as heard, transaction.atomic():
        bus.publish_many_on_commit(published)
    assert list(LiveEvent.objects.values_list("name", flat=True)) == ["alarm.event"]
    assert [(name, recorded) for name, _payload, recorded in heard] == [
        ("device.registered", False),
        ("alarm.event", True),
        ("device.channels", False),
    ]


def test_record_in_transaction_says_per_event_whether_it_took_it(schools):
    """The bus relies on this answer to tell subscribers what is recorded."""
    first, _second = schools
    with transaction.atomic():
        taken = recording.record_in_transaction(
            [
                ("device.registered", {"device_id": "37140200001320000001"}),
                ("alarm.case_opened", {"school_id": first.pk, "case_id": 1}),
                ("post.checked_in", {"school_id": first.pk}),
                ("patrol.scan", {"school_id": first.pk}),
            ]
        )
    assert taken == [False, True, True, False]
    assert list(LiveEvent.objects.values_list("name", flat=True)) == [
        "alarm.case_opened",
        "post.checked_in",
    ]
    assert recording.record_in_transaction([]) == []


def test_publishing_nothing_or_an_unknown_event_writes_nothing(schools):
    first, _second = schools
    with transaction.atomic():
        bus.publish_many_on_commit([])
        with pytest.raises(bus.UnknownEvent):
            bus.publish_many_on_commit(
                [("alarm.event", {"school_id": first.pk}), ("alarm.exploded", {})]
            )
    assert not LiveEvent.objects.exists()
