"""The gate's services: check-in/out, invitations, overstays, watch-list matching and
its police-only alarm case, vehicles, pick-up with refusals and notifications."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from campus_safety import personal_data
from campus_safety.alarms.models import AlarmCase
from campus_safety.audit.models import AuditEntry
from campus_safety.gate import services
from campus_safety.gate.models import (
    Pickup,
    PickupNotification,
    Visit,
    VisitInvitation,
    WatchlistEntry,
    WatchlistHit,
)
from campus_safety.live.models import LiveEvent
from tests.gate.conftest import VISITOR_ID, WATCHED_ID, visitor
from tests.hazards.support import jpeg_bytes

pytestmark = pytest.mark.django_db


def at_local(clock, hour, minute=0):
    local = timezone.localtime(timezone.now()).replace(hour=hour, minute=minute, second=0)
    clock.start_at(local)


def test_check_in_stores_personal_data_encrypted_and_recognises_repeat_visitors(
    school, guard, clock
):
    first = services.check_in(school, by=guard, **visitor())
    assert not first.held and first.visit.state == Visit.State.ON_CAMPUS
    with connection.cursor() as cursor:
        cursor.execute("SELECT document_number, name, phone FROM gate_visit")
        raw = cursor.fetchall()
    assert VISITOR_ID not in str(raw) and "钱多多" not in str(raw)
    assert first.visit.birth_date == dt.date(1880, 1, 1)
    assert first.visit.masked_name == "钱**"
    services.check_out(first.visit, by=guard)
    second = services.check_in(school, by=guard, **visitor(document_number=VISITOR_ID.lower()))
    assert services.repeat_visits(second.visit) == 1
    assert AuditEntry.objects.filter(action="gate.check_in").count() == 2
    assert not AuditEntry.objects.filter(action="visit.create").exists()  # said once


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"document_number": "110105194912310021"}, "check digit"),
        ({"vehicle_plate": "鲁N1234"}, "licence plate"),
        ({"name": ""}, "name"),
        ({"party_size": 0}, "Party size"),
        ({"document_kind": "fake"}, "document kind"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_nothing_stored(
    school, guard, clock, overrides, words
):
    with pytest.raises(services.GateError, match=words):
        services.check_in(school, by=guard, **visitor(**overrides))
    assert not Visit.objects.exists()


def test_a_photo_that_is_not_an_image_is_refused(school, guard, clock):
    fake = SimpleUploadedFile("face.jpg", b"not an image at all", content_type="image/jpeg")
    with pytest.raises(services.GateError, match="not an image"):
        services.check_in(school, by=guard, photo=fake, **visitor())
    assert not Visit.objects.exists()
    good = SimpleUploadedFile("face.jpg", jpeg_bytes(), content_type="image/jpeg")
    visit = services.check_in(school, by=guard, photo=good, **visitor()).visit
    content_type, data = services.photo_bytes(visit.photo)
    assert content_type == "image/jpeg" and data[:2] == b"\xff\xd8"
    assert Visit.objects.filter(pk=visit.pk).values_list("photo", flat=True)[0].startswith("enc1:")


def test_check_out_and_overstays_on_the_controllable_clock(school, guard, clock, settings):
    settings.GATE_CLOSING_TIME = "18:00"
    at_local(clock, 9)
    short = services.check_in(school, by=guard, **visitor(expected_minutes=30)).visit
    long = services.check_in(
        school, by=guard, **visitor(document_number=WATCHED_ID, name="李四", expected_minutes=240)
    ).visit
    visits = Visit.objects.filter(school=school)
    assert list(services.overstays(visits)) == []
    clock.advance(minutes=31)
    assert list(services.overstays(visits)) == [short]
    assert services.alert_overstays() == 1
    assert services.alert_overstays() == 0  # told once
    services.check_out(short, by=guard)
    with pytest.raises(services.GateError, match="already left"):
        services.check_out(short, by=guard)
    at_local(clock, 18, 1)  # closing time: everyone still inside is listed
    assert list(services.overstays(visits)) == [long]


def test_invitation_lifecycle_one_time_within_its_window(school, other_school, guard, clock):
    now = clock.now()
    invitation, token = services.create_invitation(
        school,
        by=guard,
        name="周先生",
        purpose="家长会",
        host="班主任吴老师",
        document_number=VISITOR_ID,
        valid_from=now + dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(hours=3),
    )
    assert token not in str(VisitInvitation.objects.values()[0])
    with pytest.raises(services.GateError, match="not valid yet"):
        services.check_in_invited(token, school, by=guard)
    clock.advance(hours=2)
    with pytest.raises(services.GateError, match="not an invitation of this school"):
        services.check_in_invited(token, other_school, by=guard)
    with pytest.raises(services.GateError, match="not an invitation"):
        services.check_in_invited("forged-token", school, by=guard)
    result = services.check_in_invited(token, school, by=guard)
    assert result.visit.invitation == invitation and result.visit.host == "班主任吴老师"
    with pytest.raises(services.GateError, match="already been used"):
        services.check_in_invited(token, school, by=guard)
    assert Visit.objects.count() == 1


def test_an_expired_invitation_is_refused(school, guard, clock):
    now = clock.now()
    _invitation, token = services.create_invitation(
        school,
        by=guard,
        name="周先生",
        purpose="家长会",
        host="吴老师",
        valid_from=now,
        valid_until=now + dt.timedelta(hours=1),
    )
    clock.advance(hours=2)
    with pytest.raises(services.GateError, match="expired"):
        services.check_in_invited(token, school, by=guard, document_number=VISITOR_ID)
    assert not Visit.objects.exists()


def test_watch_list_matching_exact_weak_none_and_expired(entry, clock):
    now = clock.now()
    exact = services.match_person(
        document_hash=personal_data.keyed_hash(WATCHED_ID), name_hash="", birth_date=None, at=now
    )
    assert exact.entry == entry and exact.strength == "exact"
    weak = services.match_person(
        document_hash=personal_data.keyed_hash(VISITOR_ID),
        name_hash=personal_data.keyed_hash("赵某某"),
        birth_date=dt.date(1949, 12, 31),
        at=now,
    )
    assert weak.entry == entry and weak.strength == "weak"
    assert (
        services.match_person(
            document_hash=personal_data.keyed_hash(VISITOR_ID),
            name_hash=personal_data.keyed_hash("赵某某"),
            birth_date=dt.date(1950, 1, 1),
            at=now,
        )
        is None
    )
    later = now + dt.timedelta(days=31)
    assert (
        services.match_person(
            document_hash=personal_data.keyed_hash(WATCHED_ID),
            name_hash="",
            birth_date=None,
            at=later,
        )
        is None
    )


def test_an_ended_entry_no_longer_matches(entry, officer, clock):
    services.end_entry(entry, by=officer)
    assert (
        services.match_person(
            document_hash=entry.document_hash, name_hash="", birth_date=None, at=clock.now()
        )
        is None
    )


def test_only_police_keep_the_watch_list(station, school_admin, education, clock):
    now = clock.now()
    for user in (school_admin, education):
        with pytest.raises(services.NotAllowed):
            services.create_entry(
                by=user,
                station=station,
                name="x",
                reason="risk",
                valid_from=now,
                valid_until=now + dt.timedelta(days=1),
            )
    assert not WatchlistEntry.objects.exists()


def test_a_hit_holds_the_visit_neutrally_and_opens_a_police_only_case(
    entry,
    school,
    guard,
    school_admin,
    education,
    officer,
    other_officer,
    command,
    clock,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        result = services.check_in(
            school,
            by=guard,
            photo=SimpleUploadedFile("f.jpg", jpeg_bytes(), content_type="image/jpeg"),
            **visitor(document_number=WATCHED_ID, name="赵某某"),
        )
    assert result.held and result.message == "请稍候，需核验"
    assert result.visit.state == Visit.State.HELD
    hit = WatchlistHit.objects.get()
    case = AlarmCase.objects.get(pk=hit.alarm_case_id)
    assert case.police_only and case.school == school and case.alarm_type == "watchlist"
    assert case.priority == 1 and case.next_escalation_at is not None  # latched, escalates
    assert "Court protection order" in case.description
    event = case.events.get()
    assert event.payload["reason"] == "protection_order" and event.payload["has_photo"]
    assert event.payload["visit_id"] == result.visit.pk
    # The station and the command centre see it; no school role, not another station.
    for user in (officer, command):
        assert AlarmCase.objects.visible_to(user).filter(pk=case.pk).exists()
        assert WatchlistHit.objects.visible_to(user).filter(pk=hit.pk).exists()
        assert LiveEvent.objects.visible_to(user).filter(payload__case_id=case.pk).exists()
    for user in (guard, school_admin, education, other_officer):
        assert not AlarmCase.objects.visible_to(user).filter(pk=case.pk).exists()
        assert not case.events.model.objects.visible_to(user).filter(case=case).exists()
        assert not WatchlistHit.objects.visible_to(user).exists()
        assert not WatchlistEntry.objects.visible_to(user).exists()
        assert not LiveEvent.objects.visible_to(user).filter(payload__case_id=case.pk).exists()


def test_a_hits_escalation_stays_police_only(
    entry, school, guard, school_admin, officer, clock, django_capture_on_commit_callbacks
):
    """Nobody acknowledges the hit: its escalation reaches the live stream for the police
    and never for the school (the event carries the case's police-only flag)."""
    from campus_safety.alarms.escalation import run_alarm_timers
    from campus_safety.alarms.workflow import ack_seconds

    services.check_in(school, by=guard, **visitor(document_number=WATCHED_ID))
    case_id = WatchlistHit.objects.get().alarm_case_id
    clock.advance(seconds=ack_seconds() + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_alarm_timers()
    escalated = LiveEvent.objects.filter(name="alarm.escalated", payload__case_id=case_id)
    assert escalated.get().payload["police_only"] is True
    assert escalated.visible_to(officer).exists()
    for user in (guard, school_admin):
        assert not escalated.visible_to(user).exists()


def test_a_hit_never_merges_into_the_schools_open_case(entry, school, guard, clock):
    from campus_safety.devices.models import Device
    from tests.alarms.support import send_alarm

    button = Device.objects.create(
        device_id="37140200111340000001",
        name="一键报警",
        kind="one_key_alarm",
        protocol="gb28181",
        school=school,
    )
    school_case = send_alarm(button, clock)
    services.check_in(school, by=guard, **visitor(document_number=WATCHED_ID))
    hit_case = AlarmCase.objects.get(pk=WatchlistHit.objects.get().alarm_case_id)
    assert (
        hit_case.pk != school_case.pk and not AlarmCase.objects.get(pk=school_case.pk).police_only
    )
    assert school_case.event_count == 1


def test_a_watch_listed_plate_raises_a_hit_through_a_passage(entry, school, guard, clock):
    passage, hit = services.record_passage(school, by=guard, plate="鲁N 99999", direction="in")
    assert hit and passage.plate == "鲁N99999"
    assert WatchlistHit.objects.get().strength == "plate"
    again, _hit_again = services.record_passage(
        school, plate="鲁N99999", direction="in", source="camera", event_id="anpr-1"
    )
    same, _ = services.record_passage(
        school, plate="鲁N99999", direction="in", source="camera", event_id="anpr-1"
    )
    assert same == again  # a camera's retry is stored once
    with pytest.raises(services.GateError):
        services.record_passage(school, by=guard, plate="not a plate", direction="in")


def test_on_campus_roll_call(school, guard, clock):
    services.save_vehicle(school, by=guard, plate="鲁N12345", kind="staff", owner="校长")
    services.record_passage(school, by=guard, plate="鲁N12345", direction="in")
    services.check_in(school, by=guard, **visitor(vehicle_plate="鲁ND12345", party_size=3))
    services.check_in(
        school,
        by=guard,
        is_contractor=True,
        **visitor(document_number=WATCHED_ID, name="施工队"),
    )
    roll = services.on_campus(school)
    assert roll["people"] == 4 and len(roll["contractors"]) == 1
    assert roll["vehicles"] == ["鲁N12345", "鲁ND12345"]


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
        student,
        by=school_admin,
        name="小明妈妈",
        relation="mother",
        phone="13900000002",
        card_code="CARD-1",
    )
    return student, mother


def test_release_to_an_authorised_guardian(child, school, guard, clock):
    student, mother = child
    result = services.release(student, school, by=guard, person=mother)
    assert result.released and result.pickup.person == mother
    by_card = services.release(student, school, by=guard, card_code="card-1")
    assert by_card.released
    assert list(services.waiting_students(school)) == []


def test_an_unauthorised_person_is_refused_and_teacher_and_guardians_told(
    child, school, guard, clock, django_capture_on_commit_callbacks
):
    student, _mother = child
    result = services.release(student, school, by=guard, person_name="陌生人")
    assert result.pickup.outcome == Pickup.Outcome.REFUSED
    assert "Not an authorised pick-up person" in result.message
    notes = PickupNotification.objects.filter(pickup=result.pickup)
    assert {n.recipient for n in notes} == {"刘老师", "小***"}
    assert all("大一班" in n.message and "小明" not in n.message for n in notes)
    assert list(services.waiting_students(school)) == [student]


def test_an_unapproved_delegate_is_refused(child, school, guard, school_admin, clock):
    student, _mother = child
    uncle = services.add_pickup_person(
        student, by=None, name="舅舅", relation="delegate", approved=False
    )
    refused = services.release(student, school, by=guard, person=uncle)
    assert refused.pickup.reason == Pickup.Reason.NOT_APPROVED
    services.approve_pickup_person(uncle, by=school_admin)
    uncle.refresh_from_db()
    assert services.release(student, school, by=guard, person=uncle).released


def test_a_watch_listed_non_guardian_is_held_not_refused(child, entry, school, guard, clock):
    student, _mother = child
    result = services.release(
        student, school, by=guard, person_name="赵某某", document_number=WATCHED_ID
    )
    assert result.message == "请稍候，需核验"
    assert result.pickup.outcome == Pickup.Outcome.HELD
    hit = WatchlistHit.objects.get()
    assert hit.source == "pickup" and AlarmCase.objects.get(pk=hit.alarm_case_id).police_only


def test_pick_up_for_a_student_of_another_school_is_refused(
    child, other_school, other_guard, clock
):
    student, mother = child
    with pytest.raises(services.GateError, match="not at this school"):
        services.release(student, other_school, by=other_guard, person=mother)
    assert not Pickup.objects.exists()


def test_late_list_after_the_release_window(child, school, guard, clock, settings):
    settings.GATE_RELEASE_WINDOWS = [("16:30", "17:30")]
    student, _mother = child
    at_local(clock, 17)
    assert services.late_list(school) == []
    at_local(clock, 17, 31)
    assert services.late_list(school) == [student]


def test_figures_for_the_summary(child, entry, school, guard, clock):
    student, mother = child
    services.check_in(school, by=guard, **visitor())
    services.release(student, school, by=guard, person=mother)
    services.release(student, school, by=guard, person_name="陌生人")
    services.check_in(school, by=guard, **visitor(document_number=WATCHED_ID))
    assert services.today_figures() == {
        "visits_today": 2,
        "on_campus_now": 2,
        "pickups_today": 1,
        "refused_pickups_today": 1,
        "watchlist_hits_today": 1,
    }


def test_guard_role_may_not_write_students(school, guard):
    with pytest.raises(services.NotAllowed):
        services.save_student(school, by=guard, student_number="1", name="a", class_name="b")


def test_a_hits_case_is_on_the_police_big_screen_only(
    entry, school, guard, education, officer, command, client, clock
):
    """The big screen (page part and API) lists a hit's open case for the police; the
    education bureau's screen neither shows nor counts it."""
    from django.urls import reverse
    from rest_framework.test import APIClient

    from tests.factories import sign_in

    services.check_in(school, by=guard, **visitor(document_number=WATCHED_ID))
    case_id = WatchlistHit.objects.get().alarm_case_id
    for user, shown in ((officer, True), (command, True), (education, False)):
        sign_in(client, user)
        page = client.get(reverse("reports:big_screen_live")).json()["alarms"]
        api = APIClient()
        sign_in(api, user)
        answer = api.get("/api/v1/reports/big-screen/").json()["alarms"]
        for alarms in (page, answer):
            assert (case_id in [c["id"] for c in alarms["open"]]) is shown
            assert alarms["today"]["total"] == int(shown)
