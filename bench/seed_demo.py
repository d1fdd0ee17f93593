"""Benchmark: how long ``campus-safety seed-demo`` takes to build the full demo city.

Each run gets a fresh database (a new temp data dir for SQLite, or a new database on
the ``--database-url`` server), runs ``migrate``, then times ``seed-demo`` as a
subprocess, as a user would run it. Prints each run and the median; target ≤ 60 s.

    .venv/bin/python bench/seed_demo.py [--runs 3] [--seed 371400]
    .venv/bin/python bench/seed_demo.py --database-url postgres://postgres@127.0.0.1/
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TARGET_SECONDS = 60.0
COMMAND = [sys.executable, "-m", "campus_safety.cli"]


def run(args: list[str], env: dict[str, str]) -> float:
    """Run one ``campus-safety`` command; returns its wall time in seconds."""
    started = time.perf_counter()
    result = subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True,
                            check=False)  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"campus-safety {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    import psycopg

    parts = urlsplit(server_url)
    name = f"cs_bench_{uuid.uuid4().hex[:10]}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(database_url: str | None) -> Iterator[dict[str, str]]:
    """Environment for a run: its own data dir, and its own database."""
    with tempfile.TemporaryDirectory(prefix="cs-bench-seed-") as data_dir:
        env = {**os.environ, "CAMPUS_SAFETY_DATA_DIR": data_dir}
        env.pop("DATABASE_URL", None)
        if database_url is None:
            yield env
            return
        with fresh_postgres(database_url) as url:
            yield {**env, "DATABASE_URL": url}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=371400)
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()

    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"seed-demo benchmark: {args.runs} runs on {backend}, seed {args.seed}")
    times = []
    for i in range(1, args.runs + 1):
        with fresh_database(args.database_url) as env:
            migrate = run(["migrate", "--noinput", "-v", "0"], env)
            seed = run(["seed-demo", "--seed", str(args.seed), "-v", "0"], env)
            if i == 1:
                db = Path(env["CAMPUS_SAFETY_DATA_DIR"]) / "campus_safety.sqlite3"
                size = f", database {db.stat().st_size / 1e6:.1f} MB" if db.exists() else ""
                print(f"  (migrate {migrate:.2f} s{size})")
        times.append(seed)
        print(f"  run {i}: seed-demo {seed:6.2f} s")
    median = statistics.median(times)
    verdict = "OK" if median <= TARGET_SECONDS else "SLOWER THAN TARGET"
    print(f"median {median:.2f} s (target ≤ {TARGET_SECONDS:.0f} s): {verdict}")


if __name__ == "__main__":
    main()
