"""Django for the in-process benches: a temp data dir, and with a PostgreSQL server URL a
fresh database of the bench's own, migrated; dropped again by ``drop_database``."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path


def database_name(tag: str) -> str:
    return f"cs_{tag}_bench_{os.getpid()}"


def setup_django(database_url: str | None, tag: str, template: Path | None = None) -> Path:
    """Set Django up on a temp data dir (and a fresh database ``cs_<tag>_bench_<pid>`` on
    the server of ``database_url``); returns the data dir. ``template``: a data dir
    seeded before (SQLite), copied in so that a run on a quiet machine skips seeding."""
    # bench/ is first on sys.path when a bench runs: its scripts must not stand in for
    # modules of the same name that Django or the platform import
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    data_dir = Path(tempfile.mkdtemp(prefix=f"cs-{tag}-bench-"))
    if template is not None and (template / "campus_safety.sqlite3").exists():
        shutil.copytree(template, data_dir, dirs_exist_ok=True)
    os.environ["CAMPUS_SAFETY_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
    if database_url:
        name = database_name(tag)
        base = database_url.rstrip("/")
        os.environ["DATABASE_URL"] = f"{base}/{name}"
        import psycopg

        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return data_dir


def drop_database(database_url: str | None, tag: str) -> None:
    """Drop the bench's database (no-op on SQLite)."""
    if not database_url:
        return
    from django.db import connections

    connections.close_all()
    import psycopg

    base = database_url.rstrip("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        # WITH (FORCE): the connection pool's sessions (settings.py) outlive close_all()
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(tag)}" WITH (FORCE)')
