"""Simulated people on patrol, beside ``campus-safety serve --simulate``: guards walk
today's rounds (checkpoint devices report over the signed HTTP ingestion API, tag
checkpoints are scanned from the guard's phone page service) and people rostered at
护学岗 posts check in and out from the post's position. Some are late, some miss a
checkpoint or a window, a few stand outside the geofence and ask for an exception.

Every decision is a hash of the round/entry id and the seed, so a restart does not
change who is late or absent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from campus_safety import clock
from campus_safety.accounts.models import User
from campus_safety.patrols import services
from campus_safety.patrols.models import (
    Checkpoint,
    PostAssignment,
    PostCheckIn,
    TourRound,
)
from campus_safety.patrols.staffing import Position

log = logging.getLogger(__name__)

MISSED, LATE = 0.03, 0.06  # per checkpoint of a round
ABSENT, TARDY, OUTSIDE = 0.07, 0.10, 0.03  # per roster entry
METRES_PER_DEGREE = 111_195.0


def chance(seed: int, *key: Any) -> float:
    """A stable number in [0, 1) for this key."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class Walkers:
    """What was already done today (scans sent, people checked in/out)."""

    seed: int = 1
    sent: set[tuple[int, int]] = field(default_factory=set)
    device_scans: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def step(self, now: dt.datetime) -> list[str]:
        """One pass (ORM: run it in a worker thread). Returns the device IDs whose
        checkpoint a guard reached now: the caller sends those scans over HTTP."""
        self.device_scans = []
        self._walk(now)
        self._stand(now)
        return self.device_scans

    def _walk(self, now: dt.datetime) -> None:
        rounds = TourRound.objects.filter(
            day=services.local_day(now), starts_at__lte=now, closes_at__gte=now
        ).values_list("pk", "school_id", "starts_at", "due_at", "detail")
        rounds = list(rounds)
        if not rounds:
            return
        schools = {r[1] for r in rounds}
        devices = dict(
            Checkpoint.objects.filter(school_id__in=schools, device__isnull=False).values_list(
                "pk", "device__device_id"
            )
        )
        guards = dict(
            User.objects.filter(school_id__in=schools, role=User.Role.GUARD)
            .order_by("school_id", "pk")
            .values_list("school_id", "pk")
        )
        for pk, school_id, starts, due, detail in rounds:
            span = (due - starts).total_seconds()
            for n, stop in enumerate(detail):
                key = (pk, stop["checkpoint"])
                if key in self.sent:
                    continue
                luck = chance(self.seed, "scan", *key)
                if luck < MISSED:
                    continue
                at = starts + dt.timedelta(seconds=span * (n + 1) / (len(detail) + 1))
                if luck < MISSED + LATE:
                    at += dt.timedelta(seconds=span * 0.4)
                if at > now:
                    continue
                self.sent.add(key)
                if stop["checkpoint"] in devices:
                    self.device_scans.append(devices[stop["checkpoint"]])
                elif school_id in guards:
                    checkpoint = Checkpoint.objects.get(pk=stop["checkpoint"])
                    guard = User.objects.get(pk=guards[school_id])
                    services.record_phone_scan(guard, checkpoint, f"sim-{pk}-{stop['checkpoint']}")
                    self.count("phone_scans")

    def _stand(self, now: dt.datetime) -> None:
        entries = (
            PostAssignment.objects.filter(
                day=services.local_day(now), starts_at__lte=now, ends_at__gte=now
            )
            .select_related("post", "user")
            .order_by("pk")
        )
        present = dict(
            PostCheckIn.objects.filter(assignment__in=entries).values_list(
                "assignment_id", "checked_out_at"
            )
        )
        for entry in entries:
            luck = chance(self.seed, "post", entry.pk)
            post = entry.post
            if entry.pk in present:
                if present[entry.pk] is None and now >= entry.ends_at - dt.timedelta(minutes=3):
                    self._check(services.check_out, entry, luck, 10)
                continue
            if luck < ABSENT:
                continue
            late = luck < ABSENT + TARDY
            arrives = entry.starts_at + dt.timedelta(minutes=12 if late else 2 + 3 * luck)
            if now < arrives:
                continue
            outside = luck > 1 - OUTSIDE
            self._check(services.check_in, entry, luck, post.radius_m * 2.5 if outside else 20)

    def _check(self, step, entry: PostAssignment, luck: float, metres: float) -> None:
        post = entry.post
        angle = luck * 2 * math.pi
        lat = post.latitude + metres * math.sin(angle) / METRES_PER_DEGREE
        lon = post.longitude + metres * math.cos(angle) / (
            METRES_PER_DEGREE * math.cos(math.radians(post.latitude))
        )
        position = Position(lon, lat, 12.0)
        try:
            step(entry.user, post, position)
            self.count(step.__name__)
        except services.CheckInRefused:
            self.count(f"{step.__name__}_refused")
            step(entry.user, post, position, as_exception=True, note="在路口疏导交通")
            self.count(f"{step.__name__}_exception")


async def walk(simulation: Any, stop: asyncio.Event, interval: float = 30.0) -> None:
    """The walkers' loop inside a running Simulation (fleet.py): ORM work in a worker
    thread, checkpoint-device scans over the Simulation's HTTP fleet."""
    walkers = Walkers(seed=getattr(simulation.options, "seed", None) or 1)
    devices = {d.device_id: d for d in simulation.plan.http}
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            due = await loop.run_in_executor(None, _step_in_worker, walkers)
            for device_id in due:
                device = devices.get(device_id)
                if device is not None and not simulation.is_down(device_id):
                    await simulation.http.patrol_scan(device, card_id=f"CARD{device_id[-4:]}")
                    walkers.count("device_scans")
        except Exception:
            log.exception("simulator: patrol walkers failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


def _step_in_worker(walkers: Walkers) -> list[str]:
    try:
        return walkers.step(clock.now())
    finally:
        connections.close_all()
