"""A console in an alarm storm (issue #22's 1,000-alarm burst): a stream that falls
further behind than its queue holds reads what it dropped from the live log and goes
on — every event once, in order, no ``live.gap``, no reconnect — and a console is not
filled by events its user does not hear."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync, sync_to_async

from campus_safety.live import fanout
from tests.live.test_stream import city_map, client_for, marker_of, open_stream, run_on_commit

__all__ = ["city_map", "run_on_commit"]  # fixtures


def test_a_stream_that_falls_behind_catches_up_from_the_log_without_a_gap(
    city_map, run_on_commit, settings, monkeypatch
):
    monkeypatch.setattr(fanout, "QUEUE_SIZE", 3)
    settings.LIVE_REPLAY_MAX = 2  # the catch-up reads the log in pages of two
    client = client_for(city_map["users"]["city"])
    a, b = city_map["a"].pk, city_map["b"].pk
    markers = [f"storm-{n}" for n in range(11)]

    async def scenario() -> tuple[list[dict[str, Any]], bool]:
        reader = await open_stream(client)
        for n, marker in enumerate(markers):  # nobody reads meanwhile: the queue overflows
            await sync_to_async(run_on_commit)(a if n % 2 else b, marker)
        (listener,) = [x for x in fanout._listeners]
        overflowed = listener.has_overflowed
        frames = [await reader.event() for _ in markers]
        await sync_to_async(run_on_commit)(a, "after")
        frames.append(await reader.event())
        await reader.close()
        return frames, overflowed

    frames, overflowed = async_to_sync(scenario)()
    assert overflowed  # the scenario did fall behind
    assert [f["event"] for f in frames] == ["alarm.event"] * (len(markers) + 1)
    assert [marker_of(f) for f in frames] == [*markers, "after"]
    ids = [int(f["id"]) for f in frames]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_stream_queues_only_what_its_user_hears(city_map, run_on_commit, monkeypatch):
    monkeypatch.setattr(fanout, "QUEUE_SIZE", 3)
    client = client_for(city_map["users"]["school_a"])
    a, b = city_map["a"].pk, city_map["b"].pk

    async def scenario() -> tuple[str, bool]:
        reader = await open_stream(client)
        for n in range(10):  # another district's storm
            await sync_to_async(run_on_commit)(b, f"b-{n}")
        await sync_to_async(run_on_commit)(a, "mine")
        (listener,) = [x for x in fanout._listeners]
        heard = marker_of(await reader.event())
        await reader.close()
        return heard, listener.has_overflowed

    heard, overflowed = async_to_sync(scenario)()
    assert heard == "mine"
    assert not overflowed


def test_frames_are_encoded_once_per_delivery(city_map):
    delivery = fanout.Delivery(
        id=7, at="2026-12-07T08:00:00+08:00", name="alarm.event", school_id=1,
        region_code="371402", police_station_id=None, payload={"marker": "中文"},
    )  # fmt: skip
    assert delivery.frame is delivery.frame
    head, name, data = delivery.frame.rstrip("\n").split("\n")
    assert (head, name) == ("id: 7", "event: alarm.event")
    assert '"marker":"中文"' in data and delivery.frame.endswith("\n\n")
