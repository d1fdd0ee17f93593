"""Helpers for the reports tests: devices with a recorded state history."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from campus_safety.devices.models import Device, StatusChange
from tests.devices.support import DeviceFactory

ZONE = ZoneInfo("Asia/Shanghai")


def local(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), ZONE)


def device_with_history(school, changes: list[tuple[dt.datetime, str]], **kwargs) -> Device:
    """A device whose transitions are ``changes`` [(at, to_status)], from ``unknown``;
    its current status is the last one, as the sweeper would have left it."""
    device = DeviceFactory(school=school, **kwargs)
    state = Device.Status.UNKNOWN
    for at, to in changes:
        StatusChange.objects.create(device=device, at=at, from_status=state, to_status=to)
        state = to
    Device.objects.filter(pk=device.pk).update(status=state)
    device.refresh_from_db()
    return device
