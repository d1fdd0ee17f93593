"""The console log an operator reads (issue #14 item 11): one line per refused request,
one time zone (the app's), and no access line per device message."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import time
import urllib.error
import urllib.request
import zoneinfo

import pytest

from campus_safety.simulator.ports import free_port
from tests.gateway.serve_process import ROOT, Platform, manage


@pytest.fixture
def console():
    """What the configured console handler (settings.LOGGING) writes, as text."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    written = io.StringIO()
    # swapped without setStream, which flushes the old stream first: under pytest that is
    # an earlier test's captured stderr, already closed
    with handler.lock:
        previous, handler.stream = handler.stream, written
    yield written
    with handler.lock:
        handler.stream = previous


def test_a_403_is_one_line_without_a_traceback(client, dispatcher, console):
    assert client.get("/audit/").status_code == 403  # the auditor's page
    lines = console.getvalue().splitlines()
    assert len(lines) == 1, console.getvalue()
    assert "Forbidden" in lines[0] and "/audit/" in lines[0]
    assert "Traceback" not in console.getvalue()


def test_a_500_keeps_its_traceback(console):
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        logging.getLogger("django.request").error(
            "Internal Server Error: %s", "/x/", exc_info=True, extra={"status_code": 500}
        )
    assert "Traceback" in console.getvalue() and "RuntimeError: a bug" in console.getvalue()


@pytest.fixture
def process_in_utc(monkeypatch):
    """The process's own zone is UTC (a machine without the system tz database, where
    Django's ``TZ=Asia/Shanghai`` silently means UTC to the C library)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_log_times_are_in_the_apps_time_zone_whatever_the_process_zone(
    process_in_utc, console, settings
):
    logging.getLogger("campus_safety.test").warning("hello")
    now = dt.datetime.now(zoneinfo.ZoneInfo(settings.TIME_ZONE))
    stamp = console.getvalue().split(" WARNING ")[0]
    assert stamp.endswith("+0800")  # Asia/Shanghai, said on every line
    logged = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f%z")
    assert abs(logged - now) < dt.timedelta(minutes=1)


@pytest.fixture(scope="module")
def serve_env(tmp_path_factory):
    """A platform of its own (SQLite in its data dir), migrated, with no gateway."""
    env = {
        **os.environ,
        "CAMPUS_SAFETY_DATA_DIR": str(tmp_path_factory.mktemp("serve")),
        "LOG_LEVEL": "INFO",
        "GB28181_ENABLED": "0",
        "MQTT_URL": "",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    for name in ("REDIS_URL", "DATABASE_URL", "ACCESS_LOG"):
        env.pop(name, None)
    manage(env, "migrate", "--noinput", "-v", "0")
    return env


def _request(url: str, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _log_after_requests(env: dict[str, str], tmp_path) -> str:
    port = free_port()
    platform = Platform(env, port, tmp_path / "serve.log")
    platform.start()
    try:
        base = f"http://127.0.0.1:{port}"
        assert _request(f"{base}/api/v1/ingest", b"[]") in {400, 401, 403}  # a device's door
        assert _request(f"{base}/accounts/login/") == 200  # a page
    finally:
        platform.stop()
    return (tmp_path / "serve.log").read_text()


def test_the_access_log_leaves_out_device_messages_but_not_pages(serve_env, tmp_path):
    log = _log_after_requests(serve_env, tmp_path)
    access = [line for line in log.splitlines() if "uvicorn.access" in line]
    assert any('"GET /accounts/login/ HTTP/1.1" 200' in line for line in access), log
    assert not any("/api/v1/ingest" in line for line in access), log
    assert not any("/healthz" in line for line in access), log  # the start-up's probe
    assert all(line[:4].isdigit() and "+0800 INFO" in line for line in access), log
    assert " INFO uvicorn: Uvicorn running on " in log and "uvicorn.error" not in log


def test_access_log_all_shows_device_messages_too(serve_env, tmp_path):
    log = _log_after_requests({**serve_env, "ACCESS_LOG": "all"}, tmp_path)
    assert '"POST /api/v1/ingest HTTP/1.1"' in log, log


def test_access_log_off_shows_no_request(serve_env, tmp_path):
    log = _log_after_requests({**serve_env, "ACCESS_LOG": "off"}, tmp_path)
    assert "uvicorn.access" not in log and "/accounts/login/" not in log, log
