"""Benchmark: the growing tables' hot queries at 1× and 20× a city's year of rows
(issue #22 item 2, docs/deployment.md "Data that grows").

On a PostgreSQL database of its own (created on the server of ``--database-url``,
migrated as production is, dropped afterwards unless ``--keep``), it writes one city's
year of rows with ``generate_series`` in SQL, measures the hot queries, adds 19 more
cities' years (a province and then some) and measures again:

* a device's recent transitions — the device page: its newest 50, no date bound;
* a school's alarms this week — alarm events of one school since 7 days ago;
* today's scans of a tour — one school's scans in this morning's round window;
* the audit log of a user this month — the audit page filtered by user, newest 100.

Device status transitions, tour scans and the audit log are partitioned by month; alarm
events are one table (their once-only key, docs/deployment.md). The targets are city 1's,
so a query's own rows are the same at 1× and 20×; what grows is everything around them.
Prints each query's median over ``--runs`` random targets (milliseconds) and the ratio
20×/1×. The bench database drops the four tables' foreign keys, so rows need no
schools, devices or users behind them (no hot query joins).

A city's year (defaults; Dezhou has ~2,000 schools): 20,000 devices × 24 transitions,
2,000 schools × 50 alarm events and × 600 tour scans, 5,000 users × 60 audit entries —
2.08 million rows; 20× is 41.6 million (about 10 GB with indexes: mind the disk). The
rows go in with the secondary indexes dropped and built again after each load (bulk
builds): the load stays bounded, and the queries meet compact indexes, as after a REINDEX.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/partitions.py [--scale 20] [--runs 300] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from campus_safety.cluster import partitions  # noqa: E402 (after the path)

GROWING = ("devices_statuschange", "alarms_alarmevent", "patrols_tourscan", "audit_auditentry")
PARTITIONED = {
    "devices_statuschange": "at",
    "patrols_tourscan": "occurred_at",
    "audit_auditentry": "at",
}


class City:
    """One city's year, in rows per thing."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.schools = args.schools
        self.devices = args.schools * args.devices_per_school
        self.users = args.users
        self.transitions = args.transitions  # per device per year
        self.alarms = args.alarms  # per school per year
        self.scans = args.scans  # per school per year
        self.audit = args.audit  # per user per year

    def rows(self) -> int:
        return (
            self.devices * self.transitions
            + self.schools * (self.alarms + self.scans)
            + self.users * self.audit
        )


def create_database(base_url: str) -> tuple[str, str]:
    parts = urlsplit(base_url)
    name = f"cs_bench_partitions_{os.getpid()}_{secrets.token_hex(3)}"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(base_url: str, name: str) -> None:
    parts = urlsplit(base_url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "campus_safety.settings"}
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "-v0"], check=True, env=env, cwd=ROOT
    )


def prepare(conn: psycopg.Connection, today: dt.date) -> None:
    """The past year's months (a migration on an empty table makes only the coming
    ones), and no foreign keys (the rows have nothing behind them)."""
    with conn.cursor() as cursor:
        for table in PARTITIONED:
            month = today.replace(day=1)
            for _ in range(13):
                month = (month - dt.timedelta(days=1)).replace(day=1)
                partitions._create_month(cursor, table, month)
        for table in GROWING:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE contype = 'f' "
                "AND conrelid = %s::regclass AND conparentid = 0",
                [table],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


def drop_indexes(conn: psycopg.Connection) -> list[str]:
    """The four tables' indexes and unique keys but the primary keys, dropped for the
    load (built again after it, as sorted bulk builds: the load stays bounded); the
    statements that make them again."""
    again = []
    with conn.cursor() as cursor:
        for table in GROWING:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u' AND conparentid = 0",
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
                again.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
                "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
                again.append(definition.replace(" ON ONLY ", " ON "))
    conn.commit()
    return again


def load(conn: psycopg.Connection, city: City, first: int, last: int) -> float:
    """Cities ``first``..``last`` (1-based, inclusive): a year of rows each, spread
    uniformly over the 365 days before now; the indexes built again after. Seconds."""
    started = time.perf_counter()
    again = drop_indexes(conn)
    n = last - first + 1
    d0, s0, u0 = (first - 1) * city.devices, (first - 1) * city.schools, (first - 1) * city.users
    statements = [
        (
            "INSERT INTO devices_statuschange (device_id, at, from_status, to_status, reason) "
            "SELECT d, now() - random() * interval '365 days', 'online', 'offline', "
            "'keepalive timeout' "
            "FROM generate_series(%s::int, %s::int) d, generate_series(1, %s::int) k",
            [d0 + 1, d0 + n * city.devices, city.transitions],
        ),
        (
            "INSERT INTO alarms_alarmevent (device_id, school_id, event_id, occurred_at, "
            "received_at, priority, method, alarm_type, description, protocol, is_test, "
            "police_only, payload) "
            "SELECT (s - 1) * %s::int + 1 + k %% %s::int, s, 'b' || k, t, t, 1, 2, '1', "
            "'intrusion', "
            "'gb28181', false, false, '{}' FROM (SELECT s, k, "
            "now() - random() * interval '365 days' AS t "
            "FROM generate_series(%s::int, %s::int) s, generate_series(1, %s::int) k) x",
            [
                city.devices // city.schools,
                city.devices // city.schools,
                s0 + 1,
                s0 + n * city.schools,
                city.alarms,
            ],
        ),
        (
            "INSERT INTO patrols_tourscan (school_id, checkpoint_id, code, source, source_key, "
            "event_id, device_id, card_id, occurred_at, received_at) "
            "SELECT s, s * 10 + k %% 4, 'CP' || (k %% 4), 'device', 'd' || s, 's' || k, s, "
            "'', t, t FROM (SELECT s, k, now() - random() * interval '365 days' AS t "
            "FROM generate_series(%s::int, %s::int) s, generate_series(1, %s::int) k) x",
            [s0 + 1, s0 + n * city.schools, city.scans],
        ),
        (
            "INSERT INTO audit_auditentry (at, user_id, username, role, action, object_type, "
            "object_id, object_repr, outcome, channel, detail) "
            "SELECT now() - random() * interval '365 days', u, 'user' || u, 'school_admin', "
            "'device.change', "
            "'devices.device', u::text, 'a device', 'success', 'ui', '{}' "
            "FROM generate_series(%s::int, %s::int) u, generate_series(1, %s::int) k",
            [u0 + 1, u0 + n * city.users, city.audit],
        ),
    ]
    with conn.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
        conn.commit()
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for statement in again:
            cursor.execute(statement)
        conn.commit()
        for table in GROWING:
            cursor.execute(f"ANALYZE {table}")
    conn.commit()
    return time.perf_counter() - started


def queries(city: City) -> dict[str, tuple[str, object]]:
    """name: (SQL as the pages send it, a random target of city 1)."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    month = today.replace(day=1)
    return {
        "device's recent transitions": (
            "SELECT id, at, from_status, to_status, reason FROM devices_statuschange "
            "WHERE device_id = %s ORDER BY at DESC, id DESC LIMIT 50",
            lambda: [random.randint(1, city.devices)],
        ),
        "school's alarms this week": (
            "SELECT id, received_at, priority, description FROM alarms_alarmevent "
            "WHERE school_id = %s AND received_at >= %s ORDER BY received_at DESC, id DESC",
            lambda: [random.randint(1, city.schools), today - dt.timedelta(days=7)],
        ),
        "today's scans of a tour": (
            "SELECT occurred_at, checkpoint_id FROM patrols_tourscan WHERE school_id = %s "
            "AND occurred_at BETWEEN %s AND %s AND checkpoint_id IS NOT NULL",
            lambda: [random.randint(1, city.schools), today, today + dt.timedelta(hours=12)],
        ),
        "user's audit log this month": (
            "SELECT id, at, action, object_repr FROM audit_auditentry WHERE username = %s "
            "AND at >= %s ORDER BY at DESC, id DESC LIMIT 100",
            lambda: [f"user{random.randint(1, city.users)}", month],
        ),
    }


def measure(conn: psycopg.Connection, city: City, runs: int) -> dict[str, tuple[float, float]]:
    """Each query's median milliseconds and median rows over ``runs`` random targets."""
    result = {}
    with conn.cursor() as cursor:
        for name, (sql, target) in queries(city).items():
            for _ in range(20):  # warm the cache and the plan
                cursor.execute(sql, target())
                cursor.fetchall()
            times, rows = [], []
            for _ in range(runs):
                params = target()
                started = time.perf_counter()
                cursor.execute(sql, params)
                found = cursor.fetchall()
                times.append((time.perf_counter() - started) * 1000)
                rows.append(len(found))
            result[name] = (statistics.median(times), statistics.median(rows))
    conn.rollback()
    return result


def sizes(conn: psycopg.Connection) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--scale", type=int, default=20)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--schools", type=int, default=2000)
    parser.add_argument("--devices-per-school", type=int, default=10)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--transitions", type=int, default=24)
    parser.add_argument("--alarms", type=int, default=50)
    parser.add_argument("--scans", type=int, default=600)
    parser.add_argument("--audit", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="leave the database")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("needs DATABASE_URL (or --database-url) of a PostgreSQL server")
    city = City(args)
    url, name = create_database(args.database_url)
    print(f"database {name}; a city's year = {city.rows():,} rows")
    try:
        migrate(url)
        with psycopg.connect(url) as conn:
            prepare(conn, dt.datetime.now(dt.UTC).date())
            conn.commit()
            took = load(conn, city, 1, 1)
            print(f"1×: loaded in {took:.0f} s, database {sizes(conn)}")
            one = measure(conn, city, args.runs)
            for query, (ms, rows) in one.items():
                print(f"  1×  {query}: {ms:.3f} ms ({rows:.0f} rows)", flush=True)
            took = load(conn, city, 2, args.scale)
            print(f"{args.scale}×: loaded in {took:.0f} s more, database {sizes(conn)}")
            many = measure(conn, city, args.runs)
        print(f"\n| hot query | 1× ms (rows) | {args.scale}× ms (rows) | ratio |")
        print("|---|---|---|---|")
        for query, (ms, rows) in one.items():
            ms_n, rows_n = many[query]
            print(
                f"| {query} | {ms:.3f} ({rows:.0f}) | {ms_n:.3f} ({rows_n:.0f}) | {ms_n / ms:.2f} |"
            )
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            drop_database(args.database_url, name)


if __name__ == "__main__":
    main()
