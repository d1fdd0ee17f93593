"""How long each kind of record is kept, and the job that enforces it (PIPL: keep
personal information no longer than the purpose needs; 网络安全法: logs ≥180 days).

A kind is (model, date field, default days, minimum days), or a purge function of its
own (the audit log's). Each app declares its kinds in ``<app>/tasks.py`` as
``RETENTION``; this module finds them (``periodic.app_modules``) and never imports an
app. ``DATA_RETENTION_DAYS`` overrides a kind's default period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from campus_safety import clock, periodic


@dataclass(frozen=True)
class Policy:
    kind: str
    model: str = ""  # app_label.ModelName
    date_field: str = ""
    default_days: int = 0
    minimum_days: int = 1
    purge: Callable[[dt.datetime], int] | None = None  # a kind that prunes itself


def installed_policies() -> list[Policy]:
    """Every installed app's ``tasks.RETENTION``."""
    return [
        policy
        for module in periodic.app_modules("tasks")
        for policy in getattr(module, "RETENTION", ())
    ]


def days_for(policy: Policy) -> int:
    days = int(getattr(settings, "DATA_RETENTION_DAYS", {}).get(policy.kind, policy.default_days))
    if days < policy.minimum_days:
        raise ImproperlyConfigured(
            f"DATA_RETENTION_DAYS[{policy.kind!r}]={days} is below the minimum "
            f"of {policy.minimum_days} days"
        )
    return days


def purge_expired(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete what has outlived its period; returns how many rows per kind."""
    now = now or clock.now()
    removed = {}
    for policy in installed_policies():
        if policy.purge is not None:
            removed[policy.kind] = policy.purge(now)
            continue
        model = apps.get_model(policy.model)
        cutoff = now - dt.timedelta(days=days_for(policy))
        removed[policy.kind], _ = model.objects.filter(
            **{f"{policy.date_field}__lt": cutoff}
        ).delete()
    return removed
