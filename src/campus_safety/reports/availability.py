"""Availability history (在线率历史): the share of each day a device was online, computed
from the state transitions ``devices/transitions.py`` records, never stored.

A device's state holds from one recorded transition to the next. So a day is cut at
local midnight, the state at its start is the last transition before it, and a server
restart — during which nothing is written — carries the last recorded state across the
gap, as the platform itself does (liveness reloads each device's stored state and only
records a change after its restart grace). Time in ``unknown`` (never heard from, or
not yet registered) is not observed: availability = online seconds / observed seconds,
and a day with nothing observed has no availability (``None``), not 0 %.

Schools and districts add their devices' seconds (a device-time weighted share), so a
district with a few always-offline devices and many online ones reads as it is.
Everything here is set-based: one query for the state at the start of the range, one
for the transitions inside it, then a single pass in transition order.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from campus_safety import clock
from campus_safety.devices.models import Device, StatusChange

ONLINE = Device.Status.ONLINE.value
UNKNOWN = Device.Status.UNKNOWN.value
MAX_DAYS = 400  # one request: a bit more than a school year


@dataclass
class Tally:
    """Online and observed seconds of one device, school or district on one day."""

    online: float = 0.0
    observed: float = 0.0

    @property
    def rate(self) -> float | None:
        return round(self.online / self.observed, 4) if self.observed else None

    def add(self, other: Tally) -> None:
        self.online += other.online
        self.observed += other.observed


@dataclass
class History:
    """Daily tallies per device, school and region over ``days``."""

    days: list[dt.date]
    devices: dict[int, dict[dt.date, Tally]] = field(default_factory=dict)
    schools: dict[int, dict[dt.date, Tally]] = field(default_factory=dict)
    regions: dict[int, dict[dt.date, Tally]] = field(default_factory=dict)
    total: dict[dt.date, Tally] = field(default_factory=dict)

    def series(self, tallies: dict[dt.date, Tally]) -> list[dict[str, Any]]:
        """One row per day: date, rate (None when nothing was observed), hours online."""
        rows = []
        for day in self.days:
            tally = tallies.get(day, Tally())
            rows.append(
                {
                    "day": day.isoformat(),
                    "rate": tally.rate,
                    "online_hours": round(tally.online / 3600, 2),
                    "observed_hours": round(tally.observed / 3600, 2),
                }
            )
        return rows

    def mean_rate(self, tallies: dict[dt.date, Tally]) -> float | None:
        """The whole period's share (seconds added over the days)."""
        whole = Tally()
        for tally in tallies.values():
            whole.add(tally)
        return whole.rate


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight to the next local midnight (a DST day is 23 or 25 h long)."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min).replace(tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min).replace(tzinfo=zone)
    return start, end


def day_range(first: dt.date, last: dt.date) -> list[dt.date]:
    if last < first:
        raise ValueError("the last day is before the first")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _split(
    start: dt.datetime,
    end: dt.datetime,
    cuts: list[tuple[dt.date, dt.datetime, dt.datetime]],
    ends: list[dt.datetime] | None = None,
) -> Iterable[tuple[dt.date, float]]:
    """Seconds of [start, end) falling on each day of ``cuts``; ``ends`` (the cuts'
    ends, in order) lets it start at the first day the span touches instead of walking
    every day for every span (a city's month is ~40,000 devices × 31 days)."""
    first = bisect.bisect_right(ends, start) if ends is not None else 0
    for day, lo, hi in cuts[first:]:
        if lo >= end:
            break
        a, b = max(start, lo), min(end, hi)
        if b > a:
            yield day, (b - a).total_seconds()


def history(
    devices: QuerySet[Device],
    first: dt.date,
    last: dt.date,
    *,
    now: dt.datetime | None = None,
    keep_devices: bool = False,
) -> History:
    """Daily availability of ``devices`` (approved ones normally) from ``first`` to
    ``last`` inclusive, cut at ``now`` (the future is not observed)."""
    now = now or clock.now()
    days = day_range(first, last)
    cuts = [(day, *day_bounds(day)) for day in days]
    range_start, range_end = cuts[0][1], min(cuts[-1][2], now)
    result = History(days=days)
    if range_end <= range_start:
        return result
    before = StatusChange.objects.filter(device=OuterRef("pk"), at__lt=range_start).order_by(
        "-at", "-id"
    )
    after = StatusChange.objects.filter(device=OuterRef("pk"), at__gte=range_start).order_by(
        "at", "id"
    )
    info = {
        pk: (school_id, region_id, at_start, first_from, status)
        for pk, school_id, region_id, at_start, first_from, status in devices.order_by()
        .annotate(
            at_start=Subquery(before.values("to_status")[:1]),
            first_from=Subquery(after.values("from_status")[:1]),
        )
        .values_list("pk", "school_id", "school__region_id", "at_start", "first_from", "status")
    }
    changes: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for device_id, at, to_status in (
        StatusChange.objects.filter(
            device_id__in=devices.order_by().values("pk"), at__gte=range_start, at__lt=range_end
        )
        .order_by("device_id", "at", "id")
        .values_list("device_id", "at", "to_status")
    ):
        changes[device_id].append((at, to_status))

    # Most devices keep one state all through the range: they are counted per (school,
    # district, state) and added once per day, not walked device by device.
    day_seconds = [
        (day, max(0.0, (min(hi, range_end) - max(lo, range_start)).total_seconds()))
        for day, lo, hi in cuts
    ]
    steady: Counter[tuple[int | None, int | None, str]] = Counter()
    ends = [hi for _day, _lo, hi in cuts]
    # each device's spans are added to its school's (``_Spans``: constant work per span
    # however many days it covers), and each school's days once to its district and the
    # total
    buckets: dict[tuple[Any, Any], _Spans] = {}
    seconds_of_day = [seconds for _day, seconds in day_seconds]
    for pk, (school_id, region_id, at_start, first_from, status) in info.items():
        # The state at the range's start: the last transition before it; else the state
        # the first later transition left (a new device's "unknown"); else the state it
        # has now (it never changed).
        state = at_start or first_from or status
        if pk not in changes:
            steady[(school_id, region_id, state)] += 1
            if keep_devices:
                result.devices[pk] = {
                    day: Tally(seconds if state == ONLINE else 0.0, seconds)
                    for day, seconds in day_seconds
                    if seconds and state != UNKNOWN
                }
            continue
        bucket = buckets.get((school_id, region_id))
        if bucket is None:
            bucket = buckets[(school_id, region_id)] = _Spans(cuts, ends, seconds_of_day)
        since = range_start
        per_day: dict[dt.date, Tally] = {}
        for at, to_status in [*changes[pk], (range_end, None)]:
            if at > since and state != UNKNOWN:
                bucket.add(since, at, state == ONLINE)
                if keep_devices:
                    for day, seconds in _split(since, at, cuts, ends):
                        tally = per_day.setdefault(day, Tally())
                        tally.observed += seconds
                        if state == ONLINE:
                            tally.online += seconds
            since, state = max(since, at), to_status
        if keep_devices:
            result.devices[pk] = per_day
    for (school_id, region_id, state), n in steady.items():
        if state == UNKNOWN:
            continue
        per_day = {
            day: Tally(n * seconds if state == ONLINE else 0.0, n * seconds)
            for day, seconds in day_seconds
            if seconds
        }
        _add(result, school_id, region_id, per_day)
    for (school_id, region_id), spans in buckets.items():
        _add(result, school_id, region_id, spans.tallies())
    return result


class _Spans:
    """Online and observed seconds of many spans over the days of ``cuts``, added in
    constant time per span: the part of its first and last day as seconds, the whole
    days between as a count (a difference array), multiplied out once by ``tallies``."""

    def __init__(
        self,
        cuts: list[tuple[dt.date, dt.datetime, dt.datetime]],
        ends: list[dt.datetime],
        seconds_of_day: list[float],
    ) -> None:
        self.cuts, self.ends, self.seconds_of_day = cuts, ends, seconds_of_day
        n = len(cuts)
        self.part_observed, self.part_online = [0.0] * n, [0.0] * n
        self.whole_observed, self.whole_online = [0] * (n + 1), [0] * (n + 1)

    def add(self, start: dt.datetime, end: dt.datetime, online: bool) -> None:
        """[start, end), inside the range; ``online``: counted as online too."""
        first = bisect.bisect_right(self.ends, start)
        last = bisect.bisect_left(self.ends, end)
        if first == last:
            parts = [(first, (end - start).total_seconds())]
        else:
            parts = [
                (first, (self.ends[first] - start).total_seconds()),
                (last, (end - self.cuts[last][1]).total_seconds()),
            ]
            if last > first + 1:
                self.whole_observed[first + 1] += 1
                self.whole_observed[last] -= 1
                if online:
                    self.whole_online[first + 1] += 1
                    self.whole_online[last] -= 1
        for index, seconds in parts:
            if seconds > 0:
                self.part_observed[index] += seconds
                if online:
                    self.part_online[index] += seconds

    def tallies(self) -> dict[dt.date, Tally]:
        out: dict[dt.date, Tally] = {}
        observed_days = online_days = 0
        for index, (day, _lo, _hi) in enumerate(self.cuts):
            observed_days += self.whole_observed[index]
            online_days += self.whole_online[index]
            full = self.seconds_of_day[index]
            observed = self.part_observed[index] + observed_days * full
            if observed > 0:
                out[day] = Tally(self.part_online[index] + online_days * full, observed)
        return out


def _add(result: History, school_id: Any, region_id: Any, per_day: dict[dt.date, Tally]) -> None:
    for day, tally in per_day.items():
        if school_id is not None:
            result.schools.setdefault(school_id, {}).setdefault(day, Tally()).add(tally)
        if region_id is not None:
            result.regions.setdefault(region_id, {}).setdefault(day, Tally()).add(tally)
        result.total.setdefault(day, Tally()).add(tally)


def last_days(n: int, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The ``n`` local days up to and including today."""
    today = timezone.localdate(now or clock.now())
    return today - dt.timedelta(days=n - 1), today


def device_history(device: Device, days: int = 14) -> dict[str, Any]:
    """One device's last ``days`` days (the device page's availability block)."""
    first, last = last_days(days)
    result = history(Device.objects.filter(pk=device.pk), first, last, keep_devices=True)
    tallies = result.devices.get(device.pk, {})
    return {"rows": result.series(tallies), "period_rate": result.mean_rate(tallies)}


def schools_history(schools: QuerySet, days: int = 14) -> History:
    """The approved devices of ``schools`` over the last ``days`` days."""
    first, last = last_days(days)
    devices = Device.objects.filter(school__in=schools.order_by().values("pk"), is_approved=True)
    return history(devices, first, last)
