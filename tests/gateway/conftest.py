"""Fixtures for the tests that run ``campus-safety serve`` as a process
(``tests/gateway/serve_process.py``)."""

from __future__ import annotations

import os
import secrets

import pytest
from django.conf import settings

from campus_safety.simulator.ports import free_port
from tests.gateway.serve_process import MQTT_URL, PASSWORD, ROOT, manage


@pytest.fixture
def database_url():
    """A database of the suite's engine that only this test's platform uses."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        yield ""  # SQLite file in the data dir
        return
    import psycopg

    db = settings.DATABASES["default"]
    name = f"cs_serve_{os.getpid()}_{secrets.token_hex(3)}"
    server = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"])
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{db['USER']}@{server['host']}:{server['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def platform_env(database_url, tmp_path):
    """The environment of a platform with SIP (no rate limit), MQTT and its own data
    directory and database, migrated."""
    tag = f"{os.getpid()}{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "CAMPUS_SAFETY_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "serve-test-" + tag,
        "GB28181_ENABLED": "1",
        "GB28181_HOST": "127.0.0.1",
        "GB28181_PORT": str(free_port()),
        "GB28181_PASSWORD": PASSWORD,
        "GB28181_RATE_LIMIT": "0",
        "MQTT_URL": MQTT_URL,
        "MQTT_CLIENT_ID": f"cs-serve-{tag}",
        "MQTT_SHARE_GROUP": f"serve{tag}",
        # other test runs publish on the same broker with the same device IDs
        "MQTT_TOPIC_ROOT": f"test-{tag}/campus/v1",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("REDIS_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
    manage(env, "migrate", "--noinput", "-v", "0")
    return env
