"""How long each kind of record is kept, and the job that enforces it (PIPL: keep
personal information no longer than the purpose needs; 网络安全法: logs ≥180 days).

A kind is (model, date field, default days, minimum days). Later apps add theirs
(visitor records: 180 days by default) to ``POLICIES``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from campus_safety import clock


@dataclass(frozen=True)
class Policy:
    kind: str
    model: str  # app_label.ModelName
    date_field: str
    default_days: int
    minimum_days: int = 1


POLICIES = [
    Policy("login_attempts", "axes.AccessAttempt", "attempt_time", 90),
    Policy("access_log", "axes.AccessLog", "attempt_time", 180, 180),
    Policy("expired_api_tokens", "accounts.ApiToken", "expires_at", 365),
    Policy("live_events", "live.LiveEvent", "at", 7),
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
    from campus_safety.audit.services import purge_expired as purge_audit

    now = now or clock.now()
    removed = {"audit": purge_audit(now)}
    for policy in POLICIES:
        model = apps.get_model(policy.model)
        cutoff = now - dt.timedelta(days=days_for(policy))
        removed[policy.kind], _ = model.objects.filter(
            **{f"{policy.date_field}__lt": cutoff}
        ).delete()
    return removed
