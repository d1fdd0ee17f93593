"""Forwarding beyond the page (issue #20): the REST action, the live event a relay
publishes for the senders up the chain, the reminders to units that have not forwarded,
and a roll-up that counts a school reached by two paths once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.urls import reverse

from campus_safety import bus
from campus_safety.audit.models import AuditEntry
from campus_safety.linkage import notices
from campus_safety.linkage.models import Notice, NoticeRelay
from campus_safety.live import addressing
from campus_safety.live.models import LiveEvent
from tests.factories import sign_in
from tests.linkage import test_notice_chain
from tests.live import test_stream as live

pytestmark = pytest.mark.django_db

city = test_notice_chain.city  # a city bureau, two district bureaus, a station, 3 schools
send_down = test_notice_chain.send_down


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    def run(function: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


def forward_url(notice: Notice) -> str:
    return f"/api/v1/linkage/notices/{notice.pk}/forward/"


# --- the REST action -----------------------------------------------------------------------


def test_a_unit_forwards_through_the_api_once_audited(client, city, clock):
    users, units = city["users"], city["units"]
    root = send_down(city)
    sign_in(client, users["a"])
    shown = client.get(f"/api/v1/linkage/notices/{root.pk}/").json()
    assert shown["relay"]["organisation"] == units["a"].pk and shown["relay"]["forwarded"] is None
    earlier = (clock.now() + dt.timedelta(days=1)).isoformat()
    response = client.post(
        forward_url(root),
        {"note": "区教体局：请落实。", "units": [units["station"].pk], "confirm_by": earlier},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    child = Notice.objects.get(pk=response.json()["id"])
    assert response.json()["parent"] == root.pk and child.body.startswith("区教体局")
    assert child.confirm_by < root.confirm_by
    assert set(child.receipts.values_list("school__name", flat=True)) == {"德城一小", "德城二小"}
    assert NoticeRelay.objects.filter(notice=child, organisation=units["station"]).exists()
    relay = NoticeRelay.objects.get(notice=root, organisation=units["a"])
    assert relay.forwarded == child and relay.read_by == users["a"]
    entry = AuditEntry.objects.get(action="notice.forward")
    assert entry.detail["forwarded_as"] == child.pk
    # once: the second time is refused with its reason
    again = client.post(forward_url(root), {}, content_type="application/json")
    assert again.status_code == 400 and Notice.objects.filter(parent=root).count() == 1
    shown = client.get(f"/api/v1/linkage/notices/{root.pk}/").json()
    assert shown["relay"]["forwarded"] == child.pk


def test_the_forward_action_is_validated_and_scoped(client, city):
    users, units = city["users"], city["units"]
    root = send_down(city)
    # a unit the notice was not passed to (it cannot even see it): 404
    sign_in(client, users["station"])
    assert client.post(forward_url(root), {}, content_type="application/json").status_code == 404
    # the sender sees it but has no relay of its own: 403
    sign_in(client, users["city"])
    assert client.post(forward_url(root), {}, content_type="application/json").status_code == 403
    # district A may not pass it on to district B's bureau, nor send junk
    sign_in(client, users["a"])
    sideways = client.post(
        forward_url(root), {"units": [units["b"].pk]}, content_type="application/json"
    )
    assert sideways.status_code == 400 and "units" in sideways.json()
    junk = client.post(forward_url(root), {"units": ["x"]}, content_type="application/json")
    assert junk.status_code == 400
    too_long = client.post(forward_url(root), {"note": "长" * 1001}, "application/json")
    assert too_long.status_code == 400
    assert not Notice.objects.filter(parent=root).exists()
    # a school of the district, once it has its copy, cannot forward anything
    child = notices.forward(users["a"], root)
    sign_in(client, users["a1"])
    refused = client.post(forward_url(child), {}, content_type="application/json")
    assert refused.status_code == 403
    assert not AuditEntry.objects.filter(action="notice.forward", user=users["a1"]).exists()


def test_the_forward_action_is_in_the_openapi_schema(client, city):
    sign_in(client, city["users"]["city"])
    schema = client.get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200, schema.status_code
    paths = schema.json()["paths"]
    forward = paths["/api/v1/linkage/notices/{id}/forward/"]["post"]
    body = forward["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/LinkageForwardRequest"), body
    assert "201" in forward["responses"]
    remind = paths["/api/v1/linkage/notices/{id}/remind/"]["post"]["responses"]["200"]
    assert remind["content"]["application/json"]["schema"]["$ref"].endswith("/LinkageReminded")


# --- relays on the live stream ---------------------------------------------------------------


def test_a_relay_read_or_forwarded_is_addressed_to_the_senders_up_the_chain(city, committed):
    users, units = city["users"], city["units"]
    root = send_down(city)
    before = LiveEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    committed(notices.mark_relay_read, users["a"], root)
    committed(notices.mark_relay_read, users["a"], root)  # read already: no second event
    child = committed(notices.forward, users["a"], root, units=[units["station"].pk])
    committed(notices.forward, users["station"], child)
    rows = list(LiveEvent.objects.filter(pk__gt=before, name="notice.relay").order_by("pk"))
    assert [(r.payload["read"], r.payload["forwarded"]) for r in rows] == [
        (True, False),
        (True, True),
        (True, True),
    ]
    city_bureau = users["city"].organisation_id
    assert addressing.decode(rows[0].recipients) == {f"o{city_bureau}", f"u{users['city'].pk}"}
    # the station's step is news for the district (its sender) and the city (above it)
    station_step = rows[2]
    assert station_step.payload["notice_ids"] == [child.pk, root.pk]
    assert addressing.decode(station_step.recipients) == {
        f"o{city_bureau}",
        f"u{users['city'].pk}",
        f"o{units['a'].pk}",
        f"u{users['a'].pk}",
    }
    assert (station_step.region_code, station_step.police_station_id) == ("", None)


def test_the_senders_stream_hears_a_relay_and_a_sibling_unit_does_not(client, city, committed):
    users = city["users"]
    root = send_down(city)
    clients = {who: live.client_for(users[who]) for who in ("city", "b", "station")}

    async def scenario() -> None:
        streams = {who: await live.open_stream(c) for who, c in clients.items()}
        child = await sync_to_async(committed)(notices.forward, users["a"], root)
        heard = await streams["city"].event(lambda f: f["event"] == "notice.relay")
        assert heard["data"]["payload"]["notice_id"] == root.pk
        assert heard["data"]["payload"]["forwarded"] is True
        assert "recipients" not in heard["data"]
        # District B (a sibling unit) and the station never hear district A's step:
        # the first notice event on B's stream is the reminder addressed to B, and on
        # the station's a receipt of a school in its area (by scope, as before).
        await sync_to_async(committed)(notices.remind, root, users["city"])
        first_b = await streams["b"].event(lambda f: f["event"].startswith("notice."))
        assert first_b["event"] == "notice.reminder"
        await sync_to_async(committed)(notices.confirm, users["a1"], child, "")
        first_station = await streams["station"].event(lambda f: f["event"].startswith("notice."))
        assert first_station["event"] == "notice.receipt"
        assert first_station["data"]["payload"]["notice_ids"] == [child.pk, root.pk]
        for stream in streams.values():
            await stream.close()

    async_to_sync(scenario)()


def test_the_chain_panel_asks_for_relay_and_receipt_events(client, city):
    root = send_down(city)
    sign_in(client, city["users"]["city"])
    body = client.get(reverse("linkage:notice_detail", args=[root.pk])).content.decode()
    assert 'data-linkage-live="notice.relay notice.receipt"' in body
    assert f'data-notice-id="{root.pk}"' in body


# --- reminders to units ---------------------------------------------------------------------


def test_the_sweep_reminds_units_that_have_not_forwarded_once_before_the_deadline(
    city, clock, settings, django_capture_on_commit_callbacks
):
    settings.LINKAGE_NOTICE_REMINDER_HOURS = 24
    users, units = city["users"], city["units"]
    root = send_down(city, confirm_by=clock.now() + dt.timedelta(hours=48))
    child = notices.forward(users["a"], root)  # district A forwarded; B has not
    assert notices.remind_due(clock.now()) == 0  # not near yet
    clock.advance(hours=25)
    now = clock.now()
    heard: list[dict[str, Any]] = []
    unsubscribe = bus.subscribe("notice.reminder", lambda name, payload: heard.append(payload))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            # B (the root's unit) and A's two schools (its copy has the same deadline)
            assert notices.remind_due(now) == 3
            assert notices.remind_due(now) == 0  # once
    finally:
        unsubscribe()
    relay_b = NoticeRelay.objects.get(notice=root, organisation=units["b"])
    relay_a = NoticeRelay.objects.get(notice=root, organisation=units["a"])
    assert (relay_b.reminders, relay_b.reminded_at) == (1, now)
    assert relay_a.reminders == 0  # forwarded: nothing to remind
    by_notice = {p["notice_id"]: p for p in heard}
    assert by_notice[root.pk]["unit_ids"] == [units["b"].pk]
    assert by_notice[root.pk]["school_ids"] == []
    assert sorted(by_notice[child.pk]["school_ids"]) == sorted(
        s.pk for s in (city["schools"]["a1"], city["schools"]["a2"])
    )
    row = LiveEvent.objects.filter(name="notice.reminder", payload__notice_id=root.pk).get()
    assert addressing.decode(row.recipients) == {f"o{units['b'].pk}"}
    entry = AuditEntry.objects.filter(action="notice.remind").order_by("pk").first()
    assert entry.detail == {"schools": 0, "units": 1}


def test_a_unit_only_notice_without_a_deadline_is_not_swept(city, clock):
    send_down(city, confirm_by=None)
    clock.advance(days=30)
    assert notices.remind_due(clock.now()) == 0


def test_the_sender_reminds_units_by_hand_and_the_unit_sees_it(client, city):
    users, units = city["users"], city["units"]
    root = send_down(city)
    notices.forward(users["a"], root)
    sign_in(client, users["city"])
    page = client.get(reverse("linkage:notice_detail", args=[root.pk]))
    assert 'id="remind-units"' in page.content.decode()
    done = client.post(reverse("linkage:notice_remind", args=[root.pk]), follow=True)
    assert "1" in done.content.decode() and done.status_code == 200
    assert NoticeRelay.objects.get(notice=root, organisation=units["b"]).reminders == 1
    api = client.post(f"/api/v1/linkage/notices/{root.pk}/remind/").json()
    assert api == {"reminded": 1, "schools": 0, "units": 1}
    # the chain row and the unit's own page say so
    page = client.get(reverse("linkage:notice_detail", args=[root.pk]))
    rows = {n.relay.organisation.name: n for _d, n in page.context["chain_rows"]}
    assert rows["陵城区教体局"].relay.reminders == 2
    sign_in(client, users["b"])
    own = client.get(reverse("linkage:notice_detail", args=[root.pk]))
    assert 'id="relay-reminded"' in own.content.decode()
    assert not own.context.get("may_remind") and not own.context.get("may_remind_units")
    # a unit the notice was passed to cannot remind its sibling units (page or API)
    assert client.post(f"/api/v1/linkage/notices/{root.pk}/remind/").status_code == 403
    assert client.post(reverse("linkage:notice_remind", args=[root.pk])).status_code == 403
    assert NoticeRelay.objects.get(notice=root, organisation=units["b"]).reminders == 2


# --- the roll-up counts a school once ---------------------------------------------------------


def test_a_school_reached_by_two_paths_counts_once_at_every_level(city):
    users, units, schools = city["users"], city["units"], city["schools"]
    root = send_down(city)
    district = notices.forward(users["a"], root, units=[units["station"].pk])
    station = notices.forward(users["station"], district)
    # a1 confirms the district's copy; a2 only reads the station's copy
    notices.confirm(users["a1"], district, "")
    notices.mark_read(users["a2"], station)
    tree = notices.chain(root)
    assert (tree.total["total"], tree.total["read"], tree.total["confirmed"]) == (2, 2, 1)
    assert (tree.unread, tree.unconfirmed) == (0, 1)
    a_node = next(c for c in tree.children if c.relay.organisation_id == units["a"].pk)
    assert (a_node.total["total"], a_node.total["read"], a_node.total["confirmed"]) == (2, 2, 1)
    station_node = a_node.children[0]
    # the station's own level: its own copies, a2 read, none confirmed
    assert (station_node.total["total"], station_node.total["read"]) == (2, 1)
    assert station_node.total["confirmed"] == 0
    # a1 also confirms the station's copy: still one school confirmed, not two
    notices.confirm(users["a1"], station, "")
    again = notices.chain(root)
    assert (again.total["total"], again.total["confirmed"]) == (2, 1)
    # district B forwards to b1: three schools in all
    notices.forward(users["b"], root)
    final = notices.chain(root)
    assert final.total["total"] == 3 and final.total["units"] == 3
    assert schools["b1"].pk in set(
        Notice.objects.filter(parent=root).values_list("receipts__school_id", flat=True)
    )


def test_the_api_chain_counts_a_school_once(client, city):
    users, units = city["users"], city["units"]
    root = send_down(city)
    district = notices.forward(users["a"], root, units=[units["station"].pk])
    notices.forward(users["station"], district)
    sign_in(client, users["city"])
    chain = client.get(f"/api/v1/linkage/notices/{root.pk}/").json()["chain"]
    assert chain["schools"] == 2 and chain["units"] == 3
    assert chain["children"][0]["schools"] == 2
