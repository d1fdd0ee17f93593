"""Benchmark: keepalives from 36,000 devices over GB/T 28181 (UDP), then over MQTT.

Starts the platform (``campus-safety serve`` with the SIP server on a free port, the MQTT
subscriber on the local broker, SQLite in a temp data dir) with 36,000 devices in its
registry, registers them through the simulator (REGISTER with digest), sends keepalives
over GB/T 28181 at each of ``--rates`` per second for ``--seconds`` while the platform
keeps up (nothing lost, the backlog gone within a second of the last send), switches the
same devices to MQTT and does it again. MQTT goes through a Mosquitto of the bench's own
on a free port, configured with ``bench/mosquitto-keepalive.conf`` (the production settings for this
load; the system broker's defaults drop QoS 1 messages beyond 1,000 queued), unless
``--mqtt-url`` names a broker. Figures come from the platform side (its gateway counters
through ``/api/v1/devices/gateway/``) and from /proc for its process (CPU, peak RSS);
loss is sent minus processed after a drain. The figure per protocol is the processed
rate of the highest step sustained: offering exactly 5,000/s can only ever show a little
less, since the window includes the drain. Loopback only; bounded in time and count;
the temp dir and the platform are gone afterwards. Target: ≥ 5,000/s per protocol,
nothing lost.

    .venv/bin/python bench/keepalive.py [--devices 36000] [--rates 5000,6000,8000,10000,12000]
                                        [--seconds 20] [--runs 3]
                                        [--mqtt-url mqtt://127.0.0.1:1883]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

from campus_safety.simulator.ports import free_port

TARGET = 5000
DIRECTORY_REFRESH = 30  # seconds: the platform's default LIVENESS_DIRECTORY_REFRESH_SECONDS
COMMAND = [sys.executable, "-m", "campus_safety.cli"]
PLATFORM_ID, DOMAIN, PASSWORD = "37140000002000000001", "3714000000", "Bench-pass-2026"
BROKER_CONFIG = Path(__file__).with_name("mosquitto-keepalive.conf")
SETUP = """
from campus_safety.simulator.bench_devices import create_bench_devices
create_bench_devices({count})
"""


class Broker:
    """A Mosquitto of the bench's own (bench/mosquitto-keepalive.conf), stopped by PID."""

    def __init__(self, data_dir: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(binary):
            sys.exit("mosquitto is not installed (or pass --mqtt-url)")
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        config = data_dir / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""  # as root it would switch users
        config.write_text(
            f"{user}listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence false\nlog_dest none\n{BROKER_CONFIG.read_text()}"
        )
        self.process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    sys.exit("the bench's mosquitto did not start")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def platform_env(data_dir: Path, sip_port: int, web_port: int, mqtt_url: str) -> dict[str, str]:
    """The platform's environment for a keepalive bench (SQLite in ``data_dir``, no rate
    limit, the production directory refresh); this process's Django shares the data dir."""
    tag = f"{os.getpid()}"
    env = {
        **os.environ, "CAMPUS_SAFETY_DATA_DIR": str(data_dir), "SECRET_KEY": "bench-" + tag,
        "GB28181_ENABLED": "1", "GB28181_HOST": "127.0.0.1", "GB28181_PORT": str(sip_port),
        "GB28181_PASSWORD": PASSWORD, "GB28181_RATE_LIMIT": "0", "MQTT_URL": mqtt_url,
        "MQTT_CLIENT_ID": f"cs-bench-platform-{tag}", "MQTT_SHARE_GROUP": f"bench{tag}",
        "LIVENESS_DIRECTORY_REFRESH_SECONDS": str(DIRECTORY_REFRESH), "LOG_LEVEL": "WARNING",
        "PORT": str(web_port),
    }  # fmt: skip
    env.pop("DATABASE_URL", None)
    os.environ.update({k: env[k] for k in ("CAMPUS_SAFETY_DATA_DIR", "SECRET_KEY")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
    return env


def run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True,
                            check=False)  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"campus-safety {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Platform:
    """The platform process, its counters and its /proc figures."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [*COMMAND, "serve", "--port", str(port)], env=env, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.token = ""

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the platform exited ({self.process.returncode}); see {self.log.name}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.3)
        sys.exit("the platform did not start in time")

    def counters(self) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/devices/gateway/",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) in MB."""
        values = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return values["VmRSS"], values["VmHWM"]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


class RawKeepalives(asyncio.DatagramProtocol):
    """Keepalive MESSAGEs to one SIP peer from bytes built once per device (capacity.py
    ``--sip-sender raw``, keepalive_peer.py ``--sender raw``): the simulator's own, byte
    for byte, but for the branch, Call-ID and SN, which are 10-digit counters so that the
    length never changes. No resends (timer E): a keepalive lost anywhere is simply never
    answered, which fails the step. The Python simulator spends ~70 µs per keepalive and
    tops out near 13,000/s on one core; this one costs a fraction, so a peer can be
    offered more than one sender core makes."""

    def __init__(self, target: tuple[str, int], devices: list, fleet=None) -> None:
        """``fleet``: the simulator that registered ``devices``; each device's keepalives
        then leave from its address (the platform takes a MESSAGE only from there)."""
        from campus_safety.gateway.gb28181 import manscdp, sip

        self.target = target
        self.stats: Counter[str] = Counter()  # never a timeout: read as the simulator's
        self.done = None
        self.counter = itertools.count(1_000_000_000)
        self.hosts = {
            device.device_id: fleet.socket_of[device.device_id].local[0] if fleet else "127.0.0.1"
            for device in devices
        }
        self.transports: dict[str, asyncio.DatagramTransport] = {}
        self.parts: dict[str, tuple[asyncio.DatagramTransport | None, list[bytes]]] = {}
        for device in devices:
            device_id = device.device_id
            data = sip.build_request(
                "MESSAGE", f"sip:{PLATFORM_ID}@{DOMAIN}",
                via=f"SIP/2.0/UDP {{local}};rport;branch={sip.BRANCH_COOKIE}=BRANCH=",
                from_=f"<sip:{device_id}@{DOMAIN}>;tag={device_id[-6:]}raw",
                to=f"<sip:{PLATFORM_ID}@{DOMAIN}>", call_id="=CALL=@bench", cseq=20,
                headers=[("User-Agent", "CampusSafety-Simulator")],
                body=manscdp.build_keepalive(1_000_000_000, device_id),
                content_type=manscdp.CONTENT_TYPE,
            )  # fmt: skip
            for mark in (b"=BRANCH=", b"=CALL=", b"<SN>1000000000</SN>"):
                assert data.count(mark) == 1
            data = data.replace(b"=BRANCH=", b"\x00").replace(b"=CALL=", b"\x00")
            data = data.replace(b"<SN>1000000000</SN>", b"<SN>\x00</SN>")
            self.parts[device_id] = (None, data.split(b"\x00"))

    async def start(self) -> None:
        """One socket per address the devices send from."""
        loop = asyncio.get_running_loop()
        for host in sorted(set(self.hosts.values())):
            transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, 0))
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
            self.transports[host] = transport
        for device_id, (_, parts) in self.parts.items():
            transport = self.transports[self.hosts[device_id]]
            local = "{}:{}".format(*transport.get_extra_info("sockname")[:2]).encode()
            parts[0] = parts[0].replace(b"{local}", local)
            self.parts[device_id] = (transport, parts)

    def send_keepalive(self, device, done) -> None:
        self.done = done
        number = str(next(self.counter)).encode()  # 10 digits: the length stays
        transport, (head, after_branch, after_call_id, after_sn) = self.parts[device.device_id]
        data = b"".join((head, number, after_branch, number, after_call_id, number, after_sn))
        transport.sendto(data, self.target)

    def datagram_received(self, data: bytes, addr) -> None:
        if self.done is not None and data.startswith(b"SIP/2.0 "):
            self.done(data)

    def close(self) -> None:
        for transport in self.transports.values():
            transport.close()


async def paced(send, items: list, rate: float, seconds: float) -> int:
    """Call ``send(item)`` ``rate`` times a second, cycling through ``items``."""
    step, sent, index = 0.01, 0, 0
    per_step = rate * step
    started = time.monotonic()
    ticks = int(seconds / step)
    for tick in range(1, ticks + 1):
        due = int(tick * per_step) - sent
        for _ in range(due):
            send(items[index])
            index = (index + 1) % len(items)
        sent += due
        pause = started + tick * step - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
    return sent


async def sip_phase(fleet, devices: list, platform: Platform, rate: float, seconds: float) -> dict:
    before = platform.counters()["gb28181"]
    cpu0, t0 = platform.cpu_seconds(), time.monotonic()
    answered = [0]
    last_answer = [t0]

    def done(response: bytes | None) -> None:
        if response is not None and response[8:11] == b"200":
            answered[0] += 1
            last_answer[0] = time.monotonic()

    sent = await paced(lambda d: fleet.send_keepalive(d, done), devices, rate, seconds)
    send_end = time.monotonic()
    deadline = send_end + 35  # timer F: every keepalive answered or given up by then
    while answered[0] + fleet.stats["timeouts"] < sent and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    cpu = platform.cpu_seconds() - cpu0
    after = platform.counters()["gb28181"]
    processed = after.get("keepalives", 0) - before.get("keepalives", 0)
    window = max(last_answer[0], send_end) - t0
    return {
        "offered": rate, "sent": sent, "processed": processed, "answered": answered[0],
        "lost": sent - processed, "resent": fleet.stats["resent"],
        "rate": processed / window, "cpu": 100 * cpu / window, "rss": platform.memory_mb(),
        "sustained": is_sustained(sent, processed, window, seconds),
    }  # fmt: skip


async def mqtt_phase(fleet, device_ids: list, platform: Platform, rate: float, seconds: float):
    before = platform.counters()["mqtt"]
    cpu0, t0 = platform.cpu_seconds(), time.monotonic()
    sent = await paced(fleet.heartbeat, device_ids, rate, seconds)
    send_end = time.monotonic()
    target = before.get("accepted", 0) + sent
    last = (before.get("accepted", 0), time.monotonic())
    while time.monotonic() < send_end + 30:
        accepted = platform.counters()["mqtt"].get("accepted", 0)
        if accepted != last[0]:
            last = (accepted, time.monotonic())
        if accepted >= target:
            break
        await asyncio.sleep(0.2)
    cpu = platform.cpu_seconds() - cpu0
    processed = last[0] - before.get("accepted", 0)
    window = max(last[1], send_end) - t0
    return {
        "offered": rate, "sent": sent, "processed": processed, "lost": sent - processed,
        "broker_unacked": fleet.unacknowledged(),
        "rate": processed / window, "cpu": 100 * cpu / window, "rss": platform.memory_mb(),
        "sustained": is_sustained(sent, processed, window, seconds),
    }  # fmt: skip


async def drive(args, platform: Platform) -> dict[str, list[dict]]:
    import django

    django.setup()
    from campus_safety.simulator.bench_devices import bench_ids
    from campus_safety.simulator.mqtt_devices import RawMqttFleet
    from campus_safety.simulator.sip_devices import SipDevice, SipFleet, SipTarget

    ids = bench_ids(args.devices)
    devices = [SipDevice(device_id, "") for device_id in ids]
    target = SipTarget("127.0.0.1", args.sip_port, PLATFORM_ID, DOMAIN, PASSWORD)
    fleet = SipFleet(target, devices, devices_per_socket=500)
    await fleet.start()
    started = time.monotonic()
    statuses = await fleet.register_all(concurrency=400)
    missing = [device for device in devices if not device.is_registered]
    retried = {}
    if missing:  # as a device does: try again (the platform was busy with the others)
        retried = dict(await fleet.register_all(missing, concurrency=100))
    registered = sum(device.is_registered for device in devices)
    print(f"  registered {registered:,} of {len(devices):,} GB/T 28181 devices in "
          f"{time.monotonic() - started:.1f} s ({dict(statuses)}; retried: {retried})")  # fmt: skip
    await asyncio.sleep(3)  # the catalog queries that follow each registration
    # first sign of life, paced: the online transitions are written before measuring
    await paced(lambda d: fleet.send_keepalive(d, lambda response: None), devices,
                args.rate / 2, len(devices) / (args.rate / 2))  # fmt: skip
    await asyncio.sleep(5)
    # raw MQTT, not paho: paho's per-message cost would make the sender the limit here
    mqtt = RawMqttFleet(args.mqtt_url, connections=4, client_prefix=f"cs-bench-{os.getpid()}")
    mqtt.start()
    results: dict[str, list[dict]] = {"GB/T 28181 (UDP)": [], "MQTT": []}

    async def sip_step(rate: float) -> dict:
        fleet.stats.clear()
        return await sip_phase(fleet, devices, platform, rate, args.seconds)

    async def mqtt_step(rate: float) -> dict:
        return await mqtt_phase(mqtt, ids, platform, rate, args.seconds)

    for run_number in range(1, args.runs + 1):
        await switch(args, "gb28181")
        sip = await step_up(args.rates, f"run {run_number} GB/T 28181", sip_step)
        results["GB/T 28181 (UDP)"].append(sip)
        await switch(args, "mqtt")
        results["MQTT"].append(await step_up(args.rates, f"run {run_number} MQTT      ", mqtt_step))
    mqtt.close()
    fleet.close()
    return results


async def switch(args, protocol: str) -> None:
    """The same devices, another protocol: update the registry, then wait for the
    platform's periodic directory reload to pick it up. The reload keeps its production
    period (``DIRECTORY_REFRESH``): at 2 s, as this bench once had it, reloading 36,000
    devices took a quarter of the platform's CPU (py-spy, MQTT phase) — a cost no
    deployment pays, measured as if it were the keepalives'."""
    from asgiref.sync import sync_to_async

    from campus_safety.simulator.bench_devices import switch_protocol

    await sync_to_async(switch_protocol)(protocol)
    if args.switched:  # (the devices are created speaking GB/T 28181: no wait at first)
        await asyncio.sleep(DIRECTORY_REFRESH + 3)
    args.switched = True


def is_sustained(sent: int, processed: int, window: float, seconds: float) -> bool:
    """Kept up: nothing lost, and the last keepalive processed within a second of the
    last one sent (a backlog that drains later is a rate the platform did not keep)."""
    return processed == sent and window <= seconds + 1.0


async def step_up(rates: list[float], label: str, measure) -> dict:
    """``measure(rate)`` at each rate while the platform keeps up; the highest step it
    sustained, else the first (which it did not)."""
    steps = []
    for rate in rates:
        step = await measure(rate)
        steps.append(step)
        report(f"{label} at {rate:,.0f}/s", step)
        if not step["sustained"]:
            break
    kept = [step for step in steps if step["sustained"]]
    return kept[-1] if kept else steps[0]


def report(label: str, r: dict) -> None:
    print(f"  {label}: sent {r['sent']:,}, processed {r['processed']:,} ({r['rate']:,.0f}/s), "
          f"lost {r['lost']:,}, platform CPU {r['cpu']:.0f}%, RSS {r['rss'][0]:.0f} MB "
          f"(peak {r['rss'][1]:.0f} MB)"
          + (f", resent {r['resent']:,}" if "resent" in r else "")
          + ("" if r["sustained"] else ": not sustained"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=36_000)
    parser.add_argument("--rates", default="5000,6000,8000,10000,12000",
                        help="keepalives per second, stepped up while sustained")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mqtt-url", default="",
                        help="an existing broker (default: the bench's own Mosquitto)")  # fmt: skip
    args = parser.parse_args()
    args.switched = False
    args.rates = [float(rate) for rate in args.rates.split(",")]
    args.rate = args.rates[0]
    args.devices = min(args.devices, 100_000)
    args.seconds = min(args.seconds, 120)

    data_dir = Path(tempfile.mkdtemp(prefix="cs-bench-keepalive-"))
    broker = None if args.mqtt_url else Broker(data_dir)
    args.mqtt_url = args.mqtt_url or broker.url
    args.sip_port, web_port = free_port(), free_port()
    env = platform_env(data_dir, args.sip_port, web_port, args.mqtt_url)
    print(
        f"keepalive benchmark: {args.devices:,} devices, "
        f"{', '.join(f'{rate:,.0f}' for rate in args.rates)}/s while sustained, "
        f"{args.seconds:g} s each, {args.runs} run(s); target ≥ {TARGET:,}/s, nothing lost"
    )
    platform = None
    try:
        run(["migrate", "--noinput", "-v", "0"], env)
        started = time.monotonic()
        run(["shell", "-c", SETUP.format(count=args.devices)], env)
        print(f"  {args.devices:,} devices in the registry ({time.monotonic() - started:.1f} s)")
        token = run(["token", "create", "bench-admin", "--name", "bench"], env).strip()
        platform = Platform(env, web_port, data_dir / "platform.log")
        platform.token = token
        platform.wait_ready()
        results = asyncio.run(drive(args, platform))
        print("medians:")
        for protocol, runs in results.items():
            rate = statistics.median(r["rate"] if r["sustained"] else 0.0 for r in runs)
            lost = sum(r["lost"] for r in runs if r["sustained"])
            cpu = statistics.median(r["cpu"] for r in runs)
            peak = max(r["rss"][1] for r in runs)
            verdict = "OK" if rate >= TARGET and lost == 0 else "BELOW TARGET"
            print(f"  {protocol:17s} {rate:7,.0f} keepalives/s sustained, lost {lost}, platform "
                  f"CPU {cpu:.0f}%, peak RSS {peak:.0f} MB: {verdict}")  # fmt: skip
    finally:
        if platform is not None:
            platform.stop()
        if broker is not None:
            broker.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
