"""WAL checkpoints for the embedded SQLite database, off the writers' path.

SQLite copies the write-ahead log back into the database file (and syncs it) once the
log passes 1,000 pages, in whichever connection commits then — under ``serve`` that
is nearly always the ingestion writer, so an alarm now and then waited tens of
milliseconds behind a checkpoint. Here a thread of its own runs a PASSIVE checkpoint
every ``SQLITE_CHECKPOINT_SECONDS``: it never blocks a writer, and the log stays too
short for a commit to trigger one. (SQLite's own automatic checkpoint stays on as the
safety net for processes that do not run this loop.)
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from campus_safety import periodic


def checkpoint(database: BaseDatabaseWrapper | None = None) -> tuple[int, int, int]:
    """(busy, WAL pages, pages copied) — SQLite's answer to one PASSIVE checkpoint."""
    with (database or connection).cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return tuple(cursor.fetchone())  # type: ignore[return-value]


async def run_checkpoint_loop(stop: asyncio.Event, interval: float | None = None) -> None:
    """Checkpoint until ``stop`` is set (runtime.py; SQLite only)."""
    await periodic.run_every(
        stop,
        interval or settings.SQLITE_CHECKPOINT_SECONDS,
        checkpoint,
        "sqlite-checkpoint",
        per_process=True,  # each process's own database file, never a cluster's job
    )
