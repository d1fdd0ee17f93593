"""A normal stop (SIGTERM, as systemd, Docker and Kubernetes stop a service) is quick and
loses nothing acknowledged (issue #13, defect 2).

``campus-safety serve`` runs as a real process with every gateway on; a dispatcher's
console holds ``/live/stream`` open and HTTP devices keep sending alarms while the
platform is told to stop. The stream must end at once (the console reconnects and
replays), the process must be gone within 5 s, and every alarm a device saw
acknowledged must be in the database afterwards; one not acknowledged may or may not be
stored (its device sends it again and hears "duplicate").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass

import pytest

from campus_safety.gateway import committer
from campus_safety.gateway.contract import signature
from campus_safety.gateway.mqtt import MqttConfig, MqttSubscriber
from campus_safety.simulator.http_devices import HttpDevice, HttpFleet
from campus_safety.simulator.ports import free_port
from tests.gateway.serve_process import Platform, manage, set_up_devices

pytestmark = [pytest.mark.mqtt]

STOP_SECONDS = 5.0  # the bound on a stop, signal to exit
STREAM_END_SECONDS = 2.0  # "at once", with room for a loaded machine

SIGN_IN = """
from django.test import Client
from campus_safety.accounts.models import User
from tests.factories import sign_in
client = Client()
sign_in(client, User.objects.get(username="city-dispatcher"))
print(client.cookies["sessionid"].value)
"""

STORED = """
import json
from campus_safety.alarms.models import AlarmEvent
rows = AlarmEvent.objects.values_list("device__device_id", "event_id")
print(json.dumps([list(row) for row in rows]))
"""


class LiveStream:
    """A console's ``/live/stream`` on a raw connection: what it received, and when the
    server ended it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = ""
        self.ended_at: float | None = None

    @classmethod
    async def open(cls, port: int, session: str) -> LiveStream:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /live/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Accept: text/event-stream\r\nCookie: sessionid={session}\r\n\r\n".encode()
        )
        stream = cls(reader, writer)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200"), head
        while "event: live.hello" not in stream.received:
            stream.received += (await asyncio.wait_for(reader.read(4096), 10)).decode()
        return stream

    async def read_to_the_end(self) -> None:
        while chunk := await self.reader.read(4096):
            self.received += chunk.decode()
        self.ended_at = time.monotonic()
        self.writer.close()


@dataclass
class Sent:
    """One alarm as its device saw it: when it went out, and the answer (0: none)."""

    device_id: str
    event_id: str
    at: float
    status: int

    @property
    def is_acknowledged(self) -> bool:
        return self.status == 200


async def keep_sending(
    http: HttpFleet, device: HttpDevice, sent: list[Sent], until: asyncio.Event
) -> None:
    """A device with an alarm after another, each sent once, until ``until`` is set."""
    while not until.is_set():
        event = http.event("alarm", priority=1, description="一键报警")
        at = time.monotonic()
        status, answer = await http.post(device, [event])
        if status == 200:
            assert answer["results"][0]["outcome"] == "accepted", answer
        sent.append(Sent(device.device_id, event["event_id"], at, status))
        await asyncio.sleep(0.01 if status else 0.05)


async def is_refusing(port: int) -> bool:
    """True once the platform no longer accepts connections: its stop has begun."""
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def send_in_two_halves(
    http: HttpFleet, device: HttpDevice, port: int, signalled: asyncio.Event
) -> Sent:
    """An alarm whose request is in flight when the stop begins: the head and half the
    body before the signal, the rest once the platform refuses new connections."""
    event = http.event("alarm", priority=1, description="一键报警")
    body = json.dumps({"device_id": device.device_id, "events": [event]}).encode()
    timestamp = str(int(time.time()))
    head = (
        f"POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-Device-Id: {device.device_id}\r\nX-Timestamp: {timestamp}\r\n"
        f"X-Signature: {signature(device.secret, timestamp, body)}\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    half = len(body) // 2
    writer.write(head.encode() + body[:half])
    await writer.drain()
    await signalled.wait()
    deadline = time.monotonic() + STOP_SECONDS
    while not await is_refusing(port) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    at = time.monotonic()
    writer.write(body[half:])
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return Sent(device.device_id, event["event_id"], at, status)


async def stop_while_busy(platform: Platform, devices: list[str], secret: str, session: str):
    """Open a console's stream, start the devices, SIGTERM the platform once alarms are
    being acknowledged; return the figures of the stop."""
    http = HttpFleet(f"http://127.0.0.1:{platform.port}", timeout=5)
    fleet = [HttpDevice(device_id, secret) for device_id in devices]
    stream = await LiveStream.open(platform.port, session)
    reading = asyncio.create_task(stream.read_to_the_end())
    sent: list[Sent] = []
    gone, signalled = asyncio.Event(), asyncio.Event()
    sending = [asyncio.create_task(keep_sending(http, d, sent, gone)) for d in fleet[1:]]
    in_flight = asyncio.create_task(send_in_two_halves(http, fleet[0], platform.port, signalled))
    deadline = time.monotonic() + 30
    while sum(s.is_acknowledged for s in sent) < 20:
        assert time.monotonic() < deadline, f"alarms not acknowledged: {sent[-5:]}"
        await asyncio.sleep(0.05)
    signalled_at = time.monotonic()
    os.killpg(platform.process.pid, signal.SIGTERM)  # as systemd, Docker, Kubernetes do
    signalled.set()
    with contextlib.suppress(subprocess.TimeoutExpired):  # still running: the figures say so
        await asyncio.to_thread(platform.process.wait, STOP_SECONDS * 3)
    exited_at = time.monotonic()
    gone.set()
    await asyncio.gather(*sending)
    if platform.process.poll() is None:
        os.killpg(platform.process.pid, signal.SIGKILL)
    last = await in_flight
    await asyncio.wait_for(reading, 10)
    return {
        "sent": [*sent, last],
        "in_flight": last,
        "signalled_at": signalled_at,
        "stop_seconds": exited_at - signalled_at,
        "stream": stream,
    }


def test_sigterm_ends_open_streams_at_once_and_exits_in_5_s_losing_no_acknowledged_alarm(
    platform_env, tmp_path
):
    setup = set_up_devices(platform_env, 4)
    session = manage(platform_env, "shell", "-c", SIGN_IN).strip().splitlines()[-1]
    platform = Platform(platform_env, free_port(), tmp_path / "platform.log")
    platform.start()
    try:
        outcome = asyncio.run(
            stop_while_busy(platform, setup["devices"]["http"], setup["secret"], session)
        )
    finally:
        platform.stop()
    print(f"\nstop with an open stream: {outcome['stop_seconds']:.2f} s")

    assert outcome["stop_seconds"] < STOP_SECONDS, platform.log_path.read_text()[-3000:]
    stream = outcome["stream"]
    assert stream.ended_at - outcome["signalled_at"] < STREAM_END_SECONDS
    # its last words tell the console to come back (EventSource reconnects, then replays)
    assert ": server stopping" in stream.received
    assert stream.received.rindex("retry: ") > stream.received.index("event: live.hello")

    rows = json.loads(manage(platform_env, "shell", "-c", STORED).strip().splitlines()[-1])
    stored = {tuple(row) for row in rows}
    sent = outcome["sent"]
    during_stop = [s for s in sent if s.at >= outcome["signalled_at"]]
    assert during_stop, "no alarm was sent while the platform stopped"
    # the request in flight at the signal is finished, committed and acknowledged
    in_flight = outcome["in_flight"]
    assert in_flight.is_acknowledged, in_flight
    lost = [s for s in sent if s.is_acknowledged and (s.device_id, s.event_id) not in stored]
    assert not lost, f"acknowledged but not stored: {lost[:5]}"


def test_mqtt_acknowledges_nothing_the_stopped_writer_did_not_store(monkeypatch):
    """A batch the MQTT worker hands over as the writer stops is left to the broker's
    redelivery (to the next process), never acknowledged as if it had been stored."""
    writer = committer.Committer().start()
    writer.stop()
    monkeypatch.setattr(committer, "_current", writer)
    subscriber = MqttSubscriber(MqttConfig())
    sent = []
    monkeypatch.setattr(
        subscriber.client, "_packet_queue", lambda *packet: sent.append(packet), raising=False
    )
    alarm = json.dumps({"event_id": "stop-1", "ts": "2026-03-02T08:00:00+08:00", "priority": 1})
    # as the network thread hands it over: (packet ID, QoS, topic, payload)
    subscriber._on_publishes([(7, 1, b"campus/v1/37140200111347000001/alarm", alarm.encode())])
    subscriber._worker.start()
    deadline = time.monotonic() + 5
    while not subscriber._queue.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    subscriber._stopping.set()
    subscriber._worker.join(5)
    assert sent == [] and subscriber.metrics["acked"] == 0
