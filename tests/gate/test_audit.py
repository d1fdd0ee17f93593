"""Every step at the gate leaves a named entry in the audit log (issue #17): check-in,
check-out, a pick-up released, refused or held, and every watch-list match — with who
did it, and nothing of the person in clear."""

import datetime as dt
import json

import pytest

from campus_safety.audit.labels import is_known
from campus_safety.audit.models import AuditEntry
from campus_safety.gate import services
from campus_safety.gate.models import Pickup, WatchlistHit
from tests.gate.conftest import VISITOR_ID, WATCHED_ID, visitor


def _entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def _clear_text(entry: AuditEntry) -> str:
    return entry.object_repr + json.dumps(entry.detail, ensure_ascii=False)


@pytest.fixture
def child(school, school_admin):
    student = services.save_student(
        school,
        by=school_admin,
        student_number="K001",
        name="小明",
        class_name="大一班",
        class_teacher="刘老师",
        teacher_phone="13900000001",
    )
    mother = services.add_pickup_person(
        student, by=school_admin, name="小明妈妈", relation="mother", phone="13900000002"
    )
    return student, mother


def test_check_in_and_check_out_are_audited_with_the_guard(school, guard, clock):
    visit = services.check_in(school, by=guard, **visitor()).visit
    services.check_out(visit, by=guard)
    (check_in,) = _entries("gate.check_in")
    (check_out,) = _entries("gate.check_out")
    for entry in (check_in, check_out):
        assert entry.user_id == guard.pk and entry.role == "guard"
        assert entry.object_type == "gate.visit" and entry.object_id == str(visit.pk)
        assert entry.detail["school_id"] == school.pk
        assert "钱多多" not in _clear_text(entry) and VISITOR_ID not in _clear_text(entry)
    assert check_in.object_repr.startswith("钱**")


def test_an_invited_check_in_names_its_invitation(school, guard, clock):
    now = clock.now()
    invitation, token = services.create_invitation(
        school,
        by=guard,
        name="钱多多",
        purpose="送教材",
        host="孙老师",
        document_number=VISITOR_ID,
        valid_from=now,
        valid_until=now + dt.timedelta(hours=2),
    )
    services.check_in_invited(token, school, by=guard)
    (entry,) = _entries("gate.check_in")
    assert entry.detail["invitation_id"] == invitation.pk


def test_release_refusal_and_hold_are_each_audited(child, entry, school, guard, clock):
    student, mother = child
    released = services.release(student, school, by=guard, person=mother).pickup
    refused = services.release(student, school, by=guard, person_name="陌生人").pickup
    held = services.release(
        student, school, by=guard, person_name="赵某某", document_number=WATCHED_ID
    ).pickup
    assert held.outcome == Pickup.Outcome.HELD
    (release,) = _entries("gate.pickup_release")
    (refusal,) = _entries("gate.pickup_refuse")
    (hold,) = _entries("gate.pickup_hold")
    assert [release.object_id, refusal.object_id, hold.object_id] == [
        str(released.pk),
        str(refused.pk),
        str(held.pk),
    ]
    assert release.detail["person_id"] == mother.pk
    assert refusal.detail["reason"] == "not_authorised" and refusal.detail["person_id"] is None
    assert hold.detail["reason"] == "needs_check"
    assert all(e.user_id == guard.pk for e in (release, refusal, hold))
    assert all(
        "小明" not in _clear_text(e) and "陌生人" not in _clear_text(e) for e in (release, refusal)
    )


def test_every_watch_list_match_is_audited_without_the_person(entry, school, guard, clock, child):
    student, _mother = child
    visit = services.check_in(
        school, by=guard, **visitor(document_number=WATCHED_ID, name="赵某某")
    ).visit
    services.release(student, school, by=guard, person_name="赵某某", document_number=WATCHED_ID)
    services.record_passage(school, plate="鲁N99999", direction="in", source="camera")
    hits = _entries("gate.watchlist_hit")
    assert [h.detail["source"] for h in hits] == ["visit", "pickup", "vehicle"]
    assert {h.detail["entry_id"] for h in hits} == {entry.pk}
    assert hits[0].detail["visit_id"] == visit.pk
    stored = {h.pk: h for h in WatchlistHit.objects.all()}
    for audit in hits:
        hit = stored[int(audit.object_id)]
        assert audit.object_type == "gate.watchlisthit"
        assert audit.detail["alarm_case_id"] == hit.alarm_case_id is not None
        assert audit.detail["match"] == hit.strength
        text = _clear_text(audit)
        assert "赵某某" not in text and WATCHED_ID not in text and "鲁N99999" not in text
    assert hits[0].user_id == hits[1].user_id == guard.pk
    assert hits[2].user_id is None  # an ANPR camera, no one at the gate


def test_the_gate_actions_have_phrases():
    for action in (
        "gate.check_in",
        "gate.check_out",
        "gate.pickup_release",
        "gate.pickup_refuse",
        "gate.pickup_hold",
        "gate.watchlist_hit",
    ):
        assert is_known(action)
