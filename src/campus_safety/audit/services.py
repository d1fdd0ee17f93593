"""Writing and pruning the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models

from campus_safety import clock, retention
from campus_safety.audit.actor import current
from campus_safety.audit.models import AuditEntry

MIN_RETENTION_DAYS = 180  # 网络安全法 Art. 21: network logs kept at least six months


def _actor_user(user: Any):
    resolve = getattr(user, "resolve", None)
    user = resolve() if resolve else user
    return user if getattr(user, "is_authenticated", False) else None


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    user: Any = None,
    outcome: str = AuditEntry.Outcome.SUCCESS,
    detail: dict | None = None,
    object_repr: str | None = None,
) -> AuditEntry:
    """Append one entry; the acting user and address default to the current request's."""
    actor = current()
    who = _actor_user(user if user is not None else actor.user)
    return AuditEntry.objects.create(
        at=clock.now(),
        user_id=who.pk if who else None,
        username=who.get_username() if who else "",
        role=getattr(who, "role", "") if who else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=(object_repr if object_repr is not None else str(obj or ""))[:200],
        outcome=outcome,
        source_ip=actor.source_ip,
        channel=actor.channel,
        detail=detail or {},
    )


def retention_days() -> int:
    days = int(getattr(settings, "AUDIT_RETENTION_DAYS", MIN_RETENTION_DAYS))
    if days < MIN_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"AUDIT_RETENTION_DAYS={days} is below the legal minimum of {MIN_RETENTION_DAYS}"
        )
    return days


def purge_expired(now: dt.datetime | None = None) -> int:
    """Delete entries older than the retention period; returns how many went. On
    PostgreSQL whole months past it go with their partition (never one younger than the
    180-day floor: ``retention_days`` refuses less), the rest row by row."""
    now = now or clock.now()
    cutoff = now - dt.timedelta(days=retention_days())
    dropped = retention.drop_expired_months(AuditEntry, now, cutoff)
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE at < %s", [cutoff])  # noqa: S608
        return dropped + cursor.rowcount
