"""Drills and test alarms (报警测试): planned windows, and the buttons nobody tested.

One-key alarms are tested monthly or quarterly with advance notice to 110 (RULES.md
§4); alarms inside a ``TestWindow`` become test cases (see ``workflow``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from campus_safety import clock
from campus_safety.alarms.models import AlarmCase, TestWindow
from campus_safety.audit import services as audit
from campus_safety.devices.models import Device


def schedule_test_window(by: Any, **fields: Any) -> TestWindow:
    """Plan a drill; alarms from the school (or the one device) inside it are tests."""
    window = TestWindow.objects.create(created_by=by, **fields)
    audit.record("alarm.test_window", window, user=by)
    return window


def untested_one_key_alarms(days: int = 30, devices: QuerySet | None = None) -> QuerySet:
    """One-key alarms with no test case opened in the last ``days`` (default monthly)."""
    since = clock.now() - dt.timedelta(days=days)
    tested = AlarmCase.objects.filter(is_test=True, opened_at__gte=since).values("device_id")
    base = devices if devices is not None else Device.objects.all()
    return base.filter(kind=Device.Kind.ONE_KEY_ALARM).exclude(pk__in=tested)
