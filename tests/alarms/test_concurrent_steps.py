"""Two people pressing the same key at once, over the API, each request in a thread of
its own with its own database connection (as two platform processes would).

PostgreSQL only: several processes share one database only there (ARCHITECTURE.md §4);
SQLite lets one writer in at a time anyway. To make the two requests meet rather than
hope they do, the test holds a real row lock while it starts them, waits until both
queue behind it, then lets go.
"""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction
from django.db.models import QuerySet
from django.test import Client

from campus_safety.alarms import workflow
from campus_safety.alarms.models import AlarmCase, Dispatch, PoliceUnit
from campus_safety.audit.models import AuditEntry
from tests.alarms.support import PoliceUnitFactory, send_alarm
from tests.devices.support import DeviceFactory
from tests.factories import UserFactory, sign_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="several processes share one database only on PostgreSQL (ARCHITECTURE.md §4)",
    ),
]
State = AlarmCase.State


def _queued_on_locks() -> int:
    """Sessions of this test database waiting for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh look on each call
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _at_once(held: QuerySet, requests: list[Callable[[], object]]) -> list:
    """Each request in a thread of its own, started while this test holds the row locks
    of ``held``; they are let go once all of them wait on a lock (or after 30 s)."""
    results: list = [None] * len(requests)
    errors: list[BaseException] = []

    def run(index: int, request: Callable[[], object]) -> None:
        try:
            results[index] = request()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(requests)]
    with transaction.atomic():
        list(held.select_for_update())
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while _queued_on_locks() < len(requests) and time.monotonic() < deadline:
            time.sleep(0.02)
        queued = _queued_on_locks()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert queued == len(requests), "the requests never met on the lock"
    return results


def _signed_in(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def _post(client: Client, url: str, data: dict | None = None):
    return lambda: client.post(url, data or {}, content_type="application/json")


def test_two_dispatchers_acknowledging_at_once_one_wins_the_other_is_told_409(
    clock, device, county
):
    case = send_alarm(device, clock)
    people = [UserFactory(role="dispatcher", region=county) for _ in range(2)]
    url = f"/api/v1/alarm-cases/{case.pk}/acknowledge/"
    responses = _at_once(
        AlarmCase.objects.filter(pk=case.pk),
        [_post(_signed_in(person), url) for person in people],
    )
    codes = [r.status_code for r in responses]
    assert sorted(codes) == [200, 409]
    case.refresh_from_db()
    assert case.state == State.ACKNOWLEDGED
    assert case.acknowledged_by == people[codes.index(200)]
    assert AuditEntry.objects.filter(action="alarm.acknowledge").count() == 1


def test_two_dispatches_sharing_a_unit_at_once_send_it_once_and_the_other_nothing(
    clock, device, school, county, station, settings
):
    """Case A asks for cars 1 and 2, case B for 2 and 3, at the same moment: car 2 goes
    to one of them, and the other dispatch is refused whole — its other car stays free."""
    settings.ALARM_MERGE_SECONDS, settings.LANGUAGE_CODE = 0, "en"
    first = send_alarm(device, clock)
    clock.advance(seconds=5)
    second = send_alarm(DeviceFactory(school=school), clock)
    dispatcher = UserFactory(role="dispatcher", region=county)
    for case in (first, second):
        workflow.acknowledge_case(case, by=dispatcher)
    one, shared, three = (PoliceUnitFactory(organisation=station) for _ in range(3))
    asks = {first.pk: [one.pk, shared.pk], second.pk: [three.pk, shared.pk]}
    clients = [_signed_in(UserFactory(role="dispatcher", region=county)) for _ in range(2)]
    responses = _at_once(
        PoliceUnit.objects.filter(pk=shared.pk),
        [
            _post(client, f"/api/v1/alarm-cases/{pk}/dispatch/", {"units": units})
            for client, (pk, units) in zip(clients, asks.items(), strict=True)
        ],
    )
    codes = [r.status_code for r in responses]
    assert sorted(codes) == [200, 409]
    winner, loser = (list(asks)[codes.index(code)] for code in (200, 409))
    assert shared.name in responses[codes.index(409)].json()["detail"]
    assert Dispatch.objects.filter(unit=shared).count() == 1
    assert sorted(Dispatch.objects.filter(case_id=winner).values_list("unit", flat=True)) == sorted(
        asks[winner]
    )
    assert not Dispatch.objects.filter(case_id=loser).exists()
    assert AlarmCase.objects.get(pk=loser).state == State.ACKNOWLEDGED
    assert AlarmCase.objects.get(pk=winner).state == State.DISPATCHED
    free = set(PoliceUnit.objects.filter(is_available=True).values_list("pk", flat=True))
    assert free == set(asks[loser]) - {shared.pk}
    assert AuditEntry.objects.filter(action="alarm.dispatch").count() == 1
