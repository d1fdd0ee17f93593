"""The live log is an outbox: an event's row commits or rolls back with the event."""

from __future__ import annotations

import pytest
from django.db import transaction

from campus_safety import bus
from campus_safety.live.models import LiveEvent
from tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_row_is_written_inside_the_publishing_transaction():
    school = SchoolFactory()
    with transaction.atomic():
        bus.publish_on_commit("alarm.case_opened", school_id=school.pk, case_id=1)
        # visible to the transaction before the commit: it commits with the alarm
        assert LiveEvent.objects.filter(name="alarm.case_opened").count() == 1
    [row] = LiveEvent.objects.filter(name="alarm.case_opened")
    assert row.school_id == school.pk and row.payload["case_id"] == 1


def test_a_rolled_back_event_leaves_no_row_and_announces_nothing():
    school = SchoolFactory()
    heard: list[str] = []
    unsubscribe = bus.subscribe("alarm.case_opened", lambda name, payload: heard.append(name))
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            bus.publish_on_commit("alarm.case_opened", school_id=school.pk, case_id=2)
            raise RuntimeError("the alarm could not be stored")
    finally:
        unsubscribe()
    assert not LiveEvent.objects.exists() and heard == []


def test_subscribers_still_hear_an_outboxed_event_once_and_it_is_written_once():
    school = SchoolFactory()
    heard: list[tuple[str, bool]] = []

    def listen(name: str, payload: dict) -> None:
        heard.append((name, bus.is_recorded()))

    unsubscribe = bus.subscribe("alarm.case_opened", listen)
    try:
        with transaction.atomic():
            bus.publish_on_commit("alarm.case_opened", school_id=school.pk, case_id=3)
    finally:
        unsubscribe()
    assert heard == [("alarm.case_opened", True)]
    assert LiveEvent.objects.filter(name="alarm.case_opened").count() == 1


def test_events_outside_the_console_log_are_not_recorded():
    with transaction.atomic():
        bus.publish_on_commit("device.registered", device_id="37140200001320000001")
    assert not LiveEvent.objects.exists()
