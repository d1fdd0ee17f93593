"""``POST /api/v1/ingest`` on the lean ASGI app that ``serve`` puts in front of Django.

The app is driven as a server would drive it — a scope, a ``receive`` handing out the
body in chunks, a ``send`` collecting the answer — on an event loop, without a
network. A device's secret the first time, and the commit where no ingestion writer
runs, are read on a worker thread, so the data they must see is committed
(``transaction=True``).
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from django.db import connections

from campus_safety import clock
from campus_safety.alarms.models import AlarmEvent
from campus_safety.devices import liveness
from campus_safety.gateway import http_asgi
from campus_safety.gateway.contract import signature
from tests.devices.support import SECRET, DeviceFactory, fresh_liveness
from tests.gateway.test_committer import alarm_table_unavailable

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/ingest"
TS = "2026-03-02T08:15:00+08:00"


@pytest.fixture(autouse=True)
def live(transactional_db, clock):
    yield fresh_liveness()
    liveness.reset()


@pytest.fixture
def device():
    return DeviceFactory(protocol="http")


@dataclass
class Exchange:
    """One request as the app saw it: how often it asked for the body, what it sent."""

    reads: int = 0
    sent: list[dict] = field(default_factory=list)

    @property
    def status(self) -> int:
        assert self.sent[0]["type"] == "http.response.start"
        return self.sent[0]["status"]

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])

    def json(self):
        return json.loads(self.body)


def call(
    app,
    *,
    method: str = "POST",
    path: str = PATH,
    headers: dict[str, str] | None = None,
    messages: list[dict] | None = None,
    scope_type: str = "http",
    hang_up: bool = True,
) -> Exchange:
    """Run one request through ``app``. ``messages`` are what ``receive`` hands out, in
    turn; after them the client is gone (``http.disconnect``), or with ``hang_up=False``
    stays connected, awaiting the answer (Django listens for a disconnect meanwhile)."""
    exchange = Exchange()
    pending = list(messages if messages is not None else [{"type": "http.request"}])
    scope = {
        "type": scope_type,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("10.1.2.3", 50123),
        "server": ("testserver", 80),
    }

    async def receive():
        exchange.reads += 1
        if pending:
            return pending.pop(0)
        if not hang_up:
            await asyncio.get_running_loop().create_future()  # until the app stops asking
        return {"type": "http.disconnect"}

    async def send(message):
        exchange.sent.append(message)

    async def main():
        # One worker thread, whose database connection is closed afterwards (a thread
        # left holding one would keep the test database open).
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        try:
            await app(scope, receive, send)
        finally:
            await loop.run_in_executor(None, connections.close_all)

    asyncio.run(main())
    return exchange


def body_of(device, events) -> bytes:
    return json.dumps({"device_id": device.device_id, "events": events}).encode()


def signed(device, body: bytes, *, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(clock.now().timestamp()))
    return {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "X-Device-Id": device.device_id,
        "X-Timestamp": timestamp,
        "X-Signature": signature(secret, timestamp, body),
    }


def alarm(event_id: str, **fields) -> dict:
    return {"kind": "alarm", "event_id": event_id, "ts": TS, "priority": 1, **fields}


def in_chunks(body: bytes, size: int) -> list[dict]:
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    return [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]


def ingest_app(scope, receive, send):
    return http_asgi.with_ingest(refuse_django)(scope, receive, send)


async def refuse_django(scope, receive, send):
    raise AssertionError(f"{scope['path']} should not have reached Django")


def test_a_signed_batch_is_stored_and_answered_per_event(device):
    body = body_of(device, [alarm("h-1"), alarm("h-2", description="后门入侵"), alarm("h-1")])
    answer = call(ingest_app, headers=signed(device, body), messages=in_chunks(body, 64))
    assert answer.status == 200
    data = answer.json()
    assert data["device_id"] == device.device_id
    assert [(r["index"], r["event_id"], r["outcome"]) for r in data["results"]] == [
        (0, "h-1", "accepted"),
        (1, "h-2", "accepted"),
        (2, "h-1", "duplicate"),
    ]
    assert (data["accepted"], data["duplicate"], data["rejected"]) == (2, 1, 0)
    stored = AlarmEvent.objects.filter(device=device, protocol="http")
    assert sorted(stored.values_list("event_id", flat=True)) == ["h-1", "h-2"]
    assert stored.get(event_id="h-2").description == "后门入侵"


def test_a_batch_with_a_bad_event_is_answered_207_and_keeps_the_good_ones(device):
    body = body_of(device, [alarm("g-1"), alarm("g-2", priority=9)])
    answer = call(ingest_app, headers=signed(device, body), messages=in_chunks(body, 4096))
    assert answer.status == 207
    results = answer.json()["results"]
    assert [r["outcome"] for r in results] == ["accepted", "rejected"]
    assert results[1]["reason"] == "priority must be an integer from 1 to 4"
    assert AlarmEvent.objects.get().event_id == "g-1"


def test_a_bad_signature_is_refused_with_a_challenge(device):
    body = body_of(device, [alarm("x-1")])
    answer = call(
        ingest_app,
        headers=signed(device, body, secret="not-the-secret"),
        messages=in_chunks(body, 4096),
    )
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith("HMAC-SHA256")
    assert answer.json() == {"error": "bad signature"}
    assert not AlarmEvent.objects.exists()


def test_a_batch_the_database_could_not_commit_is_answered_503_so_the_device_resends(device):
    """Nothing was stored, so nothing may be acknowledged: the device keeps the batch."""
    body = body_of(device, [alarm("db-1")])
    with alarm_table_unavailable():
        answer = call(ingest_app, headers=signed(device, body), messages=in_chunks(body, 4096))
    assert answer.status == 503
    assert answer.json() == {"error": "events not stored yet; send the batch again"}
    assert not AlarmEvent.objects.exists()
    again = call(ingest_app, headers=signed(device, body), messages=in_chunks(body, 4096))
    assert [r["outcome"] for r in again.json()["results"]] == ["accepted"]


def test_the_secret_is_read_once_and_a_change_to_the_device_is_heeded_at_once(device):
    from campus_safety.devices.models import Device
    from campus_safety.personal_data import encrypt

    def send(event_id: str, secret: str) -> int:
        body = body_of(device, [alarm(event_id)])
        headers = signed(device, body, secret=secret)
        return call(ingest_app, headers=headers, messages=in_chunks(body, 4096)).status

    assert send("k-1", SECRET) == 200
    # Behind the platform's back (no save signal): the route keeps the secret it read.
    Device.objects.filter(pk=device.pk).update(secret=encrypt("rotated-secret"))
    assert send("k-2", SECRET) == 200
    # A save through the platform tells the directory, which empties the cache.
    device.refresh_from_db()
    device.save()
    assert send("k-3", SECRET) == 401
    assert send("k-4", "rotated-secret") == 200
    device.is_approved = False
    device.save()
    assert send("k-5", "rotated-secret") == 401
    assert sorted(AlarmEvent.objects.values_list("event_id", flat=True)) == ["k-1", "k-2", "k-4"]


def test_only_post_is_allowed_and_the_body_is_not_read():
    answer = call(ingest_app, method="GET")
    assert answer.status == 405
    assert answer.headers["allow"] == "POST"
    assert answer.reads == 0


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(device, settings):
    settings.INGEST_HTTP_MAX_BYTES = 1024
    body = body_of(device, [alarm("big", description="x" * 2000)])
    answer = call(ingest_app, headers=signed(device, body), messages=in_chunks(body, 256))
    assert answer.status == 413
    assert answer.json() == {"error": "body larger than 1024 bytes"}
    assert answer.reads == 0
    assert not AlarmEvent.objects.exists()


def test_a_streamed_body_over_the_limit_is_refused_once_it_passes_the_limit(device, settings):
    """No Content-Length (chunked upload): the app counts as it reads and stops reading
    at the chunk that crosses the limit, rather than buffering whatever is sent."""
    settings.INGEST_HTTP_MAX_BYTES = 1024
    body = body_of(device, [alarm("big", description="x" * 1800)])
    headers = signed(device, body)
    del headers["Content-Length"]
    chunks = in_chunks(body, 400)
    assert len(chunks) >= 5
    answer = call(ingest_app, headers=headers, messages=chunks)
    assert answer.status == 413
    assert answer.reads == 3  # 400 + 400 + 400 > 1024
    assert not AlarmEvent.objects.exists()


def test_a_client_that_hangs_up_mid_body_gets_no_answer_and_nothing_is_stored(device):
    body = body_of(device, [alarm("gone-1")])
    answer = call(ingest_app, headers=signed(device, body), messages=in_chunks(body, 32)[:2])
    assert answer.sent == []
    assert answer.reads == 3  # two chunks, then the disconnect
    assert not AlarmEvent.objects.exists()


def test_every_answer_is_json_never_sniffed_or_cached(device):
    body = body_of(device, [alarm("hd-1")])
    for answer in (
        call(ingest_app, headers=signed(device, body), messages=in_chunks(body, 4096)),
        call(ingest_app, method="PUT"),
    ):
        headers = answer.headers
        assert headers["content-type"] == "application/json"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
        assert headers["content-length"] == str(len(answer.body))
        assert answer.sent[-1].get("more_body", False) is False


def test_other_paths_and_other_scopes_go_to_django_unchanged():
    seen: list[tuple[str, str]] = []

    async def django(scope, receive, send):
        seen.append((scope["type"], scope["path"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = http_asgi.with_ingest(django)
    assert call(app, method="GET", path="/healthz").status == 204
    assert call(app, path=PATH + "/").status == 204
    call(app, path=PATH, scope_type="websocket")
    assert seen == [("http", "/healthz"), ("http", PATH + "/"), ("websocket", PATH)]


def test_the_served_application_answers_other_paths_with_django():
    """``campus_safety.asgi.application`` (what uvicorn serves) is Django plus this route."""
    from campus_safety.asgi import application

    answer = call(application, method="GET", path="/healthz", hang_up=False)
    assert answer.status == 200
    assert json.loads(answer.body)["status"] == "ok"
    refused = call(application, method="GET", path=PATH, hang_up=False)
    assert (refused.status, refused.headers["allow"]) == (405, "POST")
    assert refused.json() == {"error": "use POST"}  # the lean app, not Django's 405
