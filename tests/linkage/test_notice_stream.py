"""Notices on the live stream: a send is one notice.published addressed to its schools
(live/addressing.py) — it reaches those schools' streams and no other, not another
school's, not the bureau's above them, however many schools (a city-wide warning too) —
so their warning banner refreshes without waiting for a poll; a receipt (notice.receipt)
reaches the sender's side."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.urls import reverse

from campus_safety import bus, clock
from campus_safety.linkage import notices
from campus_safety.linkage.models import Notice
from campus_safety.live import addressing
from campus_safety.live.models import LiveEvent
from tests.factories import SchoolFactory, UserFactory, sign_in
from tests.linkage.support import make_world
from tests.live import test_stream as live

pytestmark = pytest.mark.django_db

STREAM = "/live/stream"


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a sending or confirming service as a committed request would."""

    def run(function: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


def warn(world, schools, title="暴雨红色预警") -> Notice:
    return notices.send_notice(
        world.bureau_staff,
        title=title,
        body="今日午后有强降雨，请做好防范。",
        target={"schools": [s.pk for s in schools]},
        kind=Notice.Kind.WARNING,
    )


def notice_id(frame: dict[str, Any]) -> int:
    return frame["data"]["payload"]["notice_id"]


def test_a_schools_copy_reaches_that_school_only_and_a_receipt_reaches_the_sender(world, committed):
    recipient = live.client_for(world.contact)
    other_school = live.client_for(world.other_contact)
    bureau = live.client_for(world.bureau_staff)

    async def scenario() -> None:
        streams = {
            "recipient": await live.open_stream(recipient),
            "other_school": await live.open_stream(other_school),
            "bureau": await live.open_stream(bureau),
        }
        first = await sync_to_async(committed)(warn, world, [world.school])
        heard = await streams["recipient"].event(lambda f: f["event"].startswith("notice."))
        assert heard["event"] == "notice.published" and notice_id(heard) == first.pk
        assert heard["data"]["payload"]["kind"] == "warning"
        assert heard["data"]["payload"]["schools"] == 1
        # Then a notice for the other school: its stream's first notice event is that
        # one — the first (not addressed to it) was never offered (queues keep order).
        second = await sync_to_async(committed)(warn, world, [world.other_school], "大风预警")
        other = await streams["other_school"].event(lambda f: f["event"].startswith("notice."))
        assert notice_id(other) == second.pk
        # The bureau sees neither school's copy, only the receipt when the school reads.
        await sync_to_async(committed)(notices.confirm, world.contact, first, "已收到")
        receipt = await streams["bureau"].event(lambda f: f["event"].startswith("notice."))
        assert receipt["event"] == "notice.receipt" and notice_id(receipt) == first.pk
        assert receipt["data"]["payload"]["confirmed"] is True
        for stream in streams.values():
            await stream.close()

    async_to_sync(scenario)()
    rows = LiveEvent.objects.filter(name="notice.published")
    assert rows.count() == 2
    assert {(r.school_id, r.region_code, r.police_station_id) for r in rows} == {(None, "", None)}


def test_a_reconnecting_school_replays_its_own_copies_only(world, committed):
    before = LiveEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    mine = committed(warn, world, [world.school])
    committed(warn, world, [world.other_school], "他校预警")

    def replay(user) -> list[dict[str, Any]]:
        client = live.client_for(user)

        async def scenario() -> list[dict[str, Any]]:
            reader = await live.open_stream(client, f"{STREAM}?once=1&since={before}")
            return await reader.rest()

        return [f for f in async_to_sync(scenario)() if f["event"] == "notice.published"]

    assert [notice_id(f) for f in replay(world.contact)] == [mine.pk]
    assert [notice_id(f) for f in replay(world.bureau_staff)] == []
    assert [notice_id(f) for f in replay(world.officer)] == []


def test_the_banner_shows_the_warning_the_event_announced(client, world, committed):
    notice = committed(warn, world, [world.school])
    sign_in(client, world.contact)
    banner = client.get(reverse("linkage:warning_banner"), {"v": 1})
    assert notice.title in banner.content.decode()
    sign_in(client, world.other_contact)
    assert notice.title not in client.get(reverse("linkage:warning_banner")).content.decode()


def test_a_warning_is_one_event_for_all_its_schools_and_nothing_else(
    world, committed, django_capture_on_commit_callbacks
):
    """The double publication is gone: a warning sends one notice.published (kind
    warning), no notice.warning and no event per school, however many schools."""
    extra = [SchoolFactory(region=world.county, police_station=world.station) for _ in range(40)]
    every = [world.school, world.other_school, *extra]
    heard: list[tuple[str, dict[str, Any]]] = []
    unsubscribe = bus.subscribe("*", lambda name, payload: heard.append((name, payload)))
    before = LiveEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        notice = committed(warn, world, every)
    finally:
        unsubscribe()
    notice_events = [(n, p) for n, p in heard if n.startswith("notice.")]
    assert [n for n, _p in notice_events] == ["notice.published"]
    payload = notice_events[0][1]
    assert payload["kind"] == "warning" and payload["schools"] == len(every)
    assert sorted(payload["recipients"]["schools"]) == sorted(s.pk for s in every)
    row = LiveEvent.objects.get(pk__gt=before, name="notice.published")
    assert row.payload == {
        "notice_id": notice.pk,
        "kind": "warning",
        "title": notice.title,
        "schools": len(every),
    }
    assert len(addressing.decode(row.recipients)) == len(every)


def test_a_city_wide_warning_reaches_every_schools_stream_as_one_event(world, committed):
    """Past the old 300-school cut-off: every addressed school hears it live, once."""
    extra = [SchoolFactory(region=world.county, police_station=world.station) for _ in range(301)]
    last = extra[-1]
    last_user = UserFactory(username="last-school", role="school_admin", school=last)
    clients = {
        "first": live.client_for(world.contact),
        "last": live.client_for(last_user),
        "officer": live.client_for(world.officer),
    }

    async def scenario() -> None:
        streams = {n: await live.open_stream(c) for n, c in clients.items()}
        notice = await sync_to_async(committed)(warn, world, [world.school, *extra])
        for name in ("first", "last"):
            heard = await streams[name].event(lambda f: f["event"].startswith("notice."))
            assert heard["event"] == "notice.published" and notice_id(heard) == notice.pk
        # the officer's station covers those schools, but the copy was not addressed to
        # it: its first notice event is the receipt when a school confirms
        await sync_to_async(committed)(notices.confirm, world.contact, notice, "")
        receipt = await streams["officer"].event(lambda f: f["event"].startswith("notice."))
        assert receipt["event"] == "notice.receipt"
        for stream in streams.values():
            await stream.close()

    async_to_sync(scenario)()
    assert LiveEvent.objects.filter(name="notice.published").count() == 1


def test_reading_a_notice_publishes_one_receipt_event(client, world, committed):
    notice = committed(
        notices.send_notice,
        world.bureau_staff,
        title="通知",
        body="正文",
        target={"schools": [world.school.pk]},
        confirm_by=clock.now() + dt.timedelta(days=1),
    )
    sign_in(client, world.contact)
    client.get(reverse("linkage:notice_detail", args=[notice.pk]))
    client.get(reverse("linkage:notice_detail", args=[notice.pk]))  # read already
    receipts = LiveEvent.objects.filter(name="notice.receipt")
    assert receipts.count() == 1
    row = receipts.get()
    assert row.school_id == world.school.pk and row.region_code == world.county.code
    assert row.payload == {
        "school_id": world.school.pk,
        "notice_id": notice.pk,
        "notice_ids": [notice.pk],
        "read": True,
        "confirmed": False,
    }
