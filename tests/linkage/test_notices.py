"""Notices: targets, read and confirm receipts per school, reminders (by hand and before
the deadline), safety warnings on the school's banner."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campus_safety import bus
from campus_safety.linkage import notices
from campus_safety.linkage.models import Notice, NoticeReceipt
from campus_safety.linkage.services import NotAllowed
from campus_safety.orgs.models import School
from tests.factories import SchoolFactory, sign_in
from tests.linkage.support import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


def send(world, by=None, **overrides):
    fields = {
        "title": "关于开展防溺水专项检查的通知",
        "body": "请各校于周五前完成自查并确认。",
        "target": {"regions": [world.county.code]},
        "confirm_by": world_now() + dt.timedelta(days=3),
    }
    fields.update(overrides)
    return notices.send_notice(by or world.bureau_staff, **fields)


def world_now():
    from campus_safety import clock

    return clock.now()


def test_a_notice_reaches_every_school_of_its_target_in_the_senders_scope(world):
    SchoolFactory()  # another county: outside the bureau's scope
    notice = send(world)
    assert set(notice.receipts.values_list("school_id", flat=True)) == {
        world.school.pk,
        world.other_school.pk,
    }


def test_targets_by_station_kind_and_list(world):
    by_station = send(world, by=world.officer, target={"stations": [world.station.pk]})
    assert list(by_station.receipts.values_list("school_id", flat=True)) == [world.school.pk]
    kg = SchoolFactory(region=world.county, kind=School.Kind.KINDERGARTEN)
    by_kind = send(world, target={"kinds": ["kindergarten"]})
    assert list(by_kind.receipts.values_list("school_id", flat=True)) == [kg.pk]
    listed = send(world, target={"schools": [world.other_school.pk]})
    assert list(listed.receipts.values_list("school_id", flat=True)) == [world.other_school.pk]


def test_schools_do_not_send_and_targets_must_match(world):
    with pytest.raises(NotAllowed):
        send(world, by=world.contact)
    with pytest.raises(ValidationError):
        send(world, target={})
    with pytest.raises(ValidationError):
        send(world, target={"schools": [SchoolFactory().pk]})  # outside the scope


def test_read_and_confirm_receipts_and_who_has_not(client, world):
    notice = send(world)
    sign_in(client, world.contact)
    assert client.get(reverse("linkage:notice_detail", args=[notice.pk])).status_code == 200
    receipt = NoticeReceipt.objects.get(notice=notice, school=world.school)
    assert receipt.read_at is not None and receipt.confirmed_at is None
    response = client.post(reverse("linkage:notice_detail", args=[notice.pk]), {"reply": "已收到"})
    assert response.status_code == 302
    receipt.refresh_from_db()
    assert receipt.confirmed_by_id == world.contact.pk and receipt.reply == "已收到"
    client.logout()
    sign_in(client, world.bureau_staff)
    page = client.get(reverse("linkage:notice_detail", args=[notice.pk])).content.decode()
    assert world.other_school.name in page
    assert 'id="pending-count">1<' in page


def test_a_school_sees_only_its_own_copy(client, world):
    notice = send(world, target={"schools": [world.other_school.pk]})
    sign_in(client, world.contact)
    assert client.get(reverse("linkage:notice_detail", args=[notice.pk])).status_code == 404
    with pytest.raises(NotAllowed):
        notices.confirm(world.contact, notice)


def test_a_reminder_goes_to_the_schools_that_have_not_confirmed(
    world, django_capture_on_commit_callbacks
):
    notice = send(world)
    notices.confirm(world.contact, notice)
    heard = []
    unsubscribe = bus.subscribe("notice.reminder", lambda name, payload: heard.append(payload))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert notices.remind(notice, world.bureau_staff) == notices.Reminded(schools=1)
    finally:
        unsubscribe()
    assert heard and heard[0]["school_ids"] == [world.other_school.pk]
    other = NoticeReceipt.objects.get(notice=notice, school=world.other_school)
    assert other.reminders == 1


def test_the_sweep_reminds_once_when_the_deadline_is_near(world, clock, settings):
    settings.LINKAGE_NOTICE_REMINDER_HOURS = 24
    notice = send(world, confirm_by=clock.now() + dt.timedelta(hours=48))
    assert notices.remind_due(clock.now()) == 0
    clock.advance(hours=25)
    assert notices.remind_due(clock.now()) == 2
    assert notices.remind_due(clock.now()) == 0
    assert set(notice.receipts.values_list("reminders", flat=True)) == {1}


def test_a_safety_warning_shows_on_the_schools_banner(client, world):
    notice = send(world, kind=Notice.Kind.WARNING, title="暴雨红色预警：今日停止户外活动")
    sign_in(client, world.contact)
    banner = client.get(reverse("linkage:warning_banner")).content.decode()
    assert notice.title in banner
    client.logout()
    sign_in(client, world.officer)
    assert notice.title not in client.get(reverse("linkage:warning_banner")).content.decode()


def test_the_banner_is_kept_by_the_browser_for_one_poll_interval(client, world):
    sign_in(client, world.contact)
    response = client.get(reverse("linkage:warning_banner"))
    assert "private" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
    assert "Cookie" in response.get("Vary", "")
