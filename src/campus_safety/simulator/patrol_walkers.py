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
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections

from campus_safety import clock
from campus_safety.accounts.models import User
from campus_safety.patrols import peak_posts, services
from campus_safety.patrols.models import (
    Checkpoint,
    PostAssignment,
    PostCheckIn,
    TourRound,
    TourScan,
)
from campus_safety.patrols.post_rules import Position

log = logging.getLogger(__name__)

# per round of a guard tour: one checkpoint left out, two taken out of order, the last
# one reached late (inside the grace); the rest are walked on time. With 5 rounds a day
# that makes about 90 % of day schools compliant (all 5 walked), boarding schools more.
MISSED, WRONG_ORDER, LATE = 0.02, 0.03, 0.06
ABSENT, TARDY, OUTSIDE = 0.07, 0.10, 0.03  # per roster entry
SEED = 1  # the demo's decisions: the same for the history back-fill and the live walkers
METRES_PER_DEGREE = 111_195.0


def chance(seed: int, *key: Any) -> float:
    """A stable number in [0, 1) for this key."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def planned_walk(
    seed: int, round_pk: int, starts: float, stops: Sequence[tuple[int, float]], grace: float
) -> list[tuple[int, float]]:
    """When the guard reaches each checkpoint of a round: [(checkpoint, POSIX s)], from
    the round's start and its stops [(checkpoint, due)]. The same answer whoever asks —
    the history back-fill (patrol_history.py), the live walkers, a restarted demo — so
    where history ends and the walkers begin nothing is scanned twice or skipped."""
    if not stops:
        return []
    last_due = max(due for _checkpoint, due in stops)
    span = max(last_due - starts, 60.0)
    times = []
    for n, (checkpoint, due) in enumerate(stops):
        at = starts + span * (n + 1) / (len(stops) + 1)
        at += 60 * (chance(seed, "step", round_pk, n) - 0.5)
        times.append([checkpoint, max(starts, min(at, due - 30))])
    roll = chance(seed, "round", round_pk)
    if roll < MISSED:
        times.pop(int(chance(seed, "skip", round_pk) * len(times)))
    elif roll < MISSED + WRONG_ORDER and len(times) > 1:
        i = int(chance(seed, "swap", round_pk) * (len(times) - 1))
        times[i][1], times[i + 1][1] = times[i + 1][1], times[i][1]
    elif roll < MISSED + WRONG_ORDER + LATE:
        checkpoint, _at = times[-1]
        due = dict(stops)[checkpoint]
        times[-1][1] = due + grace * (0.2 + 0.6 * chance(seed, "late", round_pk))
    return [(checkpoint, at) for checkpoint, at in times]


@dataclass(frozen=True)
class Presence:
    """How one roster entry goes: nobody comes, or someone arrives (late or not), from
    inside the geofence or from outside it (then as an exception)."""

    luck: float

    @property
    def is_absent(self) -> bool:
        return self.luck < ABSENT

    @property
    def is_late(self) -> bool:
        return ABSENT <= self.luck < ABSENT + TARDY

    @property
    def is_outside(self) -> bool:
        return self.luck > 1 - OUTSIDE

    def arrives(self, opens: dt.datetime) -> dt.datetime:
        return opens + dt.timedelta(minutes=12 if self.is_late else 2 + 3 * self.luck)

    def leaves(self, closes: dt.datetime) -> dt.datetime:
        return closes - dt.timedelta(minutes=3 + 2 * self.luck)


def planned_presence(seed: int, entry_pk: int) -> Presence:
    """The person rostered in this entry, as the demo has it (history and live alike)."""
    return Presence(chance(seed, "post", entry_pk))


def offset_position(
    longitude: float, latitude: float, metres: float, angle: float
) -> tuple[float, float]:
    """(longitude, latitude) ``metres`` from a point, at ``angle`` (radians)."""
    lat = latitude + metres * math.sin(angle) / METRES_PER_DEGREE
    lon = longitude + metres * math.cos(angle) / (
        METRES_PER_DEGREE * math.cos(math.radians(latitude))
    )
    return lon, lat


@dataclass
class Walkers:
    """What was already done today (scans sent, people checked in/out)."""

    seed: int = SEED
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
        """Scans due by now in the rounds under way. A checkpoint that already has a
        scan in the round's window (the history back-fill, or this demo before a
        restart) is not scanned again."""
        rounds = list(
            TourRound.objects.filter(starts_at__lte=now, closes_at__gte=now).values_list(
                "pk", "school_id", "starts_at", "due_at", "closes_at", "detail"
            )
        )
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
        early = dt.timedelta(minutes=settings.PATROL_EARLY_MINUTES)
        scanned = defaultdict(list)
        for checkpoint, at in TourScan.objects.filter(
            school_id__in=schools,
            checkpoint__isnull=False,
            occurred_at__gte=min(r[2] for r in rounds) - early,
        ).values_list("checkpoint_id", "occurred_at"):
            scanned[checkpoint].append(at)
        for pk, school_id, starts, due, closes, detail in rounds:
            stops = [(s["checkpoint"], s["due"]) for s in detail]
            grace = (closes - due).total_seconds()
            for checkpoint, at in planned_walk(self.seed, pk, starts.timestamp(), stops, grace):
                key = (pk, checkpoint)
                if key in self.sent or at > now.timestamp():
                    continue
                if any(starts - early <= t <= closes for t in scanned[checkpoint]):
                    self.sent.add(key)
                    continue
                self.sent.add(key)
                if checkpoint in devices:
                    self.device_scans.append(devices[checkpoint])
                elif school_id in guards:
                    tag = Checkpoint.objects.get(pk=checkpoint)
                    guard = User.objects.get(pk=guards[school_id])
                    services.record_phone_scan(guard, tag, f"sim-{pk}-{checkpoint}")
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
            presence = planned_presence(self.seed, entry.pk)
            post = entry.post
            if entry.pk in present:
                if present[entry.pk] is None and now >= presence.leaves(entry.ends_at):
                    self._check(peak_posts.check_out, entry, presence.luck, 10)
                continue
            if presence.is_absent or now < presence.arrives(entry.starts_at):
                continue
            metres = post.radius_m * 2.5 if presence.is_outside else 20
            self._check(peak_posts.check_in, entry, presence.luck, metres)

    def _check(self, step, entry: PostAssignment, luck: float, metres: float) -> None:
        post = entry.post
        lon, lat = offset_position(post.longitude, post.latitude, metres, luck * 2 * math.pi)
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
    walkers = Walkers()
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
