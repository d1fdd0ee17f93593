"""Alarms stored a batch at a time: each (device, event_id) once, the cases of a batch
opened or grown together, and a fixed handful of statements whatever the batch size.

``services.ingest_alarms`` and ``workflow.open_or_merge_cases`` directly, then the whole
path through ``gateway.ingest.ingest_batch`` down to the consoles' live log.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campus_safety.alarms import services, workflow
from campus_safety.alarms.models import AlarmCase, AlarmEvent, TestWindow
from campus_safety.devices import liveness
from campus_safety.gateway.ingest import DeviceMessage, ingest_batch
from campus_safety.live.models import LiveEvent
from tests.devices.support import DeviceFactory, Events, fresh_liveness
from tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db
State = AlarmCase.State
_serial = itertools.count(1)


def arriving(device, event_id: str | None = None, *, at=None, priority: int = 1, **fields):
    """One alarm as ingestion hands it to ``ingest_alarms``."""
    at = at or dt.datetime(2026, 3, 2, 0, 15, tzinfo=dt.UTC)
    return services.AlarmInput(
        device_pk=device.pk,
        device_id=device.device_id,
        school_id=device.school_id,
        event_id=event_id or f"b{next(_serial)}",
        occurred_at=at,
        received_at=at,
        protocol="mqtt",
        priority=priority,
        method=2,
        **fields,
    )


@pytest.fixture
def now(clock):
    return clock.now()


@pytest.fixture
def events():
    recorder = Events()
    yield recorder
    recorder.close()


def case_of(pk: int) -> AlarmCase:
    return AlarmEvent.objects.select_related("case").get(pk=pk).case


# --- deduplication -------------------------------------------------------------------------


def test_the_same_event_twice_in_a_batch_is_stored_once_and_the_repeat_is_not_answered_new(
    device, now
):
    """A device's retry can arrive in the same batch as the original: one row, and the
    retry is answered with that row so the device is acknowledged again."""
    results = services.ingest_alarms(
        [
            arriving(device, "e-1", at=now),
            arriving(device, "e-2", at=now),
            arriving(device, "e-1", at=now),
        ]
    )
    assert [created for _pk, created in results] == [True, True, False]
    assert results[2][0] == results[0][0]
    assert sorted(AlarmEvent.objects.values_list("event_id", flat=True)) == ["e-1", "e-2"]
    assert AlarmCase.objects.get().event_count == 2  # the retry does not grow the case


def test_events_stored_before_the_batch_are_answered_as_duplicates(device, now):
    [(stored_pk, created)] = services.ingest_alarms([arriving(device, "e-1", at=now)])
    assert created
    results = services.ingest_alarms([arriving(device, f"e-{n}", at=now) for n in (1, 2, 3)])
    assert results[0] == (stored_pk, False)
    assert [created for _pk, created in results[1:]] == [True, True]
    assert AlarmEvent.objects.count() == 3
    assert AlarmCase.objects.get().event_count == 3


def test_an_event_stored_by_another_writer_meanwhile_is_still_stored_exactly_once(
    device, now, monkeypatch, django_capture_on_commit_callbacks
):
    """Another process may store one of the batch's events between the duplicate check
    and the INSERT. ``_stored_before`` is made to miss the stored event, so the batch
    INSERT hits the real unique constraint; the batch is then redone one by one."""
    [(theirs, _created)] = services.ingest_alarms([arriving(device, "e-2", at=now)])
    monkeypatch.setattr(services, "_stored_before", lambda keys: {})
    with django_capture_on_commit_callbacks(execute=True):
        results = services.ingest_alarms([arriving(device, f"e-{n}", at=now) for n in (1, 2, 3)])
    assert results[1] == (theirs, False)
    assert results[0][1] is True and results[2][1] is True
    rows = dict(AlarmEvent.objects.values_list("pk", "event_id"))
    assert Counter(rows.values()) == {"e-1": 1, "e-2": 1, "e-3": 1}
    assert (rows[results[0][0]], rows[results[2][0]]) == ("e-1", "e-3")
    # the failed batch attempt left no trace: the case counts each stored event once,
    # and the live log has one row per stored event
    case = AlarmCase.objects.get()
    assert case.event_count == 3 == case.events.count()
    logged = LiveEvent.objects.filter(name="alarm.event")
    assert sorted(e.payload["alarm_event_id"] for e in logged) == sorted(rows)


# --- cases -----------------------------------------------------------------------------------


def test_alarms_of_one_school_in_one_batch_make_one_case_with_the_highest_priority(
    school, now, events, django_capture_on_commit_callbacks
):
    """Three cameras of a school firing at once are one incident, as urgent as the most
    urgent of them (priority 1 is the highest)."""
    cameras = [DeviceFactory(school=school, kind="camera") for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        results = services.ingest_alarms(
            [arriving(c, at=now, priority=p) for c, p in zip(cameras, (3, 2, 4), strict=True)]
        )
    case = AlarmCase.objects.get()
    assert (case.school_id, case.event_count, case.priority) == (school.pk, 3, 2)
    assert case.state == State.RECEIVED
    assert {case_of(pk).pk for pk, _created in results} == {case.pk}
    assert events.names("alarm.") == ["alarm.event"] * 3 + ["alarm.case_opened"]


def test_alarms_of_different_schools_make_separate_cases(now):
    devices = [DeviceFactory() for _ in range(3)]
    batch = [arriving(devices[0], at=now), arriving(devices[1], at=now)]
    batch += [arriving(devices[1], at=now), arriving(devices[2], at=now)]
    results = services.ingest_alarms(batch)
    counts = dict(AlarmCase.objects.values_list("school_id", "event_count"))
    assert counts == {devices[0].school_id: 1, devices[1].school_id: 2, devices[2].school_id: 1}
    cases = [case_of(pk) for pk, _created in results]
    expected = [devices[0], devices[1], devices[1], devices[2]]
    assert [c.school_id for c in cases] == [d.school_id for d in expected]
    assert cases[1].pk == cases[2].pk and len({c.pk for c in cases}) == 3


def test_a_batch_joining_a_case_opened_before_grows_it_once_per_event(
    school, clock, events, django_capture_on_commit_callbacks
):
    """The open case of the school (within the merge window) takes the batch's alarms:
    one more event each, its priority raised, announced once as updated."""
    camera = DeviceFactory(school=school, kind="camera")
    button = DeviceFactory(school=school, kind="one_key_alarm")
    services.ingest_alarms([arriving(camera, at=clock.now(), priority=3)])
    opened = AlarmCase.objects.get()
    assert (opened.event_count, opened.priority) == (1, 3)
    clock.advance(seconds=30)
    later = clock.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.ingest_alarms(
            [
                arriving(camera, at=later, priority=3),
                arriving(button, at=later),
                arriving(camera, at=later, priority=4),
            ]
        )
    case = AlarmCase.objects.get()
    assert case.pk == opened.pk
    assert (case.event_count, case.priority, case.last_event_at) == (4, 1, later)
    assert case.events.count() == 4
    assert events.names("alarm.case") == ["alarm.case_updated"]
    assert events.seen[-1][1]["priority"] == 1


def test_a_drill_window_for_one_school_makes_only_that_schools_alarms_test_cases(now):
    """A drill at school A must not hide a real alarm at school B in the same batch."""
    drilling, other = DeviceFactory(), DeviceFactory()
    TestWindow.objects.create(
        school_id=drilling.school_id,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=1),
        reason="演练",
    )
    results = services.ingest_alarms([arriving(drilling, at=now), arriving(other, at=now)])
    drill, real = (case_of(pk) for pk, _created in results)
    assert (drill.school_id, drill.is_test, drill.state) == (drilling.school_id, True, State.TEST)
    assert drill.next_escalation_at is None
    assert (real.school_id, real.is_test, real.state) == (other.school_id, False, State.RECEIVED)
    assert real.next_escalation_at is not None
    assert AlarmEvent.objects.filter(case=drill).count() == 1


def test_a_drill_of_one_device_keeps_the_schools_other_alarms_real(school, now):
    """A window for one device makes only that device's alarm a test; the school's
    other alarm in the same batch opens a real case beside it."""
    drilled, other = DeviceFactory(school=school), DeviceFactory(school=school)
    TestWindow.objects.create(
        school=school,
        device=drilled,
        starts_at=now - dt.timedelta(minutes=5),
        ends_at=now + dt.timedelta(minutes=5),
        reason="单设备测试",
    )
    results = services.ingest_alarms([arriving(drilled, at=now), arriving(other, at=now)])
    drill, real = (case_of(pk) for pk, _created in results)
    assert (drill.is_test, real.is_test) == (True, False)
    assert drill.pk != real.pk


def test_open_or_merge_cases_answers_each_arrival_with_its_case_and_whether_it_opened_it(
    school, now
):
    """The workflow on its own: the first arrival of a place opens, the rest join."""
    first, second = DeviceFactory(school=school), DeviceFactory(school=school)
    elsewhere = DeviceFactory()

    def arrival(device, priority=1):
        return workflow.Arrival(device.pk, device.school_id, now, now, priority, "", "", False)

    placed = workflow.open_or_merge_cases([arrival(first), arrival(elsewhere), arrival(second)])
    assert [opened for _case, opened in placed] == [True, True, False]
    assert placed[0][0].pk == placed[2][0].pk != placed[1][0].pk
    assert dict(AlarmCase.objects.values_list("pk", "event_count")) == {
        placed[0][0].pk: 2,
        placed[1][0].pk: 1,
    }
    assert workflow.open_or_merge_cases([]) == []


# --- statements per batch --------------------------------------------------------------------


def _alarms_across_schools(count: int, now) -> list[services.AlarmInput]:
    return [arriving(DeviceFactory(school=SchoolFactory()), at=now) for _ in range(count)]


def _statements(batch) -> list[str]:
    """The statements ``ingest_alarms`` runs, one per bulk write: on SQLite Django splits
    one bulk INSERT into several (999 bound variables per statement), which is still
    one write of the table."""
    with CaptureQueriesContext(connection) as captured:
        services.ingest_alarms(batch)
    statements: list[str] = []
    for query in captured.captured_queries:
        sql = re.sub(r"s\d+_x\d+", "sp", query["sql"])  # savepoint names
        insert = re.match(r'INSERT INTO "\w+"', sql)  # VALUES (SQLite) or UNNEST (PostgreSQL)
        sql = insert.group(0) if insert else sql.split(" WHERE ", 1)[0]
        if sql.startswith("INSERT") and statements and statements[-1] == sql:
            continue
        statements.append(sql)
    return statements


def test_a_batch_of_50_alarms_across_50_schools_takes_a_handful_of_queries(
    now, django_assert_max_num_queries
):
    """A burst across the city must reach the consoles in one short transaction, not a
    dozen statements per alarm."""
    batch = _alarms_across_schools(50, now)
    with django_assert_max_num_queries(15):
        results = services.ingest_alarms(batch)
    assert all(created for _pk, created in results)
    assert AlarmCase.objects.count() == 50 and AlarmEvent.objects.count() == 50
    assert LiveEvent.objects.filter(name="alarm.event").count() == 50
    assert LiveEvent.objects.filter(name="alarm.case_opened").count() == 50


def test_the_statements_per_batch_do_not_grow_with_the_batch(now):
    small = _statements(_alarms_across_schools(10, now))
    large = _statements(_alarms_across_schools(50, now))
    assert large == small
    assert AlarmEvent.objects.count() == 60


def test_cases_grown_by_a_batch_cost_one_update_each_not_one_per_event(clock):
    """Ten new alarms for each of three schools with an open case: three UPDATEs."""
    devices = [DeviceFactory() for _ in range(3)]
    services.ingest_alarms([arriving(d, at=clock.now()) for d in devices])
    clock.advance(seconds=10)
    batch = [arriving(d, at=clock.now()) for d in devices for _ in range(10)]
    with CaptureQueriesContext(connection) as captured:
        services.ingest_alarms(batch)
    updates = [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 3
    assert sorted(AlarmCase.objects.values_list("event_count", flat=True)) == [11, 11, 11]


# --- the whole ingestion path ----------------------------------------------------------------


TS = "2026-03-02T08:15:00+08:00"


def message(device, kind: str, event_id: str = "", **fields) -> DeviceMessage:
    payload = {"event_id": event_id, "ts": TS, **fields} if kind != "heartbeat" else {}
    return DeviceMessage(
        device.device_id, kind, event_id, dt.datetime.fromisoformat(TS), payload, "mqtt"
    )


def test_a_mixed_batch_is_answered_per_message_and_logged_for_the_consoles_in_its_transaction(
    clock, events, django_capture_on_commit_callbacks
):
    """Alarms, a patrol scan, a status report, a heartbeat and a bad alarm together:
    each answered on its own; the stored alarms (and the cases they opened) are in
    the live log before the commit — written by the transaction, not after it."""
    fresh_liveness()
    try:
        school_a, school_b = SchoolFactory(), SchoolFactory()
        a1, a2 = DeviceFactory(school=school_a), DeviceFactory(school=school_a)
        b1 = DeviceFactory(school=school_b)
        checkpoint = DeviceFactory(school=school_a, kind="patrol_checkpoint")
        batch = [
            message(a1, "alarm", "a-1", priority=1, method=2),
            message(checkpoint, "patrol", "p-1", checkpoint_id="CP-1", card_id="G1"),
            message(a2, "alarm", "a-bad", priority=9, method=2),
            message(a1, "heartbeat"),
            message(b1, "alarm", "b-1", priority=1, method=2),
            message(a1, "status", "s-1", state="ok"),
            message(a2, "alarm", "a-3", priority=1, method=2),
            message(a1, "alarm", "a-1", priority=1, method=2),
        ]
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            results = ingest_batch(batch)
            logged_before_commit = list(LiveEvent.objects.values_list("name", "payload"))
        assert [r.outcome for r in results] == [
            "accepted",
            "accepted",
            "rejected",
            "accepted",
            "accepted",
            "accepted",
            "accepted",
            "duplicate",
        ]
        assert results[2].reason == "priority must be an integer from 1 to 4"
        assert results[7].object_id == results[0].object_id
        alarm_pks = [results[i].object_id for i in (0, 4, 6)]
        assert dict(AlarmEvent.objects.values_list("pk", "event_id")) == dict(
            zip(alarm_pks, ["a-1", "b-1", "a-3"], strict=True)
        )
        cases = dict(AlarmCase.objects.values_list("school_id", "event_count"))
        assert cases == {school_a.pk: 2, school_b.pk: 1}

        logged = Counter(name for name, _payload in logged_before_commit)
        assert (logged["alarm.event"], logged["alarm.case_opened"]) == (3, 2)
        assert logged["alarm.case_updated"] == 0
        assert sorted(
            p["alarm_event_id"] for n, p in logged_before_commit if n == "alarm.event"
        ) == sorted(alarm_pks)
        assert sorted(
            p["case_id"] for n, p in logged_before_commit if n == "alarm.case_opened"
        ) == sorted(AlarmCase.objects.values_list("pk", flat=True))
        rows = LiveEvent.objects.filter(name="alarm.event")
        assert {(r.school_id, r.region_code) for r in rows} == {
            (school_a.pk, school_a.region.code),
            (school_b.pk, school_b.region.code),
        }

        for callback in callbacks:  # the commit: announced, but not logged a second time
            callback()
        assert events.names("alarm.") == ["alarm.event"] * 3 + ["alarm.case_opened"] * 2
        assert LiveEvent.objects.filter(name__startswith="alarm.").count() == 5
    finally:
        liveness.reset()


# --- the fast path: nothing but alarms in one transaction without savepoints ----------------


@pytest.mark.django_db(transaction=True)
def test_a_lone_alarm_is_stored_in_one_transaction_without_a_savepoint(clock):
    """On PostgreSQL each statement is a round trip: a batch of nothing but alarms goes
    in without the per-message savepoints the careful path needs."""
    fresh_liveness()
    try:
        device = DeviceFactory()
        with CaptureQueriesContext(connection) as captured:
            [result] = ingest_batch([message(device, "alarm", "f-1", priority=1, method=2)])
        statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
        assert result.outcome == "accepted"
        assert "SAVEPOINT" not in statements and statements.count("COMMIT") == 1
        assert len(statements) <= 10
        event = AlarmEvent.objects.get(pk=result.object_id)
        assert event.case.event_count == 1
        assert LiveEvent.objects.filter(name="alarm.event").count() == 1
    finally:
        liveness.reset()


def test_a_fast_batch_that_collides_with_another_writer_is_redone_and_stored_once(
    clock, monkeypatch, django_capture_on_commit_callbacks
):
    """Another process stores one of the events between the duplicate check and the
    INSERT: the fast transaction rolls back whole, the careful path stores the rest and
    answers the collision as a duplicate — no event, case count or live row twice."""
    fresh_liveness()
    try:
        device = DeviceFactory()
        [first] = ingest_batch([message(device, "alarm", "c-2", priority=1, method=2)])
        monkeypatch.setattr(services, "_stored_before", lambda keys: {})
        batch = [message(device, "alarm", f"c-{n}", priority=1, method=2) for n in (1, 2, 3)]
        with django_capture_on_commit_callbacks(execute=True):
            results = ingest_batch(batch)
        assert [r.outcome for r in results] == ["accepted", "duplicate", "accepted"]
        assert results[1].object_id == first.object_id
        assert Counter(AlarmEvent.objects.values_list("event_id", flat=True)) == {
            "c-1": 1, "c-2": 1, "c-3": 1
        }  # fmt: skip
        case = AlarmCase.objects.get()
        assert case.event_count == 3 == case.events.count()
        assert LiveEvent.objects.filter(name="alarm.event").count() == 3
    finally:
        liveness.reset()
