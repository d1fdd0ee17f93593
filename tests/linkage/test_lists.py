"""Every linkage list pages with the shared pager (50 a page), and a register exports
the whole filtered list as .xlsx — personal data masked, the export audited, refused to
a role that may not export."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campus_safety import clock
from campus_safety.audit.models import AuditEntry
from campus_safety.linkage import notices, services
from campus_safety.linkage.models import Drill, DutyLog, Lecture, PoliceRoom
from campus_safety.orgs.models import School
from tests.factories import SchoolFactory, sign_in
from tests.linkage.support import make_world, record

pytestmark = pytest.mark.django_db

MORE = 58  # with the world's two schools: 60 → pages of 50 and 10


@pytest.fixture
def world():
    w = make_world()
    School.objects.bulk_create(
        SchoolFactory.build(
            region=w.county,
            police_station=w.station,
            code=f"37140299{i:02d}",
            name=f"分页{i:02d}校",
        )
        for i in range(MORE)
    )
    return w


def rows_of(response) -> list[list]:
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(r) for r in book.active.iter_rows(values_only=True)]


def body(response) -> str:
    return response.content.decode()


def test_police_rooms_page_and_export_masks_the_phone(client, world):
    PoliceRoom.objects.filter(school=world.school).update(phone="13912345678")
    sign_in(client, world.officer)
    url = reverse("linkage:rooms")
    first, second = client.get(url), client.get(url, {"page": 2})
    assert first.status_code == second.status_code == 200
    # the station's schools: the world's first and the 58 added (the other is another's)
    assert len(first.context["rows"]) == 50 and len(second.context["rows"]) == 9
    assert "第 2 / 2 页" in body(second) and 'aria-current="page">2<' in body(second)
    assert {s.pk for s, _ in first.context["rows"]}.isdisjoint(
        {s.pk for s, _ in second.context["rows"]}
    )
    without = client.get(url, {"without": "1"})
    assert without.context["paged"].page.paginator.count == 58
    export = client.get(url, {"export": "xlsx"})
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = rows_of(export)
    assert len(rows) == 60  # header + every school, not the page
    room_row = next(r for r in rows if r[0] == world.school.name)
    assert room_row[6] != "13912345678" and room_row[6].startswith("139")
    entry = AuditEntry.objects.get(action="export.police_rooms")
    assert entry.detail["rows"] == 59


def test_a_school_user_may_not_export_police_rooms(client, world):
    sign_in(client, world.contact)
    assert client.get(reverse("linkage:rooms"), {"export": "xlsx"}).status_code == 403
    assert not AuditEntry.objects.filter(action="export.police_rooms").exists()


def test_duty_log_pages_and_exports(client, world):
    room = PoliceRoom.objects.get(school=world.school)
    now = clock.now()
    DutyLog.objects.bulk_create(
        DutyLog(
            room=room,
            officer=world.officer,
            at=now - dt.timedelta(hours=i),
            kind="visit",
            notes=f"走访{i}",
        )
        for i in range(55)
    )
    sign_in(client, world.officer)
    url = reverse("linkage:room_detail", args=[world.school.pk])
    second = client.get(url, {"page": 2})
    assert len(second.context["logs"]) == 5
    assert "走访54" in body(second) and "走访0<" not in body(second)
    rows = rows_of(client.get(url, {"export": "xlsx"}))
    assert len(rows) == 56
    assert AuditEntry.objects.filter(action="export.duty_log").exists()


def test_drill_board_pages_and_exports_with_its_filter(client, world):
    now = clock.now()
    Drill.objects.bulk_create(
        Drill(school=world.school, kind="fire", held_at=now - dt.timedelta(days=i, hours=1))
        for i in range(52)
    )
    sign_in(client, world.bureau_staff)
    url = reverse("linkage:drills")
    first = client.get(url)
    assert len(first.context["rows"]) == 50 and len(first.context["recent"]) == 50
    second = client.get(url, {"page": 2})
    assert len(second.context["rows"]) == 10
    # the drills held page on their own parameter; the board stays on its page
    held = client.get(url, {"page": 2, "drills": 2})
    assert len(held.context["recent"]) == 2 and len(held.context["rows"]) == 10
    rows = rows_of(client.get(url, {"export": "xlsx"}))
    assert len(rows) == 61
    status = first.context["rows"][0]["status"]
    filtered = rows_of(client.get(url, {"export": "xlsx", "status": status}))
    assert 1 < len(filtered) <= 61
    assert AuditEntry.objects.filter(action="export.drill_board").count() == 2


def test_notices_and_receipts_page_filter_and_export(client, world):
    notice = notices.send_notice(
        world.bureau_staff,
        title="防溺水通知",
        body="请确认",
        target={"regions": [world.county.code]},
        confirm_by=clock.now() + dt.timedelta(days=2),
    )
    for i in range(51):
        notices.send_notice(
            world.bureau_staff, title=f"通知{i}", body="正文", target={"schools": [world.school.pk]}
        )
    sign_in(client, world.other_contact)
    client.get(reverse("linkage:notice_detail", args=[notice.pk]))  # marks it read
    sign_in(client, world.bureau_staff)
    listing = client.get(reverse("linkage:notices"), {"page": 2})
    assert len(listing.context["rows"]) == 2
    url = reverse("linkage:notice_detail", args=[notice.pk])
    detail = client.get(url)
    assert detail.context["totals"] == {"total": 60, "unread": 59, "pending": 60}
    assert len(detail.context["receipts"]) == 50
    assert len(client.get(url, {"page": 2}).context["receipts"]) == 10
    unread = client.get(url, {"show": "unread", "page": 2})
    assert len(unread.context["receipts"]) == 9
    assert world.other_school.name not in {r.school.name for r in unread.context["receipts"]}
    rows = rows_of(client.get(url, {"export": "xlsx", "show": "unread"}))
    assert len(rows) == 60 and world.other_school.name not in [r[0] for r in rows]
    assert AuditEntry.objects.filter(action="export.notice_receipts").exists()


def test_lectures_page_and_export(client, world):
    today = timezone.localdate(clock.now())
    Lecture.objects.bulk_create(
        Lecture(
            school=world.school,
            lecturer=f"讲师{i}",
            held_on=today - dt.timedelta(days=i),
            topic="traffic",
            audience=100,
        )
        for i in range(53)
    )
    sign_in(client, world.officer)
    url = reverse("linkage:lectures")
    assert len(client.get(url, {"page": 2}).context["rows"]) == 3
    assert len(rows_of(client.get(url, {"export": "xlsx"}))) == 54


def test_discipline_records_page_and_the_export_holds_them_all(client, world):
    for i in range(51):
        record(world, student_name=f"学生{i:02d}")
    sign_in(client, world.officer)
    url = reverse("linkage:discipline")
    first, second = client.get(url), client.get(url, {"page": 2})
    assert len(first.context["rows"]) == 50 and len(second.context["rows"]) == 1
    page_names = {row["masked"] for row in second.context["rows"]}
    assert page_names == {"学***"} and "学生00" not in body(second)
    lists = AuditEntry.objects.filter(action="discipline.list").order_by("pk")
    assert [e.detail["rows"] for e in lists] == [50, 1]
    rows = rows_of(client.get(url, {"export": "xlsx"}))
    assert len(rows) == 2 + 51  # the watermark line, the header, every record
    assert AuditEntry.objects.get(action="discipline.export").detail["rows"] == 51


def test_the_school_picker_pages_and_finds(client, world):
    sign_in(client, world.officer)
    url = reverse("linkage:discipline_new")
    assert len(client.get(url, {"page": 2}).context["schools"]) > 0
    found = client.get(url, {"q": "分页07"})
    assert [s.name for s in found.context["schools"]] == ["分页07校"]


def test_drills_are_recorded_through_the_service_still(world):
    # the board's paging does not change what a recorded drill counts for
    services.record_drill(
        world.contact, world.school, kind="fire", held_at=clock.now() - dt.timedelta(hours=1)
    )
    rows = services.drill_compliance(School.objects.filter(pk=world.school.pk))
    assert rows[0]["drills"] == 1
