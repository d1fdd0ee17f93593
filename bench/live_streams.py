"""Benchmark: live streams (consoles) one web process carries (issue #22, capacity model).

A province sizes its web processes by how many open consoles each carries while every
alarm still reaches every console at once. This starts the platform (``campus-safety
serve``, SQLite in a temp dir or a fresh PostgreSQL database with ``--database-url``),
opens ``--streams`` steps of dispatcher consoles (``GET /live/stream``, all read by one
asyncio loop in a thread of their own), and at each step sends ``--rate`` alarms a second
for ``--seconds`` through the signed HTTP ingest. Printed per step: consoles that got
every alarm, the delivery latency (send → frame on a console) p50/p99 over all
deliveries, and the web process's CPU per delivered frame. The step is carried when
every console got every alarm and p99 ≤ 1 s.

    .venv/bin/python bench/live_streams.py [--streams 50,200,500,1000] [--rate 20]
        [--seconds 10] [--database-url postgres://postgres@127.0.0.1:5432/]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import io
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import alarm_latency  # the sibling bench: platform, setup, senders, sign-in
import api_schools

from campus_safety.simulator.ports import free_port

CARRIED_P99_MS = 1000.0


class Consoles:
    """``count`` SSE consoles on one loop in one thread; receipt times per event id."""

    def __init__(self, port: int, cookies: dict[str, str]) -> None:
        self.port = port
        self.cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.received: list[dict[str, float]] = []
        self.open = 0
        self.errors: list[str] = []
        self.heads: collections.Counter[str] = collections.Counter()
        self.tasks: set[asyncio.Task] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def add(self, count: int, timeout: float = 60) -> None:
        target = self.open + count
        for _ in range(count):
            got: dict[str, float] = {}
            self.received.append(got)
            self.loop.call_soon_threadsafe(self._spawn, got)
        deadline = time.monotonic() + timeout
        while self.open < target and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.open < target:
            sys.exit(f"only {self.open} of {target} streams opened: {self.errors[:3]}; "
                     f"status lines: {self.heads.most_common(3)}")  # fmt: skip

    def _spawn(self, got: dict[str, float]) -> None:
        # the loop keeps only weak references to its tasks: an unreferenced pending
        # task is collected, and its stream silently dropped
        self.tasks.add(self.loop.create_task(self._read(got)))

    async def _read(self, got: dict[str, float]) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        except OSError as exc:
            self.errors.append(repr(exc))
            return
        writer.write(
            f"GET /live/stream HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Cookie: {self.cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        try:
            self.heads["sent"] += 1
            head = await reader.readuntil(b"\r\n\r\n")
            self.heads[head.split(b"\r\n", 1)[0].decode()] += 1
            if b" 200 " not in head.split(b"\r\n", 1)[0] + b" ":
                self.errors.append(head.split(b"\r\n", 1)[0].decode())
                return
            self.open += 1
            buffer = b""
            while data := await reader.read(65536):
                at = time.monotonic()
                buffer += data
                *frames, buffer = buffer.split(b"\n\n")
                for frame in frames:
                    if b"event: alarm.event" not in frame:
                        continue
                    for line in frame.split(b"\n"):
                        if line.startswith(b"data: "):
                            payload = json.loads(line[6:])["payload"]
                            got.setdefault(payload["event_id"], at)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.errors.append(repr(exc))
        finally:
            writer.close()

    def close(self) -> None:
        async def cancel_all() -> None:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def send_step(senders, rate: float, seconds: float) -> dict[str, float]:
    """HTTP alarms at ``rate`` for ``seconds``; event id → send time."""
    sent: dict[str, float] = {}
    items = senders.items("http")

    def send(item) -> None:
        at = time.monotonic()
        _, event_id = senders.send("http", item)
        sent[event_id] = at

    await alarm_latency.paced(send, items, rate, seconds)
    deadline = time.monotonic() + 10
    while senders.tasks and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="50,200,500,1000")
    parser.add_argument("--rate", type=float, default=20, help="alarms per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    steps = [min(int(s), 5000) for s in args.streams.split(",")]
    args.seconds = min(args.seconds, 60)
    args.timeout, args.protocols = 10.0, ["http"]

    data_dir = Path(tempfile.mkdtemp(prefix="cs-bench-streams-"))
    web_port = free_port()
    tag = f"{os.getpid()}{secrets.token_hex(2)}"
    env = {
        **os.environ, "CAMPUS_SAFETY_DATA_DIR": str(data_dir), "SECRET_KEY": "bench-" + tag,
        "GB28181_ENABLED": "0", "MQTT_URL": "", "LIVE_STREAM_MAX_SECONDS": "3600",
        "LOG_LEVEL": "WARNING", "PORT": str(web_port), "DEBUG": "0",
        "PYTHONPATH": str(alarm_latency.ROOT),
    }  # fmt: skip
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    os.environ.update({k: env[k] for k in ("CAMPUS_SAFETY_DATA_DIR", "SECRET_KEY")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
    engine, platform, consoles, db_name = "SQLite", None, None, None
    try:
        if args.database_url:
            env["DATABASE_URL"], db_name = alarm_latency.create_database(args.database_url)
            engine = "PostgreSQL"
        print(f"live streams per web process on {engine}: {args.rate:g} alarms/s for "
              f"{args.seconds:g} s per step; {os.cpu_count()} CPUs, "
              f"{alarm_latency.load()}")  # fmt: skip
        alarm_latency.run(["migrate", "--noinput", "-v", "0"], env)
        script = alarm_latency.SETUP % {
            "bases": {"http": alarm_latency.SERIAL_BASE["http"]}, "count": 50,
            "user": alarm_latency.DISPATCHER, "password": api_schools.PASSWORD,
        }  # fmt: skip
        setup = json.loads(alarm_latency.run(["shell", "-c", script], env).splitlines()[-1])
        platform = alarm_latency.Platform(env, web_port, data_dir / "platform.log")
        platform.wait_ready()
        browser = api_schools.Browser(web_port)
        with contextlib.redirect_stdout(io.StringIO()):
            api_schools.sign_in(browser, alarm_latency.DISPATCHER, None)
        import django

        django.setup()
        consoles = Consoles(web_port, browser.cookies)
        senders = alarm_latency.Senders(args, setup["devices"], setup["secret"], web_port)
        asyncio.run(senders.start())
        print(f"  {'streams':>8}{'complete':>10}{'p50 ms':>9}{'p99 ms':>9}"
              f"{'CPU %':>7}{'µs/frame':>10}")  # fmt: skip
        for count in steps:
            consoles.add(count - consoles.open)
            time.sleep(1.0)
            cpu = platform.cpu_seconds()
            started = time.monotonic()
            sent = asyncio.run(send_step(senders, args.rate, args.seconds))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(
                len(got.keys() & sent.keys()) == len(sent) for got in consoles.received
            ):
                time.sleep(0.1)
            used = platform.cpu_seconds() - cpu
            window = time.monotonic() - started
            latencies = [
                (got[e] - at) * 1000 for got in consoles.received for e, at in sent.items()
                if e in got
            ]  # fmt: skip
            complete = sum(len(got.keys() & sent.keys()) == len(sent) for got in consoles.received)
            p99 = alarm_latency.percentile(latencies, 99)
            per_frame = used * 1e6 / max(1, len(latencies))
            carried = complete == count and p99 <= CARRIED_P99_MS
            print(f"  {count:>8,}{complete:>10,}{alarm_latency.percentile(latencies, 50):>9.0f}"
                  f"{p99:>9.0f}{100 * used / window:>7.0f}{per_frame:>10.0f}"
                  + ("" if carried else "  not carried"), flush=True)  # fmt: skip
            if not carried:
                break
        senders.close()
        if consoles.errors:
            print(f"  stream errors: {len(consoles.errors)}; first: {consoles.errors[:2]}")
    finally:
        if consoles is not None:
            consoles.close()
        if platform is not None:
            platform.stop()
        if db_name is not None:
            alarm_latency.drop_database(args.database_url, db_name)
        if os.environ.get("KEEP_BENCH_DIR"):
            print(f"(kept {data_dir})")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
