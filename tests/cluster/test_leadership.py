"""Periodic jobs once cluster-wide on PostgreSQL: advisory-lock leadership (a dead
session's lock is released by PostgreSQL) and the ledger's claims (one run per period)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter

import pytest
from django.db import connection

from campus_safety import periodic
from campus_safety.cluster import leadership
from campus_safety.cluster.models import JobRun

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="cluster coordination is PostgreSQL's"
    ),
]


def _name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def test_one_session_holds_a_jobs_lock_and_a_standby_gets_it_when_released():
    name = _name()

    async def main() -> None:
        # two processes: two lock sessions (one process holds all its locks on one)
        first = leadership.AdvisoryLock(name, leadership.Session())
        second = leadership.AdvisoryLock(name, leadership.Session())
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.still_held()
        await first.release()
        assert await second.try_acquire()
        await second.release()

    asyncio.run(main())


def _terminate_sessions_holding(key: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND objsubid = 1 AND classid::text::bigint = %s "
            "AND objid::text::bigint = %s",
            [(key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF],
        )
        return len(cursor.fetchall())


def test_only_the_leader_runs_and_a_standby_takes_over_when_its_session_dies():
    """Two processes' worth of supervisors on one job: never both running; the leader's
    database session killed (as PostgreSQL sees a SIGKILLed process) hands it over."""
    name = _name()
    running: list[int] = []
    overlaps: list[bool] = []
    ran: Counter[int] = Counter()

    def loop_of(who: int):
        async def loop(stop: asyncio.Event) -> None:
            running.append(who)
            try:
                while not stop.is_set():
                    overlaps.append(len(running) > 1)
                    ran[who] += 1
                    await asyncio.sleep(0.05)
            finally:
                running.remove(who)

        return loop

    async def main() -> None:
        stop = asyncio.Event()
        tasks = [  # two processes: two lock sessions
            asyncio.create_task(leadership.lead(name, loop_of(who), stop, leadership.Session()))
            for who in (1, 2)
        ]
        await asyncio.sleep(1.0)
        assert len(running) == 1
        leader = running[0]
        killed = await asyncio.to_thread(_terminate_sessions_holding, leadership.lock_key(name))
        assert killed == 1
        deadline = time.monotonic() + 10
        while not (running and running[0] != leader) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert running and running[0] != leader, "nobody took over"
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)

    asyncio.run(main())
    assert not any(overlaps), "two leaders ran at once"
    assert ran[1] and ran[2]


def test_the_lock_session_of_a_lost_machine_is_ended_in_seconds_not_hours():
    """A machine that vanishes sends no FIN: keepalives on both ends of the lock session
    end it (and free its jobs for a standby) in seconds, not the OS's two hours."""
    session = leadership.Session()

    def seen() -> tuple[list[str], object]:
        with session.cursor() as cursor:
            found = []
            for name in ("tcp_keepalives_idle", "tcp_keepalives_count", "tcp_user_timeout"):
                cursor.execute(f"SHOW {name}")
                found.append(cursor.fetchone()[0])
        return found, session.db.settings_dict["OPTIONS"]["keepalives_idle"]

    try:
        found, client_idle = session.thread.submit(seen).result()
    finally:
        session.thread.submit(session.drop).result()
    assert client_idle == 5
    if connection.settings_dict["HOST"] and not connection.settings_dict["HOST"].startswith("/"):
        assert found == ["5", "3", "10000"]  # (a Unix socket has no TCP to keep alive)


def test_one_process_holds_all_its_jobs_locks_on_one_session():
    session = leadership.Session()

    async def main() -> None:
        locks = [leadership.AdvisoryLock(_name(), session) for _ in range(5)]
        assert all([await lock.try_acquire() for lock in locks])
        assert session.generation == 1
        for lock in locks:
            await lock.release()

    asyncio.run(main())
    session.drop()


def test_claimed_runs_happen_once_per_period_however_many_loops_run_them():
    name, interval = _name(), 0.2
    runs: list[tuple[int, str]] = []
    lock = threading.Lock()

    def job() -> None:
        with lock:
            runs.append((leadership.period_of(interval), threading.current_thread().name))

    async def main() -> None:
        stop = asyncio.Event()
        loops = [
            asyncio.create_task(periodic.run_claimed(stop, interval, job, name)) for _ in range(3)
        ]
        await asyncio.sleep(2.1)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*loops), 10)

    asyncio.run(main())
    periods = [period for period, _ in runs]
    assert len(periods) == len(set(periods)), "a period ran twice"
    assert len(periods) >= 7  # ~10 periods in 2.1 s: none left out on a loaded machine
    assert max(periods) - min(periods) + 1 - len(periods) <= 2
    ledger = list(JobRun.objects.filter(job=name).values_list("period", "ok"))
    assert sorted(p for p, _ in ledger) == sorted(periods)
    assert all(ok for _, ok in ledger)


def test_the_jobs_process_supervises_every_installed_task_through_leadership(settings):
    settings.PERIODIC_CLUSTER = "auto"
    assert leadership.is_clustered()
    settings.PERIODIC_CLUSTER = "off"
    assert not leadership.is_clustered()


def _claim_in_another_session(name: str, period: int) -> int | None:
    """Claim from a thread of its own (another database session, as another process
    would); that session stays open, as it does while its run goes on."""
    found: list[int | None] = []
    thread = threading.Thread(target=lambda: found.append(leadership.claim(name, 60.0, period)))
    thread.start()
    thread.join()
    return found[0]


def test_a_run_killed_mid_period_is_taken_over_but_a_live_or_finished_one_is_not():
    """A jobs process killed mid-run leaves its claim unfinished and its database session
    gone: the next leader runs that period instead of waiting for the next one."""
    name, period = _name(), 7
    killed = _claim_in_another_session(name, period)
    assert killed is not None
    # still running (its session is there): the claim stays with it
    assert leadership.claim(name, 60.0, period) is None
    assert leadership.is_running(name, period)
    with connection.cursor() as cursor:  # the process dies: PostgreSQL ends its session
        cursor.execute(
            "SELECT pg_terminate_backend(backend_pid) FROM cluster_jobrun WHERE id = %s", [killed]
        )

    def taken_over() -> int | None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            run = leadership.claim(name, 60.0, period)
            if run is not None:
                return run
            time.sleep(0.05)
        return None

    assert taken_over() == killed
    # a finished run is never repeated, whoever's session has gone
    leadership.finish(killed, ok=True)
    assert leadership.claim(name, 60.0, period) is None
    assert not leadership.is_running(name, period)
    assert JobRun.objects.filter(job=name).count() == 1
