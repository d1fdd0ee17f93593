"""How long each kind of record is kept, and the job that enforces it (PIPL: keep
personal information no longer than the purpose needs; 网络安全法: logs ≥180 days).

A kind is (model, date field, default days, minimum days), or a purge function of its
own (the audit log's). Each app declares its kinds in ``<app>/tasks.py`` as
``RETENTION``; this module finds them (``periodic.app_modules``) and never imports an
app. ``DATA_RETENTION_DAYS`` overrides a kind's default period; a kind whose default is
``None`` is kept until a period is configured there.

On PostgreSQL a table partitioned by month (``cluster/partitions.py``) loses whole
months past its period with one ``DROP TABLE`` each, and the job creates its coming
months' partitions; only the rows of the month the cutoff falls in are deleted one by one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection, models, transaction

from campus_safety import clock, periodic
from campus_safety.cluster import partitions

log = logging.getLogger(__name__)
# Creating or dropping a partition locks the whole table: waiting behind a long query
# would queue every insert behind the job, so it gives up and tries again next run.
PARTITION_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Policy:
    kind: str
    model: str = ""  # app_label.ModelName
    date_field: str = ""
    default_days: int | None = 0  # None: kept until DATA_RETENTION_DAYS sets a period
    minimum_days: int = 1
    purge: Callable[[dt.datetime], int] | None = None  # a kind that prunes itself


def installed_policies() -> list[Policy]:
    """Every installed app's ``tasks.RETENTION``."""
    return [
        policy
        for module in periodic.app_modules("tasks")
        for policy in getattr(module, "RETENTION", ())
    ]


def configured(policy: Policy) -> bool:
    """Has the kind a period (its own default or ``DATA_RETENTION_DAYS``)?"""
    return policy.default_days is not None or policy.kind in getattr(
        settings, "DATA_RETENTION_DAYS", {}
    )


def days_for(policy: Policy) -> int:
    days = int(getattr(settings, "DATA_RETENTION_DAYS", {}).get(policy.kind, policy.default_days))
    if days < policy.minimum_days:
        raise ImproperlyConfigured(
            f"DATA_RETENTION_DAYS[{policy.kind!r}]={days} is below the minimum "
            f"of {policy.minimum_days} days"
        )
    return days


def drop_expired_months(
    model: type[models.Model], now: dt.datetime, cutoff: dt.datetime | None
) -> int:
    """For a table partitioned by month on PostgreSQL: create the coming months'
    partitions and drop the months that end at or before ``cutoff`` (``None``: none).
    Returns the rows dropped with them; 0 on SQLite or a plain table."""
    if connection.vendor != "postgresql":
        return 0
    table = model._meta.db_table
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if not partitions.is_partitioned(cursor, table):
                return 0
            cursor.execute(f"SET LOCAL lock_timeout = '{PARTITION_LOCK_TIMEOUT}'")
            partitions.ensure_months(cursor, table, now.date())
            return partitions.drop_months_before(cursor, table, cutoff) if cutoff else 0
    except OperationalError as error:  # the lock was not had in time
        log.warning("%s: partitions left as they are until the next run (%s)", table, error)
        return 0


def purge_expired(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete what has outlived its period; returns how many rows per kind."""
    now = now or clock.now()
    removed = {}
    for policy in installed_policies():
        if policy.purge is not None:
            removed[policy.kind] = policy.purge(now)
            continue
        model = apps.get_model(policy.model)
        if not configured(policy):  # kept: only the coming months are prepared
            drop_expired_months(model, now, None)
            removed[policy.kind] = 0
            continue
        cutoff = now - dt.timedelta(days=days_for(policy))
        dropped = drop_expired_months(model, now, cutoff)
        deleted, _ = model.objects.filter(**{f"{policy.date_field}__lt": cutoff}).delete()
        removed[policy.kind] = dropped + deleted
    return removed
