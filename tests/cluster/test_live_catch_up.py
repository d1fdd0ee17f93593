"""A live event whose Redis message never came (its publisher died between commit and
PUBLISH) still reaches this process's streams, once (live/catch_up.py)."""

from __future__ import annotations

import asyncio
import collections

import pytest

from campus_safety import clock
from campus_safety.live import catch_up, fanout
from campus_safety.live.models import LiveEvent


def _row(marker: str) -> LiveEvent:
    return LiveEvent.objects.create(at=clock.now(), name="alarm.event", payload={"m": marker})


@pytest.mark.django_db
def test_rows_redis_never_brought_are_delivered_once_and_delivered_ones_never_again():
    fanout.forget_delivered()  # an earlier test may have delivered these very ids
    loop = asyncio.new_event_loop()
    listener = fanout.attach(loop)
    try:
        marks: collections.deque = collections.deque()
        suspects: set[int] = set()
        floor = catch_up.catch_up_once(None, marks, suspects, now=0.0)
        heard = _row("heard through Redis")
        fanout.deliver_locally(fanout.Delivery.from_row(heard))
        lost = _row("publisher died before PUBLISH")
        floor = catch_up.catch_up_once(floor, marks, suspects, now=1.0)
        loop.run_until_complete(asyncio.sleep(0))
        assert [d.id for d in _drain(listener)] == [heard.pk]  # the lost one waits a round
        floor = catch_up.catch_up_once(floor, marks, suspects, now=2.0)
        catch_up.catch_up_once(floor, marks, suspects, now=3.0)
        loop.run_until_complete(asyncio.sleep(0))
        assert [d.payload["m"] for d in _drain(listener)] == ["publisher died before PUBLISH"]
        assert fanout.was_delivered(lost.pk)
    finally:
        fanout.detach(listener)
        loop.close()


@pytest.mark.django_db
def test_a_storm_larger_than_one_page_is_caught_up_whole(monkeypatch):
    """Only the first page of the window used to be read: above BATCH events per lag
    the floor never caught up. Every page is read each round now."""
    monkeypatch.setattr(catch_up, "BATCH", 50)
    fanout.forget_delivered()
    loop = asyncio.new_event_loop()
    listener = fanout.attach(loop)
    try:
        marks: collections.deque = collections.deque()
        suspects: set[int] = set()
        floor = catch_up.catch_up_once(None, marks, suspects, now=0.0)
        LiveEvent.objects.bulk_create(
            [LiveEvent(at=clock.now(), name="alarm.event", payload={"n": n}) for n in range(170)]
        )
        floor = catch_up.catch_up_once(floor, marks, suspects, now=1.0)
        catch_up.catch_up_once(floor, marks, suspects, now=2.0)
        loop.run_until_complete(asyncio.sleep(0))
        delivered = [d.payload["n"] for d in _drain(listener)]
        assert delivered == list(range(170))  # each once, in order, across four pages
    finally:
        fanout.detach(listener)
        loop.close()


def _drain(listener: fanout.Listener) -> list[fanout.Delivery]:
    found = []
    while not listener.queue.empty():
        found.append(listener.queue.get_nowait())
    return found
