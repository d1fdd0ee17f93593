"""Monthly partitions for the tables that grow without end (PostgreSQL declarative
partitioning, issue #22 item 2).

A partitioned table keeps each month in a table of its own: the hot queries (today's
events, the last minutes of the live log) touch this month's partition and its small
indexes however many months are kept, and retention drops a whole month with one
``DROP TABLE`` instead of deleting millions of rows (and vacuuming after them). A
DEFAULT partition takes any row no monthly partition covers (a device clock years off),
so an insert never fails; ``ensure_months`` keeps the coming months created ahead.

Only on PostgreSQL; SQLite (the embedded process) keeps plain tables. The primary key
becomes (id, date column), as PostgreSQL requires the partition key in every unique
constraint: a table converted here must have no foreign keys pointing at it, and its
unique constraints gain the date column (a duplicate is refused only with the same
date-time, see docs/deployment.md "Data that grows").
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

log = logging.getLogger(__name__)

MONTHS_AHEAD = 3
MONTHS_BACK = 36  # a conversion makes months back to the oldest row, at most this far
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,50}")


def _checked(*names: str) -> None:
    """Table and column names are spliced into DDL: only plain identifiers (they come
    from the models' ``db_table``, never from a request)."""
    for name in names:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"not a plain identifier: {name!r}")


def _month(value: dt.date) -> dt.date:
    return dt.date(value.year, value.month, 1)


def _next(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month:%Y%m}"


def _create_month(cursor: Any, table: str, month: dt.date) -> None:
    cursor.execute(
        f'CREATE TABLE IF NOT EXISTS "{partition_name(table, month)}" PARTITION OF "{table}" '
        f"FOR VALUES FROM ('{month:%Y-%m-%d}') TO ('{_next(month):%Y-%m-%d}')"
    )


def is_partitioned(cursor: Any, table: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [table])
    return cursor.fetchone() is not None


def _indexes(cursor: Any, table: str) -> list[tuple[str, str]]:
    """The plain indexes (not those behind a constraint): name, definition."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [table, table],
    )
    return cursor.fetchall()


def _constraints(cursor: Any, table: str, kind: str) -> list[tuple[str, str]]:
    """Foreign keys (``f``) or unique constraints (``u``) of ``table``: name, definition."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = %s AND conparentid = 0 ORDER BY conname",
        [table, kind],
    )
    return cursor.fetchall()


def _triggers(cursor: Any, table: str) -> list[str]:
    """The table's own triggers (the audit log's append-only guard), as definitions."""
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE tgrelid = %s::regclass AND NOT tgisinternal AND tgparentid = 0",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def _references(cursor: Any, table: str) -> list[str]:
    cursor.execute(
        "SELECT conrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = %s::regclass",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def _on(definition: str, old: str, table: str) -> str:
    return definition.replace(f" ON public.{old} ", f" ON public.{table} ")


def _with_key(definition: str, column: str) -> str:
    """``UNIQUE (a, b)`` → ``UNIQUE (a, b, column)``: PostgreSQL enforces a unique
    constraint of a partitioned table only with the partition key in it."""
    head, _, columns = definition.partition("(")
    columns = columns.rstrip().removesuffix(")")
    names = [name.strip().strip('"') for name in columns.split(",")]
    if column in names:
        return definition
    return f'{head}({columns}, "{column}")'


def _without_key(definition: str, column: str) -> str:
    head, _, columns = definition.partition("(")
    names = [name.strip() for name in columns.rstrip().removesuffix(")").split(",")]
    kept = [name for name in names if name.strip('"') != column]
    return f"{head}({', '.join(kept)})"


def _copy_rows(cursor: Any, table: str, old: str) -> None:
    cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')  # noqa: S608 (checked identifiers)
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608 (checked identifiers)
        f'COALESCE((SELECT max(id) FROM "{table}"), 0) + 1, false)',
        [table],
    )


def convert_to_monthly(cursor: Any, table: str, column: str, today: dt.date) -> None:
    """Make ``table`` (an ``id`` identity primary key, no foreign keys pointing at it)
    partitioned by month on ``column``, its rows, indexes, check constraints, foreign
    keys and triggers kept; a unique constraint gains ``column`` (PostgreSQL's rule).
    For a migration: run it in the migration's transaction (all or nothing)."""
    _checked(table, column)
    if is_partitioned(cursor, table):
        return
    if referring := _references(cursor, table):
        raise ValueError(f"{table} is referenced by {referring}: cannot be partitioned")
    old = f"{table}_unpartitioned"
    indexes = _indexes(cursor, table)
    foreign, unique = _constraints(cursor, table, "f"), _constraints(cursor, table, "u")
    triggers = _triggers(cursor, table)
    cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    cursor.execute(
        f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING IDENTITY '
        f'INCLUDING CONSTRAINTS) PARTITION BY RANGE ("{column}")'
    )
    cursor.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY ("id", "{column}")')
    cursor.execute(f'SELECT min("{column}") FROM "{old}"')  # noqa: S608 (checked identifiers)
    first = cursor.fetchone()[0]
    month = _month(first.date() if first else today)
    oldest = dt.date(today.year - MONTHS_BACK // 12, today.month, 1)
    month = max(month, oldest)  # older rows (a clock years off) go to the default
    last = _month(today)
    for _ in range(MONTHS_AHEAD):
        last = _next(last)
    while month <= last:
        _create_month(cursor, table, month)
        month = _next(month)
    cursor.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT')
    _copy_rows(cursor, table, old)
    cursor.execute(f'DROP TABLE "{old}"')
    for _name, definition in indexes:  # the same names and columns, now per partition
        cursor.execute(_on(definition, old, table))
    for name, definition in unique:
        cursor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {_with_key(definition, column)}'
        )
    for name, definition in foreign:
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for definition in triggers:  # a row trigger on the parent fires for every partition
        cursor.execute(_on(definition, old, table))


def convert_back(cursor: Any, table: str) -> None:
    """Undo ``convert_to_monthly`` (a migration's reverse): one plain table again."""
    _checked(table)
    if not is_partitioned(cursor, table):
        return
    cursor.execute("SELECT pg_get_partkeydef(%s::regclass)", [table])
    column = cursor.fetchone()[0].split("(", 1)[1].rstrip(")").strip('"')
    old = f"{table}_partitioned"
    indexes = _indexes(cursor, table)
    foreign, unique = _constraints(cursor, table, "f"), _constraints(cursor, table, "u")
    triggers = _triggers(cursor, table)
    cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    cursor.execute(
        f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING IDENTITY '
        f"INCLUDING CONSTRAINTS)"
    )
    cursor.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY ("id")')
    _copy_rows(cursor, table, old)
    cursor.execute(f'DROP TABLE "{old}" CASCADE')
    for _name, definition in indexes:
        cursor.execute(_on(definition.replace(" ON ONLY ", " ON "), old, table))
    for name, definition in unique:
        cursor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {_without_key(definition, column)}'
        )
    for name, definition in foreign:
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for definition in triggers:
        cursor.execute(_on(definition, old, table))


def ensure_months(cursor: Any, table: str, today: dt.date) -> int:
    """Create this month's partition and the next ``MONTHS_AHEAD``; how many were new.
    A month whose rows already went to the DEFAULT partition is left there (logged)."""
    _checked(table)
    made, month = 0, _month(today)
    for _ in range(MONTHS_AHEAD + 1):
        cursor.execute("SELECT to_regclass(%s)", [partition_name(table, month)])
        if cursor.fetchone()[0] is None:
            try:
                cursor.execute("SAVEPOINT partition_month")
                _create_month(cursor, table, month)
                cursor.execute("RELEASE SAVEPOINT partition_month")
                made += 1
            except Exception:
                cursor.execute("ROLLBACK TO SAVEPOINT partition_month")
                log.warning("%s: month %s stays in the default partition", table, month)
        month = _next(month)
    return made


def drop_months_before(cursor: Any, table: str, cutoff: dt.datetime) -> int:
    """Drop the monthly partitions that end at or before ``cutoff``; how many rows went
    with them (retention by whole months: the rest is deleted row by row)."""
    _checked(table)
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        [table],
    )
    dropped = 0
    for name, bound in cursor.fetchall():
        if not name.startswith(f"{table}_p") or "TO ('" not in bound:
            continue
        upper = dt.date.fromisoformat(bound.split("TO ('")[1][:10])
        if dt.datetime.combine(upper, dt.time(), tzinfo=dt.UTC) <= cutoff:
            cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 (catalogue names)
            dropped += cursor.fetchone()[0]
            cursor.execute(f'DROP TABLE "{name}"')
            log.info("%s: dropped partition %s (retention)", table, name)
    return dropped


def monthly_migration(table: str, column: str) -> Any:
    """The migration operation that partitions ``table`` by month on ``column`` on
    PostgreSQL (rows kept; reversible) and does nothing on SQLite."""
    from django.db import migrations

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                convert_to_monthly(cursor, table, column, dt.datetime.now(dt.UTC).date())

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                convert_back(cursor, table)

    return migrations.RunPython(forward, backward, elidable=False)
