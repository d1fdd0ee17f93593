"""Live events addressed to a list (live/addressing.py): one event for many schools,
units or users reaches exactly those streams — live, in a replay, after a Redis hop or
the catch-up — and nobody whose scope merely covers them; the list never reaches a
browser."""

from __future__ import annotations

import collections
import json
from dataclasses import asdict
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction

from campus_safety import bus, clock
from campus_safety.live import addressing, catch_up, fanout
from campus_safety.live.models import LiveEvent
from campus_safety.orgs.models import Organisation
from tests.factories import OrganisationFactory, SchoolFactory, UserFactory
from tests.live import test_stream
from tests.live.test_stream import STREAM, client_for, open_stream

pytestmark = pytest.mark.django_db

city_map = test_stream.city_map  # the same two districts as the scope tests


def publish(run_on_commit_capture: Any, marker: str, **payload: Any) -> None:
    with run_on_commit_capture(execute=True), transaction.atomic():
        bus.publish_on_commit("alarm.event", marker=marker, **payload)


def marker_of(found: dict[str, Any]) -> str:
    return found["data"]["payload"].get("marker", "")


@pytest.fixture
def third_school(city_map):
    """A school C in district A, beside school A, with its own user."""
    station = city_map["a"].police_station
    school = SchoolFactory(region=city_map["a"].region, police_station=station)
    return school, UserFactory(role="school_admin", school=school)


def test_encode_and_decode_keep_each_address_once():
    text = addressing.encode({"schools": [3, 12, 3], "organisations": [7], "users": []})
    assert text == ",s3,s12,o7,"
    assert addressing.decode(text) == {"s3", "s12", "o7"}
    assert addressing.encode({}) == "" and addressing.encode({"schools": []}) == ""
    with pytest.raises(ValueError):
        addressing.encode({"regions": [1]})


def test_a_users_addresses_are_their_school_unit_and_self(city_map):
    users = city_map["users"]
    school_user = users["school_a"]
    assert addressing.addresses_of(school_user) == {
        f"u{school_user.pk}",
        f"s{school_user.school_id}",
    }
    bureau = users["bureau_a"]
    assert addressing.addresses_of(bureau) == {f"u{bureau.pk}", f"o{bureau.organisation_id}"}


def test_the_row_is_addressed_not_scoped_and_keeps_the_list_out_of_the_payload(
    city_map, django_capture_on_commit_callbacks
):
    a, b = city_map["a"].pk, city_map["b"].pk
    publish(django_capture_on_commit_callbacks, "many", recipients={"schools": [a, b]})
    row = LiveEvent.objects.get(payload__marker="many")
    assert (row.school_id, row.region_code, row.police_station_id) == (None, "", None)
    assert row.recipients == f",s{a},s{b}," and "recipients" not in row.payload
    delivery = fanout.Delivery.from_row(row)
    assert delivery.addressees == {f"s{a}", f"s{b}"}


def test_one_event_reaches_the_addressed_schools_and_unit_and_nobody_else(
    city_map, third_school, django_capture_on_commit_callbacks
):
    users = city_map["users"]
    school_c, c_user = third_school
    a, b = city_map["a"].pk, city_map["b"].pk
    bureau_org = users["bureau_a"].organisation_id
    names = ["school_a", "school_b", "bureau_a", "station_a", "city", "c"]
    clients = {n: client_for(users[n] if n != "c" else c_user) for n in names}

    async def scenario() -> None:
        readers = {n: await open_stream(c) for n, c in clients.items()}
        await sync_to_async(publish)(
            django_capture_on_commit_callbacks,
            "to-a-and-c",
            recipients={"schools": [a, school_c.pk], "organisations": [bureau_org]},
        )
        # then one ordinary event per district: queues keep order, so a stream whose
        # first frame is the later one was never offered the addressed event
        await sync_to_async(publish)(django_capture_on_commit_callbacks, "after-a", school_id=a)
        await sync_to_async(publish)(django_capture_on_commit_callbacks, "after-b", school_id=b)
        for name in ("school_a", "c", "bureau_a"):
            heard = await readers[name].event()
            assert marker_of(heard) == "to-a-and-c", name
            assert "recipients" not in heard["data"] and "recipients" not in json.dumps(heard)
        # the station and the city cover school A by scope, but it was not addressed to them
        assert marker_of(await readers["station_a"].event()) == "after-a"
        assert marker_of(await readers["city"].event()) == "after-a"
        assert marker_of(await readers["school_b"].event()) == "after-b"
        for reader in readers.values():
            await reader.close()

    async_to_sync(scenario)()


def test_a_replay_returns_addressed_events_to_their_addressees_only(
    city_map, third_school, django_capture_on_commit_callbacks
):
    users = city_map["users"]
    _school_c, c_user = third_school
    before = LiveEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    a = city_map["a"].pk
    publish(django_capture_on_commit_callbacks, "to-a", recipients={"schools": [a]})
    publish(django_capture_on_commit_callbacks, "to-me", recipients={"users": [c_user.pk]})
    admin = UserFactory(is_superuser=True, is_staff=True, role="system_admin")

    def replay(user: Any) -> list[str]:
        client = client_for(user)

        async def scenario() -> list[dict[str, Any]]:
            return await (await open_stream(client, f"{STREAM}?once=1&since={before}")).rest()

        return [marker_of(f) for f in async_to_sync(scenario)()]

    assert replay(users["school_a"]) == ["to-a"]
    assert replay(c_user) == ["to-me"]
    assert replay(users["city"]) == [] and replay(users["school_b"]) == []
    assert replay(admin) == ["to-a", "to-me"]


def test_a_police_only_addressed_event_skips_a_non_police_addressee(
    city_map, django_capture_on_commit_callbacks
):
    users = city_map["users"]
    station = users["station_a"].organisation_id
    bureau = users["bureau_a"].organisation_id
    before = LiveEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    publish(
        django_capture_on_commit_callbacks,
        "police-eyes",
        police_only=True,
        recipients={"organisations": [station, bureau]},
    )

    def replay(user: Any) -> list[str]:
        client = client_for(user)

        async def scenario() -> list[dict[str, Any]]:
            return await (await open_stream(client, f"{STREAM}?once=1&since={before}")).rest()

        return [marker_of(f) for f in async_to_sync(scenario)()]

    assert replay(users["station_a"]) == ["police-eyes"]
    assert replay(users["bureau_a"]) == []


def test_the_list_survives_the_redis_message_and_the_catch_up(
    city_map, django_capture_on_commit_callbacks
):
    a = city_map["a"].pk
    publish(django_capture_on_commit_callbacks, "hop", recipients={"schools": [a]})
    row = LiveEvent.objects.get(payload__marker="hop")
    sent = fanout.Delivery.from_row(row)
    relayed = fanout.Delivery(**json.loads(json.dumps(asdict(sent))))
    assert relayed.recipients == sent.recipients and relayed.addressees == {f"s{a}"}
    # a message from a process that predates the column still parses (scoped, as before)
    old = {k: v for k, v in asdict(sent).items() if k != "recipients"}
    assert fanout.Delivery(**old).addressees == frozenset()
    # the catch-up reads the row again (Redis never brought it): the list comes with it
    fanout.forget_delivered()

    async def scenario() -> fanout.Delivery | None:
        import asyncio

        listener = fanout.attach(asyncio.get_running_loop())
        try:
            marks: collections.deque = collections.deque()
            suspects: set[int] = set()
            floor = await sync_to_async(catch_up.catch_up_once)(row.pk - 1, marks, suspects, 0.0)
            await sync_to_async(catch_up.catch_up_once)(floor, marks, suspects, 1.0)
            return await asyncio.wait_for(listener.queue.get(), 5)
        finally:
            fanout.detach(listener)

    caught = async_to_sync(scenario)()
    assert caught is not None and caught.id == row.pk and caught.addressees == {f"s{a}"}


def test_an_organisation_address_is_the_users_unit_not_its_region(city_map):
    users = city_map["users"]
    other_bureau = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=users["bureau_a"].organisation.region
    )
    sibling = UserFactory(role="education_staff", organisation=other_bureau)
    LiveEvent.objects.create(
        at=clock.now(),
        name="alarm.event",
        recipients=addressing.encode({"organisations": [users["bureau_a"].organisation_id]}),
    )
    mine = addressing.addressed_q(addressing.addresses_of(users["bureau_a"]))
    theirs = addressing.addressed_q(addressing.addresses_of(sibling))
    assert LiveEvent.objects.filter(mine).count() == 1
    assert not LiveEvent.objects.filter(theirs).exists()
