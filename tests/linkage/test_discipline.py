"""训诫教育 scope rules (issue #20 item 2): who sees a record, reading with a reason,
sealing after the follow-up period and the two-person unseal."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse

from campus_safety.audit.models import AuditEntry
from campus_safety.linkage import discipline
from campus_safety.linkage.models import DisciplineRecord
from campus_safety.linkage.services import NotAllowed
from tests.factories import sign_in
from tests.linkage.support import make_world, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


def visible(user):
    return set(DisciplineRecord.objects.visible_to(user).values_list("pk", flat=True))


@pytest.mark.parametrize("who", ["officer", "officer2", "room_officer", "contact"])
def test_the_people_a_record_is_for_see_it(world, who):
    rec = record(world)
    assert visible(getattr(world, who)) == {rec.pk}


@pytest.mark.parametrize(
    "who",
    ["other_officer", "dispatcher", "teacher", "other_contact", "bureau_staff", "guard", "admin"],
)
def test_everyone_else_sees_nothing(world, who):
    record(world)
    assert visible(getattr(world, who)) == set()


@pytest.mark.parametrize(
    "who", ["other_officer", "dispatcher", "teacher", "bureau_staff", "guard", "admin"]
)
def test_pages_and_api_answer_404_or_403_to_everyone_else(client, world, who):
    rec = record(world)
    sign_in(client, getattr(world, who))
    detail = client.get(reverse("linkage:discipline_detail", args=[rec.pk]), {"reason": "核查情况"})
    assert detail.status_code in {403, 404}
    listing = client.get(reverse("linkage:discipline"))
    assert listing.status_code == 403 or rec.reference not in listing.content.decode()
    api = client.get(f"/api/v1/linkage/discipline/{rec.pk}/", {"reason": "核查情况"})
    assert api.status_code in {403, 404}
    assert "张" not in api.content.decode()


def test_a_read_needs_a_reason_and_is_audited_with_it(client, world):
    rec = record(world)
    sign_in(client, world.contact)
    url = reverse("linkage:discipline_detail", args=[rec.pk])
    asking = client.get(url)
    assert asking.status_code == 200 and "张小明" not in asking.content.decode()
    assert not AuditEntry.objects.filter(action="discipline.read").exists()
    shown = client.get(url, {"reason": "回访前了解情况"})
    assert "张小明" in shown.content.decode()
    entry = AuditEntry.objects.get(action="discipline.read")
    assert entry.user_id == world.contact.pk and entry.detail["reason"] == "回访前了解情况"
    with pytest.raises(ValidationError):
        discipline.read_record(world.officer, rec.pk, "")


def test_the_list_shows_masked_names_and_is_audited(client, world):
    record(world)
    sign_in(client, world.officer)
    page = client.get(reverse("linkage:discipline")).content.decode()
    assert "张**" in page and "张小明" not in page
    assert AuditEntry.objects.filter(action="discipline.list", user_id=world.officer.pk).exists()


def test_the_export_is_watermarked_with_the_reader(client, world):
    import io

    from openpyxl import load_workbook

    record(world)
    sign_in(client, world.officer)
    response = client.get(reverse("linkage:discipline"), {"export": "xlsx"})
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.active
    assert world.officer.username in sheet["A1"].value
    assert world.officer.username in sheet.oddHeader.center.text
    assert "张小明" not in str([c.value for row in sheet.iter_rows() for c in row])
    assert AuditEntry.objects.filter(action="discipline.export").exists()


def test_the_school_contact_cannot_export(client, world):
    record(world)
    sign_in(client, world.contact)
    assert client.get(reverse("linkage:discipline"), {"export": "xlsx"}).status_code == 403


def test_only_police_of_the_school_record_discipline(world):
    with pytest.raises(NotAllowed):
        discipline.record_discipline(world.other_officer, **_fields(world))
    with pytest.raises(NotAllowed):
        discipline.record_discipline(world.contact, **_fields(world))
    with pytest.raises(NotAllowed):
        discipline.record_discipline(world.bureau_staff, **_fields(world))
    # The police-room officer (of another station) records for the school's station.
    rec = discipline.record_discipline(world.room_officer, **_fields(world))
    assert rec.station_id == world.station.pk


def test_the_contact_must_be_of_the_school(world):
    with pytest.raises(ValidationError):
        record(world, designated_contact=world.other_contact)


def test_the_name_is_encrypted_at_rest(world):
    from django.db import connection

    rec = record(world)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT student_name, facts FROM linkage_disciplinerecord WHERE id = %s", [rec.pk]
        )
        name, facts = cursor.fetchone()
    assert "张小明" not in name and name.startswith("enc1:")
    assert "推搡" not in facts


def _fields(world):
    import datetime as dt

    from django.utils import timezone

    from campus_safety import clock

    return {
        "school": world.school,
        "student_name": "李四",
        "class_name": "六年级一班",
        "age": 12,
        "level": "serious",
        "behaviour": "violence",
        "facts": "虚构",
        "occurred_on": timezone.localdate(clock.now()) - dt.timedelta(days=1),
        "guardian": "informed",
        "measures": ["reprimand"],
        "designated_contact": world.contact,
    }


# --- sealing and the two-person unseal ---------------------------------------------------------


def test_records_are_sealed_after_the_follow_up_period(world, clock, settings):
    settings.LINKAGE_DISCIPLINE_SEAL_DAYS = 30
    rec = record(world, follow_up_dates=[])
    clock.advance(days=30)
    assert discipline.seal_due(clock.now()) == 0
    clock.advance(days=1)
    assert discipline.seal_due(clock.now()) == 1
    for who in ("officer", "officer2", "room_officer", "contact"):
        assert visible(getattr(world, who)) == set(), who
    with pytest.raises(Http404):
        discipline.read_record(world.officer, rec.pk, "核查旧案")


def test_a_sealed_record_opens_only_after_a_second_officer_approves(world, clock):
    rec = record(world)
    DisciplineRecord.objects.filter(pk=rec.pk).update(sealed_at=clock.now())
    found = discipline.search_sealed(world.officer, student_name="张小明", reason="办理案件需要")
    assert [r.pk for r in found] == [rec.pk]
    assert AuditEntry.objects.filter(action="discipline.search_sealed").exists()
    request = discipline.request_unseal(world.officer, rec, "办理案件需要")
    with pytest.raises(Http404):
        discipline.read_record(world.officer, rec.pk, "办理案件需要")
    with pytest.raises(NotAllowed):
        discipline.approve_unseal(world.officer, request)  # not the same person
    with pytest.raises(NotAllowed):
        discipline.approve_unseal(world.other_officer, request)  # not another station
    discipline.approve_unseal(world.officer2, request)
    assert discipline.read_record(world.officer, rec.pk, "办理案件需要").pk == rec.pk
    # Only the requester, and only for a while.
    with pytest.raises(Http404):
        discipline.read_record(world.officer2, rec.pk, "顺便看看")
    clock.advance(hours=25)
    with pytest.raises(Http404):
        discipline.read_record(world.officer, rec.pk, "办理案件需要")


def test_sealed_search_needs_police_a_station_and_a_reason(world):
    rec = record(world)
    DisciplineRecord.objects.filter(pk=rec.pk).update(sealed_at=rec.created_at)
    with pytest.raises(NotAllowed):
        discipline.search_sealed(world.contact, student_name="张小明", reason="了解情况")
    with pytest.raises(NotAllowed):
        discipline.search_sealed(world.dispatcher, student_name="张小明", reason="了解情况")
    with pytest.raises(ValidationError):
        discipline.search_sealed(world.officer, student_name="张小明", reason="")
    assert (
        discipline.search_sealed(world.other_officer, student_name="张小明", reason="了解情况")
        == []
    )


def test_follow_up_recorded_by_an_officer_of_the_record(world):
    rec = record(world)
    follow_up = rec.follow_ups.get()
    with pytest.raises(NotAllowed):
        discipline.record_follow_up(world.other_officer, follow_up, "已回访")
    discipline.record_follow_up(world.room_officer, follow_up, "已回访，表现良好")
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None
    assert discipline.open_follow_ups(DisciplineRecord.objects.all()) == 0


def test_statistics_carry_no_names(world):
    record(world)
    stats = discipline.statistics(discipline.statistics_scope(world.dispatcher))
    assert stats["total"] == 1
    assert "张" not in repr(stats)
    assert discipline.statistics_scope(world.bureau_staff).count() == 0
    assert dt.date  # the term split is tested in test_drills


def test_the_guardian_notice_is_printed_by_police_with_a_reason(client, world):
    rec = record(world)
    url = reverse("linkage:guardian_notice", args=[rec.pk])
    sign_in(client, world.contact)
    assert client.get(url, {"reason": "打印"}).status_code == 403
    sign_in(client, world.other_officer)
    assert client.get(url, {"reason": "打印告知书"}).status_code == 404
    sign_in(client, world.officer)
    assert "张小明" not in client.get(url).content.decode()  # asks for the reason first
    page = client.get(url, {"reason": "送达监护人"}).content.decode()
    assert "张小明" in page and "推搡" not in page
    entry = AuditEntry.objects.filter(action="discipline.read").latest("pk")
    assert "送达监护人" in entry.detail["reason"]


def test_the_sealed_pages_search_ask_and_approve(client, world, clock):
    rec = record(world)
    DisciplineRecord.objects.filter(pk=rec.pk).update(sealed_at=clock.now())
    sign_in(client, world.officer)
    found = client.post(
        reverse("linkage:sealed"), {"student_name": "张小明", "reason": "办理案件需要"}
    )
    assert found.status_code == 200 and rec.reference in found.content.decode()
    asked = client.post(
        reverse("linkage:unseal_request", args=[rec.pk]), {"reason": "办理案件需要"}
    )
    assert asked.status_code == 302
    request = rec.unseal_requests.get()
    assert client.post(reverse("linkage:unseal_approve", args=[request.pk])).status_code == 404
    sign_in(client, world.officer2)
    assert client.post(reverse("linkage:unseal_approve", args=[request.pk])).status_code == 302
    sign_in(client, world.officer)
    page = client.get(
        reverse("linkage:discipline_detail", args=[rec.pk]), {"reason": "办理案件需要"}
    )
    assert page.status_code == 200 and "张小明" in page.content.decode()
