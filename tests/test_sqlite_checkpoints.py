"""The background WAL checkpoint of the embedded SQLite database (``serve``)."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.db.backends.sqlite3.base import DatabaseWrapper

from campus_safety.sqlite_checkpoints import checkpoint, run_checkpoint_loop


@pytest.fixture
def wal_database(tmp_path, django_db_blocker):
    """A file database of its own (not the test database) with the platform's SQLite
    options (WAL), and SQLite's automatic checkpoint off so that only ours copies."""
    options = {**settings.DATABASES["default"].get("OPTIONS", {})}
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        options = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    database = DatabaseWrapper(
        {
            **settings.DATABASES["default"],
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(tmp_path / "wal.sqlite3"),
            "OPTIONS": options,
            "CONN_MAX_AGE": 0,
            "TEST": {},
        },
        alias="wal-test",
    )
    with django_db_blocker.unblock():
        with database.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.execute("CREATE TABLE signal (id INTEGER PRIMARY KEY, body TEXT)")
        yield database
        database.close()


def test_a_checkpoint_copies_the_whole_log_without_waiting_for_anyone(wal_database, tmp_path):
    for batch in range(20):
        with wal_database.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO signal (body) VALUES (%s)",
                [(f"报警 {batch}-{n}" * 20,) for n in range(50)],
            )
    wal = tmp_path / "wal.sqlite3-wal"
    assert wal.stat().st_size > 100_000  # the log holds the rows, the file not yet
    busy, pages, copied = checkpoint(wal_database)
    assert busy == 0 and pages > 20 and copied == pages
    with wal_database.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM signal")
        assert cursor.fetchone() == (1000,)


def test_the_loop_checkpoints_until_told_to_stop(monkeypatch):
    calls = []

    def counting(database=None):
        calls.append(database)
        return (0, 0, 0)

    monkeypatch.setattr("campus_safety.sqlite_checkpoints.checkpoint", counting)

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.create_task(run_checkpoint_loop(stop, interval=0.01))

        async def three_calls() -> None:
            while len(calls) < 3:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(three_calls(), timeout=30)  # a failure, never a hang
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())
    assert len(calls) >= 3
