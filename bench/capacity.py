"""Benchmark: per-role capacity of the scaled-out platform, 1 process against 2 (issue #22).

On PostgreSQL (a fresh database on the server of ``--database-url``), Redis and a
Mosquitto of the bench's own (bench/mosquitto-keepalive.conf), as production runs it:

* **sip** — ``serve --role sip,web`` × N (the web role only answers the bench's counter
  queries), devices split across the N gateways, keepalives (GB/T 28181 MESSAGE over UDP)
  stepped up while every one is answered and processed within a second of the last send;
* **mqtt** — ``serve --role mqtt,sip,web`` × N (SIP idle) on one shared subscription,
  QoS 1 heartbeats through the broker, stepped up the same way;
* **alarms** — ``serve --role http-ingest`` × N, a burst of signed HTTP alarm batches;
  alarms/s acknowledged, and PostgreSQL transactions and rows written per alarm
  (``pg_stat_database`` of the bench's database).

For each it prints the median over ``--runs`` of the highest sustained rate with 1 and
with 2 processes, and their ratio. This machine has 2 cores for the processes *and* the
bench's senders, so the ratio shows what a second process buys when cores are scarce;
docs/deployment.md turns the per-process figures into a province's sizing. Loopback only,
bounded in count and time; the database, broker and processes are gone afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/capacity.py [--devices 12000] [--seconds 10] [--runs 1]
        [--sip-rates 4000,6000,8000,10000,12000] [--mqtt-rates …] [--alarms 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from keepalive import (  # the keepalive bench: sender, broker, pacing
    DOMAIN,
    PASSWORD,
    PLATFORM_ID,
    SETUP,
    Broker,
    Platform,
    RawKeepalives,
    is_sustained,
    paced,
    run,
)

from campus_safety.simulator.ports import free_port

DIRECTORY_REFRESH = 30


class RolePlatform(Platform):
    """``serve --role …`` with its own HTTP (and SIP) port."""

    def __init__(self, env: dict[str, str], roles: str, log: Path, index: int) -> None:
        import subprocess

        from keepalive import COMMAND

        self.port = free_port()
        self.sip_port = free_port()
        # a stable client ID per consumer slot: a stopped consumer's persistent session
        # keeps getting its share of the shared subscription (queued until it returns),
        # so the 2-process phase reuses the 1-process phase's ID, as a StatefulSet would
        own = {**env, "GB28181_PORT": str(self.sip_port),
               "MQTT_CLIENT_ID": f"{env['MQTT_SHARE_GROUP']}-{index}"}  # fmt: skip
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [*COMMAND, "serve", "--role", roles, "--host", "127.0.0.1", "--port", str(self.port)],
            env=own, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.token = env["BENCH_TOKEN"]


def start_role(env: dict[str, str], roles: str, count: int, data_dir: Path) -> list[RolePlatform]:
    platforms = [
        RolePlatform(env, roles, data_dir / f"{roles.replace(',', '-')}{n}.log", n)
        for n in range(count)
    ]
    for platform in platforms:
        platform.wait_ready(120)
    return platforms


def stop_all(platforms: list[RolePlatform]) -> None:
    for platform in platforms:
        platform.stop()


async def sip_capacity(args, env, data_dir: Path, count: int) -> dict:
    from campus_safety.simulator.bench_devices import bench_ids
    from campus_safety.simulator.sip_devices import SipDevice, SipFleet, SipTarget

    platforms = await asyncio.to_thread(start_role, env, "sip,web", count, data_dir)
    try:
        ids = bench_ids(args.devices)
        groups = [ids[n::count] for n in range(count)]
        fleets, devices = [], []
        for platform, group in zip(platforms, groups, strict=True):
            target = SipTarget("127.0.0.1", platform.sip_port, PLATFORM_ID, DOMAIN, PASSWORD)
            own = [SipDevice(device_id, "") for device_id in group]
            fleet = SipFleet(target, own, devices_per_socket=500)
            await fleet.start()
            await fleet.register_all(concurrency=200)
            missing = [d for d in own if not d.is_registered]
            if missing:
                await fleet.register_all(missing, concurrency=50)
            if args.sip_sender == "raw":
                fleet.close()  # registered: the raw sender takes over
                fleet = RawKeepalives(("127.0.0.1", platform.sip_port), own, fleet)
                await fleet.start()
            fleets.append(fleet)
            devices.append(own)
        await asyncio.sleep(3)
        # first sign of life, paced, as keepalive.py does: the online transitions (and the
        # one parse of each device's keepalive shape) are done before measuring
        await asyncio.gather(*(
            paced(lambda d, f=fleet: f.send_keepalive(d, lambda response: None), own, 1000,
                  len(own) / 1000)
            for fleet, own in zip(fleets, devices, strict=True)
        ))  # fmt: skip
        await asyncio.sleep(5)
        best = None
        for rate in args.sip_rates:
            step = await sip_step(platforms, fleets, devices, rate, args.seconds)
            print(f"    {count} × sip at {rate:,.0f}/s: processed {step['processed']:,} of "
                  f"{step['sent']:,} ({step['rate']:,.0f}/s), CPU per process "
                  f"{', '.join(f'{c:.0f}%' for c in step['cpu'])}"
                  + ("" if step["sustained"] else ": not sustained"))  # fmt: skip
            if not step["sustained"]:
                break
            best = step
        for fleet in fleets:
            fleet.close()
        return best or {"rate": 0.0, "cpu": [0.0] * count}
    finally:
        await asyncio.to_thread(stop_all, platforms)


async def sip_step(platforms, fleets, devices, rate: float, seconds: float) -> dict:
    before = [p.counters()["gb28181"].get("keepalives", 0) for p in platforms]
    cpu0 = [p.cpu_seconds() for p in platforms]
    t0 = time.monotonic()
    answered, last = [0], [t0]

    def done(response: bytes | None) -> None:
        if response is not None and response[8:11] == b"200":
            answered[0] += 1
            last[0] = time.monotonic()

    share = rate / len(fleets)
    sent = sum(
        await asyncio.gather(*(
            paced(lambda d, f=fleet: f.send_keepalive(d, done), own, share, seconds)
            for fleet, own in zip(fleets, devices, strict=True)
        ))
    )  # fmt: skip
    send_end = time.monotonic()
    timeouts = lambda: sum(f.stats["timeouts"] for f in fleets)  # noqa: E731
    while answered[0] + timeouts() < sent and time.monotonic() < send_end + 35:
        await asyncio.sleep(0.1)
    window = max(last[0], send_end) - t0
    after = [p.counters()["gb28181"].get("keepalives", 0) for p in platforms]
    processed = sum(a - b for a, b in zip(after, before, strict=True))
    cpu = [100 * (p.cpu_seconds() - c) / window for p, c in zip(platforms, cpu0, strict=True)]
    return {"sent": sent, "processed": processed, "rate": processed / window, "cpu": cpu,
            "sustained": is_sustained(sent, processed, window, seconds)}  # fmt: skip


async def mqtt_capacity(args, env, data_dir: Path, count: int) -> dict:
    from campus_safety.simulator.bench_devices import bench_ids
    from campus_safety.simulator.mqtt_devices import RawMqttFleet

    # (the SIP server idles there: the gateway counters the bench reads hang off it)
    platforms = await asyncio.to_thread(start_role, env, "mqtt,sip,web", count, data_dir)
    fleet = RawMqttFleet(env["MQTT_URL"], connections=4, client_prefix=f"cs-cap-{os.getpid()}")
    fleet.start()
    try:
        ids = bench_ids(args.devices)
        best = None
        for rate in args.mqtt_rates:
            before = [p.counters()["mqtt"].get("accepted", 0) for p in platforms]
            cpu0 = [p.cpu_seconds() for p in platforms]
            t0 = time.monotonic()
            sent = await paced(fleet.heartbeat, ids, rate, args.seconds)
            send_end = time.monotonic()
            target, last = sum(before) + sent, (sum(before), time.monotonic())
            while time.monotonic() < send_end + 30:
                accepted = sum(p.counters()["mqtt"].get("accepted", 0) for p in platforms)
                if accepted != last[0]:
                    last = (accepted, time.monotonic())
                if accepted >= target:
                    break
                await asyncio.sleep(0.2)
            window = max(last[1], send_end) - t0
            processed = last[0] - sum(before)
            cpu = [100 * (p.cpu_seconds() - c) / window for p, c in zip(platforms, cpu0,
                                                                        strict=True)]  # fmt: skip
            step = {"sent": sent, "processed": processed, "rate": processed / window,
                    "cpu": cpu, "sustained": is_sustained(sent, processed, window,
                                                          args.seconds)}  # fmt: skip
            print(f"    {count} × mqtt at {rate:,.0f}/s: processed {processed:,} of {sent:,} "
                  f"({step['rate']:,.0f}/s), CPU per process "
                  f"{', '.join(f'{c:.0f}%' for c in cpu)}"
                  + ("" if step["sustained"] else ": not sustained"))  # fmt: skip
            if not step["sustained"]:
                break
            best = step
        return best or {"rate": 0.0, "cpu": [0.0] * count}
    finally:
        fleet.close()
        await asyncio.to_thread(stop_all, platforms)


def pg_counters(database_url: str) -> tuple[int, int]:
    """(transactions committed, rows inserted + updated) of the bench's database."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, tup_inserted + tup_updated FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]), int(row[1])


async def alarm_capacity(args, env, data_dir: Path, count: int, secret: str, ids) -> dict:
    from campus_safety.simulator.http_devices import HttpDevice, HttpFleet

    platforms = await asyncio.to_thread(start_role, env, "http-ingest", count, data_dir)
    try:
        fleets = [HttpFleet(f"http://127.0.0.1:{p.port}", timeout=30) for p in platforms]
        devices = [HttpDevice(device_id, secret) for device_id in ids]
        per_batch = 10
        batches = [
            (devices[n % len(devices)], [fleets[0].event("alarm", priority=1,
                                                         description="一键报警")
                                         for _ in range(per_batch)])
            for n in range(args.alarms // per_batch)
        ]  # fmt: skip
        await asyncio.sleep(1.0)  # pg_stat_database lags by up to its stats interval
        xacts0, rows0 = await asyncio.to_thread(pg_counters, env["DATABASE_URL"])
        semaphore = asyncio.Semaphore(64)
        acked = [0]

        async def post(index: int, device, events) -> None:
            async with semaphore:
                for _attempt in range(20):
                    status, answer = await fleets[index % count].post(device, events)
                    if status == 200:
                        acked[0] += sum(r["outcome"] in ("accepted", "duplicate")
                                        for r in answer["results"])  # fmt: skip
                        return
                    await asyncio.sleep(0.2)

        cpu0 = [p.cpu_seconds() for p in platforms]
        t0 = time.monotonic()
        await asyncio.gather(*(post(i, d, e) for i, (d, e) in enumerate(batches)))
        elapsed = time.monotonic() - t0
        cpu = [100 * (p.cpu_seconds() - c) / elapsed for p, c in zip(platforms, cpu0,
                                                                     strict=True)]  # fmt: skip
        await asyncio.sleep(1.5)
        xacts1, rows1 = await asyncio.to_thread(pg_counters, env["DATABASE_URL"])
        result = {"alarms": acked[0], "rate": acked[0] / elapsed, "seconds": elapsed,
                  "cpu": cpu, "xacts_per_alarm": (xacts1 - xacts0) / max(acked[0], 1),
                  "rows_per_alarm": (rows1 - rows0) / max(acked[0], 1)}  # fmt: skip
        print(f"    {count} × http-ingest: {acked[0]:,} alarms in {elapsed:.2f} s "
              f"({result['rate']:,.0f}/s), CPU per process {', '.join(f'{c:.0f}%' for c in cpu)}, "
              f"PostgreSQL {result['xacts_per_alarm']:.2f} transactions and "
              f"{result['rows_per_alarm']:.1f} rows written per alarm")  # fmt: skip
        return result
    finally:
        await asyncio.to_thread(stop_all, platforms)


HTTP_SETUP = """
import json
from tests.devices.support import SECRET, DeviceFactory
from tests.factories import SchoolFactory
school = SchoolFactory()
ids = [DeviceFactory(school=school, protocol="http", device_id=f"371402000013{{5000000 + n:08d}}")
       .device_id for n in range({count})]
print(json.dumps({{"ids": ids, "secret": SECRET}}))
"""


def summarise(name: str, unit: str, results: dict[int, list[dict]]) -> None:
    one = statistics.median(r["rate"] for r in results[1])
    two = statistics.median(r["rate"] for r in results[2])
    cpu1 = statistics.median(sum(r["cpu"]) for r in results[1])
    cpu2 = statistics.median(sum(r["cpu"]) for r in results[2])
    ratio = two / one if one else float("nan")
    print(f"  {name:13s} 1 process {one:8,.0f} {unit} ({cpu1:.0f}% CPU)   2 processes "
          f"{two:8,.0f} {unit} ({cpu2:.0f}% CPU)   ratio 2:1 = {ratio:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--devices", type=int, default=12_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--sip-rates", default="4000,6000,8000,10000,12000,14000,16000")
    parser.add_argument("--mqtt-rates", default="4000,6000,8000,10000,12000,14000,16000")
    parser.add_argument("--alarms", type=int, default=2000)
    parser.add_argument("--only", default="sip,mqtt,alarms")
    parser.add_argument("--sip-sender", choices=["simulator", "raw"], default="simulator",
                        help="raw: keepalives from pre-built bytes (RawKeepalives)")  # fmt: skip
    args = parser.parse_args()
    if not args.database_url.startswith("postgres") or not args.redis_url:
        sys.exit("capacity is measured on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")
    args.sip_rates = [float(r) for r in args.sip_rates.split(",")]
    args.mqtt_rates = [float(r) for r in args.mqtt_rates.split(",")]
    args.devices = min(args.devices, 60_000)
    args.seconds = min(args.seconds, 60)
    args.alarms = min(args.alarms, 20_000)
    only = set(args.only.split(","))

    import psycopg

    server, _, _ = args.database_url.rpartition("/")
    name = f"cs_capacity_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    data_dir = Path(tempfile.mkdtemp(prefix="cs-bench-capacity-"))
    broker = Broker(data_dir)
    tag = f"{os.getpid()}{secrets.token_hex(2)}"
    env = {
        **os.environ, "DATABASE_URL": f"{server}/{name}", "REDIS_URL": args.redis_url,
        "CAMPUS_SAFETY_DATA_DIR": str(data_dir), "SECRET_KEY": "bench-" + tag,
        "GB28181_ENABLED": "1", "GB28181_HOST": "127.0.0.1", "GB28181_PASSWORD": PASSWORD,
        "GB28181_RATE_LIMIT": "0", "MQTT_URL": broker.url, "MQTT_SHARE_GROUP": f"cap{tag}",
        "LIVENESS_REDIS_PREFIX": f"cs-capacity-{tag}", "LOG_LEVEL": "WARNING",
        "LIVENESS_DIRECTORY_REFRESH_SECONDS": str(DIRECTORY_REFRESH), "ACCESS_LOG": "off",
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                       os.environ.get("PYTHONPATH", "")]),
    }  # fmt: skip
    os.environ.update({k: env[k] for k in ("CAMPUS_SAFETY_DATA_DIR", "SECRET_KEY",
                                           "DATABASE_URL", "REDIS_URL")})  # fmt: skip
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
    print(f"capacity benchmark on PostgreSQL, Redis and Mosquitto ({os.cpu_count()} CPUs): "
          f"{args.devices:,} devices, {args.seconds:g} s per step, {args.runs} run(s)")  # fmt: skip
    try:
        run(["migrate", "--noinput", "-v", "0"], env)
        run(["shell", "-c", SETUP.format(count=args.devices)], env)
        env["BENCH_TOKEN"] = run(["token", "create", "bench-admin", "--name", "bench"],
                                 env).strip()  # fmt: skip
        import django

        django.setup()
        from asgiref.sync import sync_to_async

        from campus_safety.simulator.bench_devices import switch_protocol

        results: dict[str, dict[int, list[dict]]] = {}

        http = {"ids": [], "secret": ""}
        if "alarms" in only:
            http = json.loads(run(["shell", "-c", HTTP_SETUP.format(count=50)],
                                  env).strip().splitlines()[-1])  # fmt: skip

        async def measure() -> None:
            for run_number in range(1, args.runs + 1):
                print(f"  run {run_number}")
                for count in (1, 2):
                    if "sip" in only:
                        await sync_to_async(switch_protocol)("gb28181")
                        found = await sip_capacity(args, env, data_dir, count)
                        results.setdefault("sip", {}).setdefault(count, []).append(found)
                    if "mqtt" in only:
                        await sync_to_async(switch_protocol)("mqtt")
                        found = await mqtt_capacity(args, env, data_dir, count)
                        results.setdefault("mqtt", {}).setdefault(count, []).append(found)
                    if "alarms" in only:
                        found = await alarm_capacity(args, env, data_dir, count,
                                                     http["secret"], http["ids"])  # fmt: skip
                        results.setdefault("alarms", {}).setdefault(count, []).append(found)

        asyncio.run(measure())
        print("medians:")
        units = {"sip": "keepalives/s", "mqtt": "keepalives/s", "alarms": "alarms/s"}
        labels = {"sip": "GB/T 28181", "mqtt": "MQTT", "alarms": "HTTP alarms"}
        for key, by_count in results.items():
            summarise(labels[key], units[key], by_count)
        if "alarms" in results:
            per = statistics.median(r["xacts_per_alarm"] for r in results["alarms"][1])
            rows = statistics.median(r["rows_per_alarm"] for r in results["alarms"][1])
            print(f"  PostgreSQL per alarm: {per:.2f} transactions, {rows:.1f} rows written")
    finally:
        broker.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
