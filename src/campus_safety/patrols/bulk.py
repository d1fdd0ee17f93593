"""Plain multi-row inserts for the app's high-volume rows (a term's roster for a city is
~800,000 entries; a day of tours 10,000 rounds and 100,000 scans).

Django's ``bulk_create`` builds a model instance per row and compiles every value
through the expression machinery: minutes for such volumes. Here rows are plain
tuples, each value is only prepared for the database (``get_db_prep_save``: time
zones, JSON, per backend) and the rows go in with one prepared INSERT per batch
(``executemany``). No pks come back and no signals are sent — callers that need
either use ``bulk_create``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models

BATCH = 5000


def insert_rows(
    model: type[models.Model],
    attnames: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> int:
    """Insert ``rows`` (tuples in ``attnames`` order, e.g. ``"school_id"``); fields not
    named take their defaults. Returns how many rows were sent."""
    connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the proxy
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    named = [by_attname[a] for a in attnames]
    defaults = [
        f for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in attnames
    ]  # fmt: skip
    fields = named + defaults
    default_values = [f.get_db_prep_save(f.get_default(), connection) for f in defaults]
    preparers = [_preparer(f, connection) for f in named]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    sent = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            values = [
                v if prep is None else prep(v) for prep, v in zip(preparers, row, strict=True)
            ]
            batch.append(values + default_values)
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                sent += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            sent += len(batch)
    return sent


PLAIN = (
    models.CharField, models.IntegerField, models.FloatField, models.BooleanField,
    models.ForeignKey, models.TextField,
)  # fmt: skip


def _sqlite_utc_text(value: dt.datetime | None) -> str | None:
    """An aware date-time as SQLite stores it with USE_TZ: naive UTC text."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return str(value)


def _preparer(field: models.Field, connection) -> Callable[[Any], Any] | None:
    """How a value of ``field`` goes to the database; None = as it is (plain values).
    Dates and times go through the backend's adapters (aware → UTC on SQLite), JSON and
    anything else through the field itself."""
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "sqlite" and settings.USE_TZ:
            return _sqlite_utc_text  # what ops.adapt_datetimefield_value gives, faster
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.TimeField):
        return ops.adapt_timefield_value
    if (isinstance(field, PLAIN) and not field.choices) or isinstance(field, models.ForeignKey):
        return None
    if isinstance(field, models.CharField):  # with choices: still a plain string
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def insert_objects(
    model: type[models.Model], objects: Iterable[models.Model], *, ignore_conflicts: bool = False
) -> int:
    """``insert_rows`` for unsaved instances (every non-pk concrete field)."""
    attnames = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
    rows = ([getattr(obj, a) for a in attnames] for obj in objects)
    return insert_rows(model, attnames, rows, ignore_conflicts=ignore_conflicts)
