"""What one check-in costs the database (issue #17's 50-per-second target rests on it):
the watch-list match is one statement whatever the list's size, the visit one insert,
the audit one named entry. Counts, never timings."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from campus_safety.audit.models import AuditEntry
from campus_safety.gate import services
from campus_safety.gate.models import Visit, WatchlistHit
from tests.gate.conftest import WATCHED_ID, visitor


def _statements(captured) -> list[str]:
    """The statements that do work (savepoints are the transaction's bookkeeping)."""
    return [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]


def test_a_plain_check_in_is_three_statements(school, guard, entry, clock):
    services.check_in(school, by=guard, **visitor(document_number="440524188001010030"))
    with CaptureQueriesContext(connection) as captured:
        result = services.check_in(school, by=guard, **visitor())
    assert not result.held
    sql = _statements(captured.captured_queries)
    assert len(sql) == 3, sql
    assert sql[0].startswith("SELECT") and "gate_watchlistentry" in sql[0]
    assert sql[1].startswith("INSERT INTO") and "gate_visit" in sql[1]
    assert sql[2].startswith("INSERT INTO") and "audit_auditentry" in sql[2]
    visit_entries = AuditEntry.objects.filter(object_type="gate.visit", object_id=result.visit.pk)
    assert [e.action for e in visit_entries] == ["gate.check_in"]


def test_a_hit_stores_the_visit_once_already_held(school, guard, entry, clock):
    with CaptureQueriesContext(connection) as captured:
        result = services.check_in(
            school, by=guard, **visitor(document_number=WATCHED_ID, name="赵某某")
        )
    sql = _statements(captured.captured_queries)
    assert result.held and Visit.objects.get().state == Visit.State.HELD
    assert not [s for s in sql if s.startswith("UPDATE") and "gate_visit" in s]
    assert len([s for s in sql if "INSERT INTO" in s and "gate_visit" in s]) == 1
    assert WatchlistHit.objects.get().alarm_case_id is not None
    assert len(sql) <= 22, sql


def test_the_strongest_match_wins_in_one_statement(school, guard, officer, station, clock):
    now = clock.now()
    window = {"valid_from": now - dt.timedelta(days=1), "valid_until": now + dt.timedelta(days=9)}
    plate_only = services.create_entry(
        by=officer, station=station, name="车主", reason="risk", plate="鲁N77777", **window
    )
    by_name = services.create_entry(
        by=officer,
        station=station,
        name="钱多多",
        reason="risk",
        birth_date=dt.date(1880, 1, 1),
        **window,
    )
    with CaptureQueriesContext(connection) as captured:
        match = services.match_person(
            document_hash="",
            name_hash=by_name.name_hash,
            birth_date=dt.date(1880, 1, 1),
            at=now,
            plate="鲁N77777",
        )
    assert (match.entry, match.strength) == (by_name, "weak")
    assert len(captured.captured_queries) == 2  # the match, then the entry it names
    assert services.match_plate("鲁N77777", now).entry == plate_only
    assert services.match_person(document_hash="", name_hash="", birth_date=None, at=now) is None


def test_a_release_to_a_guardian_is_two_statements(school, guard, school_admin, clock):
    student = services.save_student(
        school, by=school_admin, student_number="K1", name="小明", class_name="大一班"
    )
    mother = services.add_pickup_person(student, by=school_admin, name="妈妈", relation="mother")
    with CaptureQueriesContext(connection) as captured:
        assert services.release(student, school, by=guard, person=mother).released
    sql = _statements(captured.captured_queries)
    assert len(sql) == 2, sql  # the pick-up and its named audit entry; no watch-list look-up
    assert "gate_pickup" in sql[0] and "audit_auditentry" in sql[1]
