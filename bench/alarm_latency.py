"""Benchmark: alarm latency from the device to a dispatcher's console (the live stream).

Starts the platform (``campus-safety serve`` with the SIP server on a free port, the MQTT
subscriber on the local broker) on a temp data dir — SQLite, or with ``--database-url``
a fresh PostgreSQL database dropped afterwards — with ``--devices`` one-key alarm boxes
per protocol, each in its own school (so an alarm joins only its own device's case),
and a dispatcher of the whole city. It signs the dispatcher in (password, then TOTP
enrolment), opens ``GET /live/stream`` on a small asyncio SSE client in its own thread,
and, one protocol at a time, sends alarms at a paced rate: GB/T 28181 Alarm Notify
(SIP MESSAGE over UDP), MQTT publish at QoS 1, HTTP ``POST /api/v1/ingest``. Latency
is the send time to the ``alarm.event`` frame's arrival on the stream; an alarm not
seen within ``--timeout`` is lost. Rates step up (``--rates``) until p99 > 1 s or
something is lost (down by halves if the first rate already fails); the last good one
is the highest sustained rate. Target: p99 ≤ 100 ms at 100 alarms/s. Loopback only;
the temp dir, the platform and the database are gone afterwards.

    .venv/bin/python bench/alarm_latency.py [--seconds 30] [--rates 100,200,400,800,1600]
        [--protocols gb28181,mqtt,http] [--database-url postgres://postgres@127.0.0.1:5432/]
        [--quick]

``--burst 1000`` measures the earthquake instead (issue #22): that many boxes, split over
the protocols, each send their first alarm within one second (so every alarm opens a
case), watched by ``--consoles`` (3) dispatcher consoles; printed: alarms confirmed to
their devices, stored, and for each console how many it received and when the last one
arrived (target: all of them on every console within 5 s, nothing lost).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import api_schools  # the sibling bench: its cookie-jar client and sign-in (password + TOTP)

from campus_safety.simulator.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "campus_safety.cli"]
TARGET_RATE, TARGET_P99_MS, SUSTAINED_P99_MS = 100, 100.0, 1000.0
PLATFORM_ID, DOMAIN, PASSWORD = "37140000002000000001", "3714000000", "Bench-pass-2026"
MQTT_URL = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
PROTOCOLS = {"gb28181": "GB/T 28181 (UDP)", "mqtt": "MQTT (QoS 1)", "http": "HTTP POST"}
SERIAL_BASE = {"gb28181": 200_000, "mqtt": 300_000, "http": 400_000}
DISPATCHER = "bench-dispatcher"
SETUP = """
import json
from campus_safety.accounts.models import User
from campus_safety.devices.identifiers import make_device_id
from tests.devices.support import SECRET, DeviceFactory
from tests.factories import SchoolFactory, UserFactory, city_region
devices = {}
for protocol, base in %(bases)r.items():
    devices[protocol] = [
        DeviceFactory(school=SchoolFactory(), protocol=protocol, keepalive_interval=3600,
                      device_id=make_device_id("371499", "134", base + n)).device_id
        for n in range(%(count)d)
    ]
user = UserFactory(username=%(user)r, role=User.Role.DISPATCHER, region=city_region())
user.set_password(%(password)r)
user.save()
print(json.dumps({"devices": devices, "secret": SECRET}))
"""


def run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([*COMMAND, *args], env=env, cwd=ROOT, capture_output=True,
                            text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"campus-safety {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Platform:
    """The platform process in its own process group."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.port, self.log_path = port, log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [*COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the platform exited ({self.process.returncode}):\n{self.tail()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.3)
        sys.exit("the platform did not start in time:\n" + self.tail())

    def cpu_seconds(self) -> float:
        """User + system CPU the platform has used so far (Linux /proc): the cost per
        alarm, which other load on the machine does not inflate as it does latency."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def ingest_counts(self) -> tuple[int, int]:
        """(transactions, messages) of the platform's group-commit writer so far."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
            counts = json.load(r).get("ingest") or {}
        return counts.get("batches", 0), counts.get("messages", 0)

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


class LiveClient:
    """A console's view: ``GET /live/stream`` read on its own thread and event loop, so
    the senders' work does not delay the receipt times. Reconnects with Last-Event-ID
    if the platform closes the stream (e.g. it fell behind), as a browser does."""

    def __init__(self, port: int, cookies: dict[str, str]) -> None:
        self.port = port
        self.cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        # (device_id, key) -> (monotonic receipt, seconds from the live log write to it)
        self.received: dict[tuple[str, str], tuple[float, float]] = {}
        self.reconnects = -1
        self.gaps = 0  # live.gap: more was missed than a replay carries (a browser reloads)
        self.error = ""
        self.attached = threading.Event()
        self._last_id = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._main, name="live-client", daemon=True)

    def start(self, timeout: float = 15) -> None:
        self._thread.start()
        if not self.attached.wait(timeout):
            raise RuntimeError(f"the live stream did not open: {self.error or 'no hello'}")

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)

    def _main(self) -> None:
        async def body() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            while True:
                self.reconnects += 1
                try:
                    await self._read_stream()
                except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                    self.error = repr(exc)
                await asyncio.sleep(0.2)

        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(body())

    async def _read_stream(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            resume = f"Last-Event-ID: {self._last_id}\r\n" if self._last_id else ""
            writer.write(
                f"GET /live/stream HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Cookie: {self.cookie}\r\nAccept: text/event-stream\r\n{resume}\r\n".encode()
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1]
            if status != b"200":
                self.error = f"HTTP {status.decode()} from /live/stream"
                await asyncio.sleep(1)
                return
            chunked = b"transfer-encoding: chunked" in head.lower()
            buffer = b""
            while True:
                if chunked:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    if size == 0:
                        return
                    data = await reader.readexactly(size + 2)
                    data = data[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        return
                at = time.monotonic()
                buffer += data
                *frames, buffer = buffer.split(b"\n\n")
                for raw in frames:
                    self._frame(raw, at)
        finally:
            writer.close()

    def _frame(self, raw: bytes, at: float) -> None:
        fields = {}
        for line in raw.decode("utf-8", "replace").split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = value
        if "id" in fields:
            self._last_id = fields["id"]
        event = fields.get("event")
        if event == "live.hello":
            self.attached.set()
        elif event == "live.gap":
            self.gaps += 1
        elif event == "alarm.event":
            data = json.loads(fields["data"])
            payload = data["payload"]
            key = match_key(payload["device_id"], payload["event_id"])
            if key not in self.received:
                # (receipt, time since the platform wrote it to the live log)
                written = dt.datetime.fromisoformat(data["at"]).timestamp()
                self.received[key] = (at, time.time() - (time.monotonic() - at) - written)


def match_key(device_id: str, event_id: str) -> tuple[str, str]:
    """GB/T 28181 alarm ids are derived by the platform (``gb-<SN>-<digest of device,
    SN and AlarmTime>``): match those on device and SN; the others are the device's own."""
    if event_id.startswith("gb-"):
        return device_id, "gb-" + event_id.split("-")[1]
    return device_id, event_id


class Senders:
    """One way per protocol to send an alarm now; each returns its match key."""

    def __init__(self, args, devices: dict[str, list[str]], secret: str, web_port: int) -> None:
        self.args, self.devices, self.secret, self.web_port = args, devices, secret, web_port
        self.tasks: set[asyncio.Task] = set()
        self.failures = 0
        self.run_tag = secrets.token_hex(3)
        self.numbers = itertools.count(1)
        self.sip = self.mqtt = self.http = None

    async def start(self) -> None:
        from campus_safety.simulator.http_devices import HttpDevice, HttpFleet
        from campus_safety.simulator.mqtt_devices import MqttFleet
        from campus_safety.simulator.sip_devices import SipDevice, SipFleet, SipTarget

        if "gb28181" in self.devices:
            self.sip_devices = [SipDevice(d, "") for d in self.devices["gb28181"]]
            target = SipTarget("127.0.0.1", self.args.sip_port, PLATFORM_ID, DOMAIN, PASSWORD)
            self.sip = SipFleet(target, self.sip_devices)
            await self.sip.start()
            statuses = await self.sip.register_all(concurrency=50)
            if statuses.get(200) != len(self.sip_devices):
                sys.exit(f"GB/T 28181 registration failed: {dict(statuses)}")
        if "mqtt" in self.devices:
            self.mqtt = MqttFleet(
                MQTT_URL, connections=4, client_prefix=f"cs-bench-lat-{os.getpid()}"
            )
            self.mqtt.start()
        if "http" in self.devices:
            self.http = HttpFleet(f"http://127.0.0.1:{self.web_port}", timeout=self.args.timeout)
            self.http_devices = [HttpDevice(d, self.secret) for d in self.devices["http"]]

    def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.sip is not None:
            self.sip.close()
        if self.mqtt is not None:
            self.mqtt.close()

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None or task.result() not in (True, 200):
            self.failures += 1  # refused, unanswered or not confirmed on the device side

    def items(self, protocol: str) -> list:
        return {"gb28181": getattr(self, "sip_devices", []), "mqtt": self.devices.get("mqtt", []),
                "http": getattr(self, "http_devices", [])}[protocol]  # fmt: skip

    def send(self, protocol: str, item) -> tuple[str, str]:
        if protocol == "gb28181":
            # the fleet numbers alarms from the device's SN counter: read the next one
            sn = next(item.sn)
            item.sn = itertools.count(sn)
            self._spawn(self.sip.alarm(item, wait=self.args.timeout, attempts=1))
            return item.device_id, f"gb-{sn}"
        if protocol == "mqtt":
            event_id = f"lat-{self.run_tag}-{next(self.numbers)}"
            now = dt.datetime.now().astimezone().isoformat(timespec="milliseconds")
            body = {"event_id": event_id, "ts": now, "priority": 1, "method": 2,
                    "description": "一键报警"}  # fmt: skip
            self.mqtt.publish(item, "alarm", body)
            return item, event_id
        event = self.http.event("alarm", priority=1, method=2, description="一键报警")
        self._spawn(self._post(item, event))
        return item.device_id, event["event_id"]

    async def _post(self, device, event: dict) -> int:
        status, _ = await self.http.post(device, [event])
        return status


async def paced(send, items: list, rate: float, seconds: float) -> float:
    """Call ``send(item)`` ``rate`` times a second for ``seconds``, cycling through
    ``items``; returns the seconds it took (above ``seconds`` if the sender lagged)."""
    step, sent, index = 0.01, 0, 0
    started = time.monotonic()
    for tick in range(1, int(seconds / step) + 1):
        due = int(tick * rate * step) - sent
        for _ in range(due):
            send(items[index])
            index = (index + 1) % len(items)
        sent += due
        pause = started + tick * step - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
    return time.monotonic() - started


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, -(-int(p * len(ordered)) // 100) - 1)]


async def step(senders: Senders, live: LiveClient, protocol: str, rate: float, seconds: float,
               timeout: float) -> dict:  # fmt: skip
    """Send at ``rate`` for ``seconds``; wait for the stragglers; latency figures."""
    sent: dict[tuple[str, str], float] = {}
    failures = senders.failures

    def send(item) -> None:
        at = time.monotonic()
        sent[senders.send(protocol, item)] = at

    took = await paced(send, senders.items(protocol), rate, seconds)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(key in live.received for key in sent):
        await asyncio.sleep(0.1)
    latencies, tails = [], []
    for key, at in sent.items():
        got = live.received.get(key)
        if got is not None and got[0] - at <= timeout:
            latencies.append((got[0] - at) * 1000)
            tails.append(got[1] * 1000)
    return {
        "protocol": protocol, "rate": rate, "sent": len(sent), "send_rate": len(sent) / took,
        "received": len(latencies), "lost": len(sent) - len(latencies),
        "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
        "max": max(latencies, default=float("nan")), "failed": senders.failures - failures,
        "to_log": percentile([t - f for t, f in zip(latencies, tails, strict=True)], 50),
        "fanout": percentile(tails, 50),
    }  # fmt: skip


def is_good(result: dict) -> bool:
    return result["lost"] == 0 and result["p99"] <= SUSTAINED_P99_MS


HEADER = (f"  {'protocol':<17}{'rate/s':>7}{'sent/s':>8}{'sent':>8}{'lost':>6}{'p50 ms':>9}"
          f"{'p99 ms':>9}{'max ms':>9}{'p50 split: to log + console':>34}  failed"
          f"{'CPU ms/alarm':>14}{'per commit':>12}")  # fmt: skip


def row(r: dict) -> str:
    return (f"  {PROTOCOLS[r['protocol']]:<17}{r['rate']:>7,g}{r['send_rate']:>8,.0f}"
            f"{r['sent']:>8,}{r['lost']:>6,}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['max']:>9.1f}"
            f"{r['to_log']:>19.1f} +{r['fanout']:>11.1f}    {r['failed']:>4}"
            f"{r['cpu_ms']:>14.1f}{r['batch']:>12.1f}")  # fmt: skip


class Ladder:
    """The rates to try: up through ``rates`` while each is sustained; if the first one
    is not, down by halves (to 10/s at least) until one is — so there is always a
    highest sustained rate to report. ``send(good)`` says how the last one went and
    returns None when the search is over."""

    def __init__(self, rates: list[float]) -> None:
        self.rates, self.index, self.any_good, self.done = rates, 0, False, False
        self.current = rates[0]

    def __iter__(self):
        while not self.done:
            yield self.current

    def send(self, good: bool) -> float | None:
        self.any_good = self.any_good or good
        if good and self.index + 1 < len(self.rates) and self.current >= self.rates[0]:
            self.index += 1
            self.current = self.rates[self.index]
        elif not good and not self.any_good and self.current / 2 >= 10:
            self.current /= 2
        else:
            self.done = True
            return None
        return self.current


async def settle(senders: Senders, live: LiveClient, quiet: float = 2, limit: float = 120) -> None:
    """Before the next step, let the platform work off any backlog of the last one (a
    step above capacity leaves one): wait until nothing is in flight and the stream has
    been quiet for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    seen, since = len(live.received), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if len(live.received) != seen:
            seen, since = len(live.received), time.monotonic()
        elif not senders.tasks and time.monotonic() - since >= quiet:
            return
    print(
        f"  (the platform was still busy {limit:.0f} s after the step: what follows may "
        "be slowed by its backlog)"
    )


async def drive(args, setup: dict, live: LiveClient, platform: Platform) -> list[dict]:
    senders = Senders(args, setup["devices"], setup["secret"], platform.port)
    results: list[dict] = []
    try:
        await senders.start()
        print(HEADER)
        for protocol in args.protocols:
            # warm-up: every device's first alarm opens its case; measure the steady state
            await step(senders, live, protocol, 100, len(senders.items(protocol)) / 100, 10)
            await settle(senders, live)
            ladder = Ladder(args.rates)
            for rate in ladder:
                cpu, (batches, messages) = platform.cpu_seconds(), platform.ingest_counts()
                result = await step(senders, live, protocol, rate, args.seconds, args.timeout)
                result["cpu_ms"] = (platform.cpu_seconds() - cpu) * 1000 / max(1, result["sent"])
                batches_now, messages_now = platform.ingest_counts()
                result["batch"] = (messages_now - messages) / max(1, batches_now - batches)
                results.append(result)
                print(row(result), flush=True)
                await settle(senders, live)
                if ladder.send(is_good(result)) is None:
                    break
    finally:
        senders.close()
        await asyncio.sleep(0.1)
    return results


async def burst(args, senders: Senders, lives: list[LiveClient], count: int) -> dict:
    """``count`` alarms from as many boxes within one second, each a box's first alarm."""
    try:
        await senders.start()
        return await _burst(args, senders, lives, count)
    finally:
        senders.close()
        await asyncio.sleep(0.1)


async def _burst(args, senders: Senders, lives: list[LiveClient], count: int) -> dict:
    plan = [(protocol, item) for items in itertools.zip_longest(
        *(senders.items(p) for p in args.protocols)) for protocol, item in
        zip(args.protocols, items, strict=True) if item is not None][:count]  # fmt: skip
    sent: dict[tuple[str, str], float] = {}
    failures = senders.failures
    started = time.monotonic()
    for index, (protocol, item) in enumerate(plan):
        sent[senders.send(protocol, item)] = time.monotonic()
        pause = started + (index + 1) / len(plan) - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
    took = time.monotonic() - started
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and (
        senders.tasks or not all(all(k in live.received for k in sent) for live in lives)
    ):
        await asyncio.sleep(0.05)
    consoles = []
    for live in lives:
        got = [live.received[k][0] - at for k, at in sent.items() if k in live.received]
        last = max((live.received[k][0] for k in sent if k in live.received), default=started)
        consoles.append({"received": len(got), "last": last - started,
                         "p50": percentile([g * 1000 for g in got], 50),
                         "p99": percentile([g * 1000 for g in got], 99),
                         "reconnects": live.reconnects, "gaps": live.gaps})  # fmt: skip
    return {"sent": len(sent), "took": took, "failed": senders.failures - failures,
            "consoles": consoles}  # fmt: skip


def burst_summary(result: dict, stored: int, engine: str) -> None:
    print(f"\nburst ({engine}): {result['sent']:,} alarms sent in {result['took']:.2f} s, "
          f"{result['sent'] - result['failed']:,} confirmed to their devices, "
          f"{stored:,} stored")  # fmt: skip
    for number, console in enumerate(result["consoles"], 1):
        print(f"  console {number}: received {console['received']:,} of {result['sent']:,}, "
              f"the last {console['last']:.2f} s after the first send; latency p50 "
              f"{console['p50']:.0f} ms, p99 {console['p99']:.0f} ms; stream reopened "
              f"{console['reconnects']} time(s), live.gap {console['gaps']} time(s)")  # fmt: skip
    worst = max(c["last"] for c in result["consoles"])
    complete = all(c["received"] == result["sent"] for c in result["consoles"])
    ok = complete and result["failed"] == 0 and stored == result["sent"] and worst <= 5
    print(f"  every alarm on every console within {worst:.2f} s: "
          f"{'OK' if ok else 'BELOW TARGET'} (target ≤ 5 s, nothing lost)")  # fmt: skip


STORED = """
from campus_safety.alarms.models import AlarmEvent
print(AlarmEvent.objects.count())
"""


def summary(args, results: list[dict], engine: str, live: LiveClient) -> None:
    print(f"\nsummary ({engine}; target p99 ≤ {TARGET_P99_MS:.0f} ms at {TARGET_RATE}/s; "
          f"sustained = p99 ≤ {SUSTAINED_P99_MS:.0f} ms and nothing lost for "
          f"{args.seconds:g} s):")  # fmt: skip
    for protocol in args.protocols:
        mine = [r for r in results if r["protocol"] == protocol]
        at_target = next((r for r in mine if r["rate"] == TARGET_RATE), None)
        good = [r["rate"] for r in mine if is_good(r)]
        if at_target is None:
            verdict = f"({TARGET_RATE}/s not in --rates)"
        else:
            ok = at_target["p99"] <= TARGET_P99_MS and at_target["lost"] == 0
            verdict = (f"at {TARGET_RATE}/s p50 {at_target['p50']:.1f} ms, p99 "
                       f"{at_target['p99']:.1f} ms, lost {at_target['lost']}: "
                       f"{'OK' if ok else 'ABOVE TARGET'}")  # fmt: skip
        highest = f"{max(good):,g}/s" if good else "none of the rates tried"
        ceiling = "" if len(good) < len(mine) else " (every rate tried passed)"
        print(f"  {PROTOCOLS[protocol]:<17} {verdict}; highest sustained {highest}{ceiling}")
    if live.reconnects:
        print(
            f"  the live stream was reopened {live.reconnects} time(s) ({live.error or 'closed'})"
        )


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def report_errors(log: Path) -> None:
    """The platform's log goes with the temp dir: show what went wrong in it first."""
    lines = log.read_text(errors="replace").splitlines()
    errors = [line for line in lines if "ERROR" in line or "WARNING" in line]
    if errors:
        print(f"\nplatform log: {len(errors)} warning/error line(s); first ones:")
        for line in list(dict.fromkeys(line[:200] for line in errors))[:3]:
            print(f"  {line}")
    causes = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Full)\b", line)]
    for cause, count in Counter(line[:200] for line in causes).most_common(3):
        print(f"  cause ×{count}: {cause}")


def create_database(base_url: str) -> tuple[str, str]:
    """A fresh database on the server of ``base_url``: (its URL, its name)."""
    import psycopg

    parts = urlsplit(base_url)
    name = f"cs_bench_latency_{os.getpid()}_{secrets.token_hex(3)}"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(base_url: str, name: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(base_url)._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, help="per rate step (30)")
    parser.add_argument(
        "--rates",
        help="alarms per second, stepped up until one is not sustained (100,200,400,800,1600)",
    )
    parser.add_argument("--protocols", default="gb28181,mqtt,http")
    parser.add_argument("--devices", type=int, help="alarm boxes per protocol (200)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10,
        help="an alarm not on the stream this many seconds after sending is lost",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server (postgres://user@host:port/): a fresh database "
        "per run, dropped after; default SQLite in the temp dir",
    )
    parser.add_argument("--burst", type=int, default=0,
                        help="the earthquake: so many boxes' first alarms in 1 s")  # fmt: skip
    parser.add_argument("--consoles", type=int, default=3, help="consoles watching a burst")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 5 s steps at 100 and 400/s, 50 devices per protocol (unless given)",
    )
    args = parser.parse_args()
    defaults = (5, "100,400", 50) if args.quick else (30, "100,200,400,800,1600", 200)
    args.seconds = args.seconds or defaults[0]
    args.rates = args.rates or defaults[1]
    args.devices = args.devices or defaults[2]
    args.seconds = min(args.seconds, 120)
    args.rates = sorted({float(r) for r in args.rates.split(",") if r.strip()})
    args.protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    if unknown := set(args.protocols) - set(PROTOCOLS):
        parser.error(f"unknown protocol(s): {', '.join(sorted(unknown))}")
    args.devices = max(1, min(args.devices, 5000))
    if args.burst:
        args.burst = min(args.burst, 5000)
        args.devices = -(-args.burst // len(args.protocols))

    data_dir = Path(tempfile.mkdtemp(prefix="cs-bench-latency-"))
    args.sip_port, web_port = free_port(), free_port()
    tag = f"{os.getpid()}{secrets.token_hex(2)}"
    env = {
        **os.environ, "CAMPUS_SAFETY_DATA_DIR": str(data_dir), "SECRET_KEY": "bench-" + tag,
        "GB28181_ENABLED": "1", "GB28181_HOST": "127.0.0.1", "GB28181_PORT": str(args.sip_port),
        "GB28181_PASSWORD": PASSWORD, "GB28181_RATE_LIMIT": "0", "MQTT_URL": MQTT_URL,
        "MQTT_CLIENT_ID": f"cs-bench-latency-{tag}", "MQTT_SHARE_GROUP": f"benchlat{tag}",
        "LIVE_STREAM_MAX_SECONDS": "3600", "LOG_LEVEL": "WARNING", "PORT": str(web_port),
        "DEBUG": "0", "PYTHONPATH": str(ROOT),
    }  # fmt: skip
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    os.environ.update({k: env[k] for k in ("CAMPUS_SAFETY_DATA_DIR", "SECRET_KEY")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
    engine = "SQLite"
    platform = live = db_name = None
    lives: list[LiveClient] = []
    try:
        if args.database_url:
            env["DATABASE_URL"], db_name = create_database(args.database_url)
            engine = f"PostgreSQL (database {db_name})"
        if args.burst:
            print(f"alarm burst on {engine}: {args.burst:,} boxes' first alarms within 1 s "
                  f"over {', '.join(args.protocols)}, {args.consoles} consoles")  # fmt: skip
        else:
            print(f"alarm latency benchmark on {engine}: {args.devices} alarm boxes per "
                  f"protocol, {args.seconds:g} s per rate, rates "
                  f"{', '.join(f'{r:g}' for r in args.rates)}/s; "
                  f"target p99 ≤ {TARGET_P99_MS:.0f} ms at {TARGET_RATE}/s")  # fmt: skip
        print(f"  host: {os.cpu_count()} CPUs, {load()} (other load skews the figures)")
        run(["migrate", "--noinput", "-v", "0"], env)
        started = time.monotonic()
        script = SETUP % {"bases": {p: SERIAL_BASE[p] for p in args.protocols},
                          "count": args.devices, "user": DISPATCHER,
                          "password": api_schools.PASSWORD}  # fmt: skip
        setup = json.loads(run(["shell", "-c", script], env).strip().splitlines()[-1])
        print(f"  {args.devices * len(args.protocols)} devices and schools in the registry "
              f"({time.monotonic() - started:.1f} s)")  # fmt: skip
        platform = Platform(env, web_port, data_dir / "platform.log")
        platform.wait_ready()
        browser = api_schools.Browser(web_port)
        with contextlib.redirect_stdout(io.StringIO()):  # its note on reusing the TOTP key
            api_schools.sign_in(browser, DISPATCHER, None)
        live = LiveClient(web_port, browser.cookies)
        live.start()
        import django

        django.setup()
        if args.burst:
            lives = [LiveClient(web_port, browser.cookies) for _ in range(args.consoles - 1)]
            for other in lives:
                other.start()
            senders = Senders(args, setup["devices"], setup["secret"], platform.port)
            result = asyncio.run(burst(args, senders, [live, *lives], args.burst))
            stored = int(run(["shell", "-c", STORED], env).strip().splitlines()[-1])
            burst_summary(result, stored, engine)
        else:
            results = asyncio.run(drive(args, setup, live, platform))
            summary(args, results, engine, live)
        print(f"  host at the end: {load()}")
        if platform.process.poll() is not None:
            print(f"the platform exited during the run:\n{platform.tail()}")
    finally:
        for client in [live, *lives]:
            if client is not None:
                client.stop()
        if platform is not None:
            platform.stop()
            report_errors(platform.log_path)
        if db_name is not None:
            drop_database(args.database_url, db_name)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
