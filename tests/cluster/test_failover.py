"""The scaled-out platform loses nothing when any process dies (issue #22 item 4).

Eight ``campus-safety serve`` processes as separate OS processes on PostgreSQL, Redis
and Mosquitto: 2 ``web`` (+ HTTP ingest), 2 ``sip``, 2 ``mqtt`` and 2 ``jobs``. Devices
of all three protocols send an alarm burst; mid-burst one process of each role is
killed with SIGKILL (the MQTT one is started again, as its supervisor would: its client
ID is its persistent session at the broker). Then:

* every alarm a device saw acknowledged is stored exactly once;
* each of two consoles — one per web process, moving to the other when its process dies
  and replaying from ``Last-Event-ID`` — received every stored alarm;
* the killed SIP gateway's devices registered again with the survivor and are online;
* each periodic job ran once per period (the ledger), never two processes at once, and
  went on after its leader was killed.

Runs only on PostgreSQL (``DATABASE_URL=postgres…``, the CI's second pass); there, a
missing Redis or broker fails the test instead of skipping it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import socket
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from campus_safety.simulator.http_devices import HttpDevice, HttpFleet
from campus_safety.simulator.ports import free_port
from campus_safety.simulator.sip_devices import SipDevice, SipFleet, SipTarget
from tests.gateway.serve_process import (
    DOMAIN,
    MQTT_URL,
    PASSWORD,
    PLATFORM_ID,
    ROOT,
    MqttDevices,
    Process,
    manage,
    set_up_devices,
)

pytestmark = [
    pytest.mark.mqtt,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the cluster runs on PostgreSQL: DATABASE_URL=postgres://… (CI's second pass)",
    ),
]

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
PER_PROTOCOL = 6  # HTTP and MQTT devices
# GB/T 28181 devices: the kernel spreads them over the two gateways by address (below);
# with 12, the chance that the killed one holds none is 1 in 4,096
SIP_DEVICES = 12
ALARMS = 15  # alarms per device
KILL_AFTER = 1.5  # seconds into the burst
FAST_JOBS = {"PATROL_SWEEP_SECONDS": "2", "HAZARD_SWEEP_SECONDS": "3"}
ALARM_TIMEOUT = 2.0  # seconds a GB/T 28181 device waits for its alarm's confirmation
FREQUENT = 5.0  # seconds: jobs this frequent must have run again after the kill

SESSION = """
import json
from django.test import Client
from campus_safety.accounts.models import User
from tests.factories import sign_in
browser = Client()
sign_in(browser, User.objects.get(username="city-dispatcher"))
print(json.dumps({"session": browser.cookies["sessionid"].value}))
"""

VERIFY = """
import json
from campus_safety.alarms.models import AlarmEvent
from campus_safety.cluster.models import JobRun
from campus_safety.devices.models import Device
from campus_safety.live.models import LiveEvent
print(json.dumps({
    "events": list(AlarmEvent.objects.values_list("device__device_id", "event_id")),
    "received": {e: t.timestamp() for e, t in AlarmEvent.objects.values_list(
        "event_id", "received_at")},
    "live": [e.payload.get("event_id") for e in LiveEvent.objects.filter(name="alarm.event")],
    "devices": {
        d.device_id: [d.status, d.registered_at.timestamp() if d.registered_at else None]
        for d in Device.objects.filter(protocol="gb28181")
    },
    "runs": [
        [r.job, r.period, r.interval, r.process, r.started_at.timestamp(),
         r.finished_at.timestamp() if r.finished_at else None]
        for r in JobRun.objects.all()
    ],
}))
"""


def _require_services() -> None:
    """CI's PostgreSQL pass must fail, not skip, when a service is missing."""
    import redis

    assert redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping(), f"Redis at {REDIS_URL}"
    host, _, port = MQTT_URL.removeprefix("mqtt://").partition(":")
    with socket.create_connection((host, int(port or 1883)), timeout=3):
        pass


class Console:
    """A dispatcher's live console: one SSE stream to a web process; when that process
    dies it reconnects to the next one with ``Last-Event-ID`` and replays what it missed."""

    def __init__(self, ports: list[int], session: str) -> None:
        self.ports, self.session = ports, session
        self.last_id: str | None = None
        self.alarms: Counter[str] = Counter()
        self.switches = 0
        self.ready = asyncio.Event()
        self.received_at: dict[str, float] = {}  # alarm event id → when it came

    async def run(self, stop: asyncio.Event) -> None:
        index = 0
        while not stop.is_set():
            port = self.ports[index % len(self.ports)]
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError):
                await self._read(port, stop)
            if stop.is_set():
                return
            index += 1
            self.switches += 1
            await asyncio.sleep(0.2)

    async def _read(self, port: int, stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        resume = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id else ""
        writer.write(
            f"GET /live/stream HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
            f"Cookie: sessionid={self.session}\r\n{resume}Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        try:
            status = await reader.readline()
            assert b" 200 " in status, status
            chunked = False
            while header := (await reader.readline()).strip():
                chunked = chunked or header.lower() == b"transfer-encoding: chunked"
            # uvicorn frames a streamed body in chunks even for HTTP/1.0: undo them, so a
            # chunk boundary inside a line cannot cut an alarm's JSON in two
            lines = _body_lines(reader, chunked)
            event_id = name = None
            while not stop.is_set():
                line = await asyncio.wait_for(anext(lines, b""), 30)
                if not line:
                    return  # the process ended the stream (or died)
                text = line.decode().rstrip("\r\n")
                if text.startswith("id: "):
                    event_id = text[4:]
                elif text.startswith("event: "):
                    name = text[7:]
                elif text.startswith("data: "):
                    if name == "live.hello":
                        self.ready.set()
                    if name == "alarm.event":
                        payload = json.loads(text[6:]).get("payload") or {}
                        event = str(payload.get("event_id"))
                        self.alarms[event] += 1
                        self.received_at.setdefault(event, time.time())
                    if event_id:
                        self.last_id = event_id
                    event_id = name = None
        finally:
            writer.close()


async def _body_lines(reader: asyncio.StreamReader, chunked: bool):
    """The body's lines, with any chunked transfer framing removed."""
    if not chunked:
        while line := await reader.readline():
            yield line
        return
    buffer = b""
    while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
        buffer += (await reader.readexactly(size + 2))[:-2]
        *whole, buffer = buffer.split(b"\n")
        for line in whole:
            yield line + b"\n"


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    tag = f"{os.getpid()}{secrets.token_hex(3)}"
    return {
        **os.environ,
        **FAST_JOBS,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "LIVENESS_REDIS_PREFIX": f"cs-failover-{tag}",
        "LIVENESS_RESTART_GRACE_SECONDS": "0",
        "CAMPUS_SAFETY_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "failover-test-" + tag,
        "GB28181_ENABLED": "1",
        "GB28181_HOST": "127.0.0.1",
        "GB28181_PASSWORD": PASSWORD,
        "GB28181_RATE_LIMIT": "0",
        "GB28181_PORT": str(free_port()),
        "MQTT_URL": MQTT_URL,
        "MQTT_SHARE_GROUP": f"failover{tag}",
        "MQTT_TOPIC_ROOT": f"failover-{tag}/campus/v1",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def _cluster(env: dict[str, str], tmp_path: Path) -> dict[str, list[Process]]:
    cluster: dict[str, list[Process]] = defaultdict(list)
    for role, roles in (("web", "web,http-ingest"), ("sip", "sip"), ("mqtt", "mqtt"),
                        ("jobs", "jobs")):  # fmt: skip
        for n in (1, 2):
            own = {**env}
            if role == "sip":  # one address for the devices, as a load balancer gives
                own["GB28181_PORT"], own["GB28181_REUSE_PORT"] = env["GB28181_PORT"], "1"
            own["MQTT_CLIENT_ID"] = f"{env['MQTT_SHARE_GROUP']}-{role}{n}"
            cluster[role].append(Process(f"{role}{n}", roles, own, tmp_path))
    return cluster


async def _burst(cluster, devices, secret, env, consoles) -> dict:
    """Every device sends ALARMS alarms; KILL_AFTER seconds in, one process of each role
    dies. Devices do what real ones do: resend until acknowledged. GB/T 28181 devices
    know the platform by one address, shared by both gateways (SO_REUSEPORT here, a UDP
    load balancer across hosts): each device, from its own address, is the kernel's to
    give to one gateway. When that gateway dies, the device's unanswered alarm is resent
    on RFC 3261 timer E (0.5, 1, 2 s …) and reaches the survivor, which takes it from the
    address the device last registered from; the device's next keepalive there is
    refused (403) and it registers again."""
    sip_target = SipTarget("127.0.0.1", int(env["GB28181_PORT"]), PLATFORM_ID, DOMAIN, PASSWORD)
    sip_devices = [SipDevice(d, "") for d in devices["gb28181"]]
    fleet = SipFleet(sip_target, sip_devices, devices_per_socket=1)  # an address each
    await fleet.start()
    for device in sip_devices:
        assert await fleet.register(device) == 200
    webs = [f"http://127.0.0.1:{p.port}" for p in cluster["web"]]
    http_fleets = [HttpFleet(url, timeout=3) for url in webs]
    http_devices = [HttpDevice(d, secret) for d in devices["http"]]
    mqtt = MqttDevices(devices["mqtt"], env["MQTT_TOPIC_ROOT"])
    acked: dict[str, set] = {"gb28181": set(), "http": set(), "mqtt": set()}
    sip_sent: Counter[str] = Counter()
    moved: dict[str, float] = {}  # device → when it registered with the survivor
    killed_at: list[float] = []
    kill_times: dict[str, float] = {}  # role → when its SIGKILL was sent
    http_waits: list[tuple[float, float]] = []  # (first attempt, acknowledged) per alarm
    mqtt_published: dict[str, float] = {}  # MQTT event id → when the device published it
    jobs_killed_at: list[float] = []
    acked_at: dict[str, list[float]] = defaultdict(list)  # GB/T 28181 device → ack times
    sip_kill: dict[str, Any] = {}  # the SIP gateway's kill: begun, reaped, its devices
    timeline: list[tuple[float, str, str]] = []  # (when, device, what): printed with -s

    def note(device: SipDevice, what: str) -> None:
        timeline.append((time.time(), device.device_id, what))

    async def sip_device(device: SipDevice) -> None:
        for n in range(ALARMS):
            for _attempt in range(30):
                sip_sent[device.device_id] += 1
                note(device, f"alarm {n} sent")
                try:  # a device gives up on a platform that does not confirm in time
                    confirmed = await asyncio.wait_for(
                        fleet.alarm(device, wait=0.5, attempts=3), ALARM_TIMEOUT
                    )
                except TimeoutError:
                    confirmed = False
                note(device, f"alarm {n} {'confirmed' if confirmed else 'not confirmed'}")
                if confirmed:
                    acked["gb28181"].add((device.device_id, str(n)))
                    acked_at[device.device_id].append(time.time())
                    break
            await asyncio.sleep(0.1)

    async def http_device(index: int, device: HttpDevice) -> None:
        for _ in range(ALARMS):
            fleet = http_fleets[index % 2]
            event = fleet.event("alarm", priority=1, description="一键报警")
            first = time.time()
            for attempt in range(60):
                status, answer = await http_fleets[(index + attempt) % 2].post(device, [event])
                if status == 200:
                    assert answer["results"][0]["outcome"] in ("accepted", "duplicate")
                    acked["http"].add((device.device_id, event["event_id"]))
                    http_waits.append((first, time.time()))
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.1)

    async def mqtt_devices() -> None:
        for n in range(ALARMS):
            for device_id in devices["mqtt"]:
                mqtt_published[f"failover-{device_id[-4:]}-{n}"] = time.time()
                mqtt.publish(device_id, f"failover-{device_id[-4:]}-{n}")
            await asyncio.sleep(0.25)  # on past the kill: new alarms go to the survivor

    async def kill() -> None:
        await asyncio.sleep(KILL_AFTER)
        killed_at.append(time.time())
        for role in ("web", "sip", "mqtt", "jobs"):
            begun = kill_times[role] = time.time()
            await asyncio.to_thread(cluster[role][0].kill)
            if role == "sip":  # reaped: whatever is acknowledged from now on, sip2 did
                sip_kill["begun"], sip_kill["reaped"] = begun, time.time()
        jobs_killed_at.append(time.time())  # once it is gone: nothing of it runs after
        await asyncio.sleep(2.0)  # the MQTT consumer's supervisor starts it again
        cluster["mqtt"][0].start()

    await asyncio.gather(
        *(sip_device(d) for d in sip_devices),
        *(http_device(i, d) for i, d in enumerate(http_devices)),
        mqtt_devices(),
        kill(),
    )
    deadline = time.monotonic() + 20
    while mqtt.pending and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    acked["mqtt"] = set(mqtt.acked)
    # each device's next keepalive: the survivor refuses those of the dead gateway's
    # devices (403), which register with it again (docs/devices.md) and stay alive
    sip_kill["devices"] = set()
    for device in sip_devices:
        status = await fleet.keepalive(device)
        note(device, f"keepalive answered {status}")
        if status == 403:
            sip_kill["devices"].add(device.device_id)
            assert await fleet.register(device) == 200
            moved[device.device_id] = time.time()
            note(device, "registered again")
            status = await fleet.keepalive(device)
        assert status == 200, device.device_id
    mqtt.close()
    fleet.close()
    # a figure, not an assertion: from the SIGKILL of sip1 to the first alarm of each of
    # its devices stored and acknowledged through sip2 (after sip1 was reaped: sip1
    # cannot have sent it)
    begun, reaped = sip_kill["begun"], sip_kill["reaped"]
    back = {
        device_id: min(t for t in acked_at[device_id] if t > reaped) - begun
        for device_id in sorted(sip_kill["devices"])
        if any(t > reaped for t in acked_at[device_id])
    }
    print(f"\nsip1 killed (SIGKILL to reaped: {(reaped - begun) * 1000:.0f} ms); its devices:")
    for device_id, seconds in back.items():
        print(f"  {device_id}: alarms acknowledged again {seconds:.2f} s after the kill")
        for when, who, what in timeline:
            if who == device_id and begun - 2.5 <= when <= begun + seconds + 0.01:
                print(f"    {when - begun:+6.2f} s  {what}")
    if back:
        print(
            f"alarms of the killed SIP gateway's devices acknowledged again "
            f"{statistics.median(back.values()):.2f} s (median), {max(back.values()):.2f} s "
            f"(max) after the kill"
        )
    return {"acked": acked, "sip_sent": sip_sent, "moved": moved, "killed_at": killed_at[0],
            "jobs_killed_at": jobs_killed_at[0], "kill_times": kill_times,
            "http_waits": http_waits, "mqtt_published": mqtt_published}  # fmt: skip


def _print_flow_again(outcome: dict, received: dict[str, float], consoles: list) -> None:
    """Figures, not assertions: how long alarms stopped flowing when each role's process
    was killed — an HTTP alarm's wait from its first attempt to its 200 (the device
    retries on the other web process), an MQTT alarm's time from publish to stored
    (the other consumer of the shared subscription), an alarm's time from stored to
    each console (the console moves to the other web process and replays)."""
    kills = outcome["kill_times"]
    around = [(a, b) for a, b in outcome["http_waits"] if abs(a - kills["web"]) <= 1.0]
    if around:
        print(
            f"HTTP alarms sent within 1 s of the web kill ({len(around)}): acknowledged "
            f"after {max(b - a for a, b in around):.2f} s at most"
        )
    after = [
        received[e] - t
        for e, t in outcome["mqtt_published"].items()
        if t >= kills["mqtt"] and e in received
    ]
    before = [
        received[e] - t
        for e, t in outcome["mqtt_published"].items()
        if kills["mqtt"] - 1.0 <= t < kills["mqtt"] and e in received
    ]
    if after:
        print(
            f"MQTT alarms published after the consumer kill ({len(after)}): stored after "
            f"{statistics.median(after):.2f} s (median), {max(after):.2f} s (max)"
        )
    if before:
        print(
            f"MQTT alarms published in the second before it ({len(before)}): stored after "
            f"{statistics.median(before):.2f} s (median), {max(before):.2f} s (max)"
        )
    for n, console in enumerate(consoles, 1):
        late = [
            console.received_at[e] - t
            for e, t in received.items()
            if t >= kills["web"] and e in console.received_at
        ]
        if late:
            print(
                f"console {n}: alarms stored after the web kill ({len(late)}) reached it "
                f"after {statistics.median(late):.2f} s (median), {max(late):.2f} s (max)"
            )


def test_killing_one_process_of_each_role_mid_burst_loses_nothing(database_url, tmp_path):
    _require_services()
    env = _env(database_url, tmp_path)
    manage(env, "migrate", "--noinput", "-v", "0")
    setup = set_up_devices(env, SIP_DEVICES)
    for protocol in ("http", "mqtt"):
        del setup["devices"][protocol][PER_PROTOCOL:]
    session = json.loads(manage(env, "shell", "-c", SESSION).strip().splitlines()[-1])["session"]
    cluster = _cluster(env, tmp_path)
    processes = [p for group in cluster.values() for p in group]
    try:
        # jobs1 starts first, so it leads every job; it is the one killed
        for process in processes:
            if process.name != "jobs2":
                process.start()
        deadline = time.monotonic() + 120
        for process in processes:
            if process.name != "jobs2":
                process.wait_healthy(deadline)
        time.sleep(1.0)
        cluster["jobs"][1].start()
        cluster["jobs"][1].wait_healthy(deadline)

        async def scenario() -> tuple[dict, list[Console]]:
            ports = [p.port for p in cluster["web"]]
            consoles = [Console(ports, session), Console(list(reversed(ports)), session)]
            stop = asyncio.Event()
            watching = [asyncio.create_task(c.run(stop)) for c in consoles]
            await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in consoles)), 30)
            outcome = await _burst(cluster, setup["devices"], setup["secret"], env, consoles)
            # the restarted MQTT consumer takes what the broker kept for its session
            restarted = cluster["mqtt"][0]
            await asyncio.to_thread(restarted.wait_healthy, time.monotonic() + 90)
            # the MQTT backlog drains and the consoles catch up, then they stop
            expected = len(outcome["acked"]["http"]) + len(outcome["acked"]["mqtt"])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and min(len(c.alarms) for c in consoles) < expected:
                await asyncio.sleep(0.2)
            await asyncio.sleep(3.0)  # jobs keep running a while after the kill
            stop.set()
            for task in watching:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            return outcome, consoles

        outcome, consoles = asyncio.run(scenario())
        found = json.loads(manage(env, "shell", "-c", VERIFY).strip().splitlines()[-1])
    finally:
        for process in processes:
            process.stop()
    _print_flow_again(outcome, found["received"], consoles)
    starts = {p.name: p.log.read_text().count("Uvicorn running") for p in processes}
    assert starts["mqtt1"] == 2, "the killed MQTT consumer was not started again"

    acked, killed_at = outcome["acked"], outcome["killed_at"]
    rows = [tuple(e) for e in found["events"]]
    assert len(rows) == len(set(rows)), "an alarm was stored twice"
    for protocol in ("http", "mqtt"):
        assert len(acked[protocol]) == PER_PROTOCOL * ALARMS, protocol
        missing = acked[protocol] - set(rows)
        assert not missing, f"{protocol}: acknowledged, not stored: {sorted(missing)[:5]}"
    assert len(acked["gb28181"]) == SIP_DEVICES * ALARMS
    for device_id in setup["devices"]["gb28181"]:
        stored_of_device = sum(r[0] == device_id for r in rows)
        assert ALARMS <= stored_of_device <= outcome["sip_sent"][device_id], device_id

    # every console received every stored alarm, across its web process's death
    stored_ids = {event_id for _, event_id in rows}
    for console in consoles:
        assert stored_ids <= set(console.alarms), (
            f"a console missed {len(stored_ids - set(console.alarms))} alarms"
        )
    assert any(c.switches for c in consoles), "no console lost its web process"
    assert sorted(found["live"]) == sorted(e for _, e in rows)

    # the killed gateway's devices registered with the survivor and are online
    killed_devices = [d for d, when in outcome["moved"].items() if when >= killed_at]
    assert killed_devices, "the killed gateway held no device (1 run in 4,096)"
    for device_id in killed_devices:
        status, registered_at = found["devices"][device_id]
        assert registered_at is not None and registered_at >= killed_at - 1, device_id
        assert status == "online", (device_id, status)

    # each periodic job: once per period, never two processes at once, on after the kill
    killed_leader = f"{socket.gethostname()}:{cluster['jobs'][0].process.pid}"
    leader_log = cluster["jobs"][0].log.read_text()
    runs = defaultdict(list)
    for job, period, interval, process, started, finished in found["runs"]:
        runs[job].append((period, interval, process, started, finished))
    assert {"alarm-timers", "patrol-sweep", "hazard-deadlines", "import-jobs"} <= set(runs)
    for job, job_runs in runs.items():
        job_runs.sort()
        periods = [r[0] for r in job_runs]
        assert len(periods) == len(set(periods)), f"{job} ran a period twice"
        for before, after in itertools.pairwise(job_runs):
            if before[4] is not None:
                assert after[3] >= before[4] - 0.05, f"{job}: two runs at once"
        interval = job_runs[0][1]
        later = [r for r in job_runs if r[3] > outcome["jobs_killed_at"]]
        assert all(r[2] != killed_leader for r in later), f"{job}: run by a dead process"
        # jobs1 led it (its log says so; the ledger may not: a run the kill cut short
        # is taken over, claim and all, by the standby)
        assert f"periodic job {job}: this process ({killed_leader}) leads it" in leader_log, (
            f"{job}: not led by jobs1"
        )
        if interval > FREQUENT:  # (hourly, daily jobs: their next period is not due yet)
            continue
        assert later, f"{job} stopped when its leader was killed"
        starts = [r[3] for r in job_runs]
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert max(gaps) <= interval + 8, f"{job} was not run for {max(gaps):.1f} s"
    survivor = cluster["jobs"][1].log.read_text()
    assert f"periodic job liveness: this process ({killed_leader})" in (
        cluster["jobs"][0].log.read_text()
    )
    assert "periodic job liveness: this process" in survivor, "liveness was not taken over"


@pytest.fixture
def database_url():
    """A fresh PostgreSQL database of the test's server for the cluster."""
    import psycopg

    db = settings.DATABASES["default"]
    name = f"cs_cluster_{os.getpid()}_{secrets.token_hex(3)}"
    server = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"])
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{db['USER']}@{server['host']}:{server['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
