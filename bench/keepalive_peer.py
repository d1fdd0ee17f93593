"""Benchmark: the platform's keepalive path beside C peers, in one run with one sender.

Issue #22 compares the platform with what C software does with the same messages on the
same machine. Remembered figures drift with the machine's load, so both sides are
measured here, one after the other, with the same sender and the same steps:

* GB/T 28181: the simulator's keepalive MESSAGEs to **Kamailio** (Debian ``kamailio``,
  one UDP worker, answering every request ``200 OK`` statelessly from ``sl``), then to
  the platform (``campus-safety serve``, SQLite in a temp dir, the devices registered).
* MQTT: QoS 1 heartbeats through the bench's own Mosquitto to **mosquitto_sub** (the C
  client, a QoS 1 subscription), then to the platform's MQTT consumer.

Each step offers a rate for ``--seconds``; a step is sustained when every message was
answered (SIP: a 200; MQTT: delivered or, for the platform, processed) and the last
within a second of the last send. Printed: the highest sustained rate of each side, CPU
per message of the receiving processes (from /proc), and the platform : peer ratios.

    .venv/bin/python bench/keepalive_peer.py [--devices 20000] [--seconds 10]
        [--rates 5000,10000,15000,20000,30000,40000] [--only sip|mqtt] [--sender raw]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from keepalive import (
    DIRECTORY_REFRESH,
    PASSWORD,
    PLATFORM_ID,
    SETUP,
    Broker,
    Platform,
    RawKeepalives,
    is_sustained,
    mqtt_phase,
    paced,
    platform_env,
    run,
    sip_phase,
)

from campus_safety.simulator.ports import free_port

KAMAILIO_CONFIG = """#!KAMAILIO
debug=-1
log_stderror=yes
children=1
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="{modules}"
loadmodule "sl.so"
request_route {{
    sl_send_reply("200", "OK");
    exit;
}}
"""
DOMAIN = "3714000000"
PEER_ROOT = "peer/v1"  # the C subscriber's topics: the platform subscribes to campus/v1


def process_tree_cpu(root: int, part: slice = slice(11, 13)) -> float:
    """CPU seconds of ``root`` and its children (Kamailio forks its workers): user and
    system time, or ``part`` of them (``USER``, ``SYSTEM``)."""
    total = 0.0
    pids = [root]
    children = Path(f"/proc/{root}/task/{root}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(ticks) for ticks in fields[part]) / os.sysconf("SC_CLK_TCK")
    return total


USER, SYSTEM = slice(11, 12), slice(12, 13)


class Kamailio:
    """Kamailio in the foreground on a free UDP port; stopped by PID."""

    def __init__(self, data_dir: Path) -> None:
        binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
        if not os.path.exists(binary):
            sys.exit("kamailio is not installed (Debian package kamailio)")
        modules = next(
            (p for p in Path("/usr/lib").glob("*/kamailio/modules") if (p / "sl.so").exists()),
            None,
        )
        if modules is None:
            sys.exit("kamailio's sl module was not found")
        self.port = free_port()
        config = data_dir / "kamailio.cfg"
        config.write_text(KAMAILIO_CONFIG.format(port=self.port, modules=modules))
        self.process = subprocess.Popen(
            [binary, "-DD", "-E", "-f", str(config), "-m", "64", "-M", "8",
             "-P", str(data_dir / "kamailio.pid"), "-Y", str(data_dir)],
            stdout=subprocess.DEVNULL, stderr=(data_dir / "kamailio.log").open("w"),
        )  # fmt: skip
        time.sleep(1.0)
        if self.process.poll() is not None:
            sys.exit(f"kamailio did not start: {(data_dir / 'kamailio.log').read_text()[-800:]}")

    def cpu_seconds(self) -> float:
        return process_tree_cpu(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class CSubscriber:
    """``mosquitto_sub`` with a QoS 1 subscription to every heartbeat; lines counted."""

    def __init__(self, broker_port: int) -> None:
        self.process = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker_port), "-q", "1",
             "-i", f"cs-bench-csub-{os.getpid()}", "-t", f"{PEER_ROOT}/+/heartbeat"],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        self.received = 0
        self.last = time.monotonic()
        threading.Thread(target=self._count, daemon=True).start()
        time.sleep(1.0)

    def _count(self) -> None:
        stream = self.process.stdout
        while chunk := stream.read1(1 << 20):
            self.received += chunk.count(b"\n")
            self.last = time.monotonic()

    def cpu_seconds(self) -> float:
        return process_tree_cpu(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def step_figures(rate: float, sent: int, done: int, window: float, cpu: float, seconds: float,
                 system: float = float("nan")):  # fmt: skip
    return {
        "offered": rate, "sent": sent, "processed": done, "rate": done / window,
        "cpu": 100 * cpu / window, "sustained": is_sustained(sent, done, window, seconds),
        "per": 1e6 * cpu / max(done, 1), "system": 1e6 * system / max(done, 1),
    }  # fmt: skip


async def sip_peer_phase(fleet, devices: list, peer: Kamailio, rate: float, seconds: float):
    cpu0, t0 = peer.cpu_seconds(), time.monotonic()
    system0 = process_tree_cpu(peer.process.pid, SYSTEM)
    answered, last = [0], [t0]

    def done(response: bytes | None) -> None:
        if response is not None and response[8:11] == b"200":
            answered[0] += 1
            last[0] = time.monotonic()

    sent = await paced(lambda d: fleet.send_keepalive(d, done), devices, rate, seconds)
    send_end = time.monotonic()
    while answered[0] + fleet.stats["timeouts"] < sent and time.monotonic() < send_end + 35:
        await asyncio.sleep(0.1)
    window = max(last[0], send_end) - t0
    cpu = peer.cpu_seconds() - cpu0
    system = process_tree_cpu(peer.process.pid, SYSTEM) - system0
    return step_figures(rate, sent, answered[0], window, cpu, seconds, system)


async def mqtt_peer_phase(mqtt, ids: list, peer: CSubscriber, rate: float, seconds: float):
    before, cpu0, t0 = peer.received, peer.cpu_seconds(), time.monotonic()
    sent = await paced(mqtt.heartbeat, ids, rate, seconds)
    send_end = time.monotonic()
    while peer.received - before < sent and time.monotonic() < send_end + 30:
        await asyncio.sleep(0.1)
    delivered = peer.received - before
    window = max(peer.last, send_end) - t0
    cpu = peer.cpu_seconds() - cpu0
    return step_figures(rate, sent, delivered, window, cpu, seconds)


async def platform_costs(platform: Platform, phase) -> dict:
    """``phase`` (keepalive.sip_phase or mqtt_phase) with the platform's CPU per message
    and the system part of it."""
    system0 = process_tree_cpu(platform.process.pid, SYSTEM)
    step = await phase
    system = process_tree_cpu(platform.process.pid, SYSTEM) - system0
    processed = max(step["processed"], 1)
    window = step["processed"] / step["rate"] if step["rate"] else 1.0
    return {**step, "per": step["cpu"] * window * 10_000 / processed,
            "system": 1e6 * system / processed}  # fmt: skip


async def steps(rates: list[float], label: str, measure) -> dict:
    """Each rate while sustained; the highest sustained step (else the first)."""
    done = []
    for rate in rates:
        step = await measure(rate)
        done.append(step)
        print(f"  {label} at {rate:,.0f}/s: {step['processed']:,} of {step['sent']:,} "
              f"({step['rate']:,.0f}/s), CPU {step['cpu']:.0f}% of a core, ~{step['per']:.0f} µs "
              f"each (system {step['system']:.0f} µs)"
              + ("" if step["sustained"] else ": not sustained"))  # fmt: skip
        if not step["sustained"]:
            break
    kept = [s for s in done if s["sustained"]]
    return kept[-1] if kept else {**done[0], "rate": 0.0}  # ("per": that step's CPU)


async def drive(args, platform: Platform, peer: Kamailio, broker: Broker) -> dict[str, dict]:
    import django

    django.setup()
    from campus_safety.simulator.bench_devices import bench_ids
    from campus_safety.simulator.sip_devices import SipDevice

    ids = bench_ids(args.devices)
    devices = [SipDevice(device_id, "") for device_id in ids]
    figures: dict[str, dict] = {}
    if "sip" in args.only:
        await sip_figures(args, devices, platform, peer, figures)
    if "mqtt" in args.only:
        await mqtt_figures(args, ids, platform, broker, figures)
    return figures


async def sip_figures(args, devices: list, platform: Platform, peer: Kamailio, figures: dict):
    from campus_safety.simulator.sip_devices import SipFleet, SipTarget

    # GB/T 28181 — the peer first: it needs no registration
    if args.sender == "raw":
        kam = RawKeepalives(("127.0.0.1", peer.port), devices)
    else:
        kam = SipFleet(SipTarget("127.0.0.1", peer.port, PLATFORM_ID, DOMAIN, PASSWORD),
                       devices, devices_per_socket=500)  # fmt: skip
    await kam.start()

    async def kam_step(rate: float) -> dict:
        kam.stats.clear()
        return await sip_peer_phase(kam, devices, peer, rate, args.seconds)

    figures["sip peer"] = await steps(args.rates, "Kamailio (C)      ", kam_step)
    kam.close()

    fleet = SipFleet(SipTarget("127.0.0.1", args.sip_port, PLATFORM_ID, DOMAIN, PASSWORD),
                     devices, devices_per_socket=500)  # fmt: skip
    await fleet.start()
    await fleet.register_all(concurrency=400)
    missing = [device for device in devices if not device.is_registered]
    if missing:
        await fleet.register_all(missing, concurrency=100)
    print(f"  registered {sum(d.is_registered for d in devices):,} devices with the platform")
    if args.sender == "raw":  # registered: the raw sender takes over
        fleet.close()
        fleet = RawKeepalives(("127.0.0.1", args.sip_port), devices, fleet)
        await fleet.start()
    await asyncio.sleep(3)
    await paced(
        lambda d: fleet.send_keepalive(d, lambda response: None), devices, 2000, len(devices) / 2000
    )  # fmt: skip  (online transitions, before measuring)
    await asyncio.sleep(5)

    async def platform_step(rate: float) -> dict:
        fleet.stats.clear()
        return await platform_costs(
            platform, sip_phase(fleet, devices, platform, rate, args.seconds)
        )

    figures["sip platform"] = await steps(args.rates, "platform (GB28181)", platform_step)
    fleet.close()


async def mqtt_figures(args, ids: list, platform: Platform, broker: Broker, figures: dict):
    from campus_safety.simulator.mqtt_devices import RawMqttFleet

    # MQTT — the C subscriber first, on topics of its own (the platform sees none)
    to_peer = RawMqttFleet(broker.url, connections=4, client_prefix=f"cs-bench-p{os.getpid()}",
                           topic_root=PEER_ROOT)  # fmt: skip
    to_peer.start()
    subscriber = CSubscriber(broker.port)
    try:
        figures["mqtt peer"] = await steps(
            args.rates, "mosquitto_sub (C) ",
            lambda rate: mqtt_peer_phase(to_peer, ids, subscriber, rate, args.seconds),
        )  # fmt: skip
    finally:
        subscriber.stop()
        to_peer.close()
    mqtt = RawMqttFleet(broker.url, connections=4, client_prefix=f"cs-bench-{os.getpid()}")
    mqtt.start()
    from asgiref.sync import sync_to_async

    from campus_safety.simulator.bench_devices import switch_protocol

    await sync_to_async(switch_protocol)("mqtt")
    await asyncio.sleep(DIRECTORY_REFRESH + 3)  # the platform's directory picks it up
    figures["mqtt platform"] = await steps(
        args.rates, "platform (MQTT)   ",
        lambda rate: platform_costs(platform, mqtt_phase(mqtt, ids, platform, rate, args.seconds)),
    )  # fmt: skip
    mqtt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--rates", default="5000,10000,15000,20000,30000,40000")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--only", default="sip,mqtt", help="sip, mqtt or both")
    parser.add_argument("--sender", choices=["simulator", "raw"], default="simulator",
                        help="SIP keepalives from the simulator or pre-built bytes "
                             "(keepalive.RawKeepalives: no resends, less CPU)")  # fmt: skip
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    args.rates = [float(rate) for rate in args.rates.split(",")]
    args.devices = min(args.devices, 100_000)
    args.seconds = min(args.seconds, 60)

    data_dir = Path(tempfile.mkdtemp(prefix="cs-bench-peer-"))
    broker, peer, platform = Broker(data_dir), Kamailio(data_dir), None
    args.sip_port, web_port = free_port(), free_port()
    env = platform_env(data_dir, args.sip_port, web_port, broker.url)
    load = os.getloadavg()[0]
    print(f"keepalive peers: {args.devices:,} devices, {args.seconds:g} s per step, "
          f"load average {load:.1f} on {os.cpu_count()} cores")  # fmt: skip
    try:
        run(["migrate", "--noinput", "-v", "0"], env)
        run(["shell", "-c", SETUP.format(count=args.devices)], env)
        token = run(["token", "create", "bench-admin", "--name", "bench"], env).strip()
        platform = Platform(env, web_port, data_dir / "platform.log")
        platform.token = token
        platform.wait_ready()
        figures = asyncio.run(drive(args, platform, peer, broker))
    finally:
        if platform is not None:
            platform.stop()
        peer.stop()
        broker.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print("highest sustained (platform : peer):")
    for protocol, name in (("sip", "GB/T 28181 vs Kamailio"), ("mqtt", "MQTT vs mosquitto_sub")):
        if protocol not in args.only:
            continue
        mine, theirs = figures[f"{protocol} platform"], figures[f"{protocol} peer"]
        cost = [s["per"] for s in (mine, theirs)]
        ratio = mine["rate"] / theirs["rate"] if theirs["rate"] else float("nan")
        print(f"  {name:24s} {mine['rate']:8,.0f}/s : {theirs['rate']:8,.0f}/s = {ratio:.2f}; "
              f"CPU per message {cost[0]:.0f} µs : {cost[1]:.0f} µs")  # fmt: skip


if __name__ == "__main__":
    main()
