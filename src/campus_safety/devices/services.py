"""Device domain operations: device events, faults to repair, online rates (在线率).

Keepalives and state transitions live in ``liveness.py``/``transitions.py``; this module
holds what views, reports and the ingestion service ask of the registry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr

from campus_safety import bus, clock
from campus_safety.devices.models import Device, DeviceEvent, KeyArea


def record_device_event(
    *,
    device_pk: int,
    device_id: str,
    school_id: int | None,
    kind: str,
    event_id: str,
    occurred_at: dt.datetime,
    received_at: dt.datetime,
    payload: dict[str, Any],
) -> tuple[int, bool]:
    """Store a status report or patrol scan once per (device, event_id); returns
    (pk, created). A retried delivery is answered with the stored row."""
    event = DeviceEvent(
        device_id=device_pk,
        kind=kind,
        event_id=event_id,
        occurred_at=occurred_at,
        received_at=received_at,
        payload=payload,
    )
    try:
        with transaction.atomic():
            DeviceEvent.objects.bulk_create([event])  # bulk: no audit entry per scan
    except IntegrityError:
        existing = (
            DeviceEvent.objects.filter(device_id=device_pk, event_id=event_id)
            .values_list("pk", flat=True)
            .first()
        )
        if existing is None:
            raise
        return existing, False
    if kind == DeviceEvent.Kind.PATROL:
        bus.publish_on_commit(
            "patrol.scan",
            device_event_id=event.pk,
            device_pk=device_pk,
            device_id=device_id,
            school_id=school_id,
            checkpoint_id=payload.get("checkpoint_id", ""),
            card_id=payload.get("card_id", ""),
            guard_id=payload.get("guard_id", ""),
            occurred_at=occurred_at.isoformat(),
        )
    return event.pk, True


def faults_to_repair(
    devices: QuerySet[Device] | None = None, now: dt.datetime | None = None
) -> QuerySet[Device]:
    """Devices to send someone to: faulty, or offline beyond ``LIVENESS_FAULT_AFTER_HOURS``
    (even before the sweeper has marked them), longest-broken first."""
    devices = Device.objects.all() if devices is None else devices
    cutoff = (now or clock.now()) - dt.timedelta(hours=settings.LIVENESS_FAULT_AFTER_HOURS)
    return devices.filter(
        Q(status=Device.Status.FAULT) | Q(status=Device.Status.OFFLINE, status_since__lte=cutoff)
    ).order_by("status_since", "device_id")


@dataclass(frozen=True)
class OnlineRate:
    """Online devices out of all devices in a group (the key is the group's id/code)."""

    key: Any
    name: str
    total: int
    online: int

    @property
    def rate(self) -> float:
        return self.online / self.total if self.total else 0.0


_COUNTS = {"total": Count("pk"), "online": Count("pk", filter=Q(status=Device.Status.ONLINE))}


def online_rate(devices: QuerySet[Device]) -> OnlineRate:
    """The rate over a whole queryset (a city, a district, one user's scope)."""
    row = devices.order_by().aggregate(**_COUNTS)
    return OnlineRate(None, "", row["total"], row["online"])


def _grouped(devices: QuerySet[Device], key: str, name: str) -> list[OnlineRate]:
    rows = devices.order_by().values(key, name).annotate(**_COUNTS).order_by(name, key)
    return [OnlineRate(r[key], r[name] or "", r["total"], r["online"]) for r in rows]


def online_rate_by_school(devices: QuerySet[Device]) -> list[OnlineRate]:
    """Per school, computed in the database (one GROUP BY)."""
    return _grouped(devices, "school_id", "school__name")


def online_rate_by_district(devices: QuerySet[Device]) -> list[OnlineRate]:
    """Per district/county (the school's GB/T 2260 region); key = region code."""
    return _grouped(devices, "school__region__code", "school__region__name")


def online_rate_by_key_area(devices: QuerySet[Device]) -> list[OnlineRate]:
    """Per GB/T 29315-2022 key area; name is the area's label."""
    labels = dict(KeyArea.choices)
    rows = devices.order_by().values("key_area").annotate(**_COUNTS).order_by("key_area")
    return [
        OnlineRate(r["key_area"], str(labels.get(r["key_area"], "")), r["total"], r["online"])
        for r in rows
    ]


def online_rate_by_city(devices: QuerySet[Device]) -> list[OnlineRate]:
    """Per city: GB/T 2260 codes share their first four digits with the city's."""
    rows = (
        devices.order_by()
        .annotate(city=Substr("school__region__code", 1, 4))
        .values("city")
        .annotate(**_COUNTS)
        .order_by("city")
    )
    return [
        OnlineRate(f"{r['city']}00" if r["city"] else "", "", r["total"], r["online"]) for r in rows
    ]
