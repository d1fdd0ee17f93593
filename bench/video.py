"""Benchmark: live video over GB/T 28181 (issue #16), on loopback.

A real SIP server (the gateway) and the video hub on one event loop in a thread, a
simulated NVR (its cameras answer INVITE and send H.264 in PS over RTP) on another,
as in ``serve --simulate``. Four parts, medians and ratios printed:

1. **set-up** — INVITE to the first key frame demuxed on the platform, a fresh stream
   each time (the camera's encoder starts on the INVITE, so its first frame is a key).
2. **browser** — headless Chromium (Debian's) plays with mpegts.js: *click to first
   picture* (the POST that starts the stream to the ``<video>``'s first time update),
   cold (a new stream) and warm (joining a running one: the cached GOP), p50/p95; and
   *glass to glass*: the wall clock when a frame is shown (``requestVideoFrameCallback``)
   minus when the camera sent it (the camera's encode time not included), and minus the
   time the camera drew in the picture as the frame left its source (read back from the
   shown picture's pixels: the simulator's time code row; encoder included). The page and
   its stream come from a small HTTP server in this process, not Django (its views add
   one database read per start).
3. **scale** — N streams of a 1080p H.264 clip at 2 Mbit/s (replayed, no encoder per
   camera), 4 viewers each, each an HTTP client reading its stream over loopback TCP as
   a browser does (``--in-process-viewers``: queues drained on the platform's loop): the
   platform loop thread's CPU (% of one core, the HTTP writes included) and the
   simulator's over the window, and an exact frame account. Each camera keeps the RTP
   timestamp of every frame it sends; at the window's end every camera stops at once
   (the end marker), the platform empties its sockets, and each viewer's MPEG-TS is read
   back (the PTS of each PES): *lost: N of M* counts the frames the camera sent from that
   viewer's first key frame (where a joining viewer starts, by design) to the marker that
   the viewer did not get. Printed beside it: RTP sequence gaps, the kernel's drops on
   the RTP sockets (/proc/net/udp) and its UDP ``RcvbufErrors`` (/proc/net/snmp), the
   SO_RCVBUF granted, and the old in-window counters with the frames in flight (sent, not
   yet demuxed) at the window's edges — "sent in the window" minus "demuxed in the
   window" is exactly the end's in-flight minus the start's, so the old counters differ
   by however far the platform's loop lags the cameras at each edge (on a loaded machine
   up to a second), never by a lost frame.
4. **ratio** — the same PS stream remuxed to MPEG-TS by plain FFmpeg (``-c copy``)
   against this platform's RTP → PS → TS path: CPU seconds per stream-second.

    .venv/bin/python bench/video.py [--trials 10] [--streams 1,4,16] [--seconds 10]
        [--skip-browser] [--parts 1,2,3,4] [--stall-ms 0] [--receive-buffer BYTES]
        [--in-process-viewers]

``--stall-ms`` blocks the platform's loop across the window's end (what a loaded
machine does to it: the in-window counters part, nothing is lost); ``--receive-buffer``
asks a smaller SO_RCVBUF than the platform's 4 MB (212992: where Linux's default
``net.core.rmem_max`` caps the platform's request, granted doubled as 425,984 B); with
a stall longer than that buffer holds it shows real loss, counted.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts whose names shadow the standard library's (bench/inspect.py):
# this one imports from the standard library, never from its own folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from campus_safety.gateway.gb28181 import server as gb  # noqa: E402
from campus_safety.simulator import video_camera  # noqa: E402
from campus_safety.simulator.ports import free_port  # noqa: E402
from campus_safety.simulator.sip_devices import (  # noqa: E402
    Channel,
    SipDevice,
    SipFleet,
    SipTarget,
)
from campus_safety.video import media_control, ps, rtp, streams, ts  # noqa: E402

PLATFORM_ID, DOMAIN, PASSWORD = "37140000002000000001", "3714000000", "bench-pass-1"
NVR_ID = "37140200001180000001"
CHROMIUM = Path("/usr/bin/chromium")
MPEGTS = ROOT / "node_modules" / "mpegts.js" / "dist" / "mpegts.js"


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (k - low)


def thread_cpu(native_id: int) -> float:
    """CPU seconds (user + system) of one thread of this process, from /proc."""
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self.ready.wait()

    def _run(self) -> None:
        self.native_id = threading.get_native_id()
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self.ready.set)
        self.loop.run_forever()

    def call(self, coroutine, timeout: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


def interface() -> gb.PlatformInterface:
    async def credentials(device_id: str):
        return PASSWORD, True

    async def nothing(*args):
        return None

    return gb.PlatformInterface(
        device_credentials=credentials,
        on_registered=nothing,
        on_unregistered=nothing,
        on_keepalive=lambda *a: None,
        on_alarm=nothing,
        on_catalog=nothing,
        on_pending=nothing,
    )


class Rig:
    """The platform (gateway + hub) and the simulated NVR, each on its own loop."""

    def __init__(self, channels: int) -> None:
        settings.VIDEO_MEDIA_BIND = settings.VIDEO_MEDIA_HOST = "127.0.0.1"
        settings.VIDEO_MAX_STREAMS = settings.VIDEO_MAX_STREAMS_PER_DEVICE = 1000
        settings.GB28181_PLATFORM_ID, settings.GB28181_DOMAIN = PLATFORM_ID, DOMAIN
        self.platform = LoopThread("platform")
        config = gb.ServerConfig(
            platform_id=PLATFORM_ID, domain=DOMAIN, catalog_on_register=False, rate_per_second=0
        )
        self.server = self.platform.call(
            gb.start_gb28181(interface(), "127.0.0.1", 0, config=config)
        )
        media_control.connect(self.server.dialogs)
        self.hub = streams.hub
        self.channels = [f"371402000013100{n:05d}" for n in range(1, channels + 1)]
        device = SipDevice(NVR_ID, PASSWORD, channels=[Channel(c, c) for c in self.channels])
        self.simulator = LoopThread("simulator")
        self.fleet = SipFleet(
            SipTarget("127.0.0.1", self.server.port, PLATFORM_ID, DOMAIN, PASSWORD),
            [device],
            local_host="127.0.0.1",
        )

        async def begin() -> int:
            await self.fleet.start()
            return await self.fleet.register(device)

        assert self.simulator.call(begin()) == 200, "the NVR did not register"

    def target(self, channel: str) -> streams.Target:
        return streams.Target(channel, NVR_ID)

    def stop_all(self) -> None:
        self.platform.call(self.hub.stop_all())
        time.sleep(0.2)

    def close(self) -> None:
        self.stop_all()
        self.simulator.call(asyncio.sleep(0))
        self.simulator.loop.call_soon_threadsafe(self.fleet.close)
        self.server.close()


# --- 1. set-up time ------------------------------------------------------------------------


def bench_setup(rig: Rig, trials: int) -> list[float]:
    times = []
    for index in range(trials):
        channel = rig.channels[index % len(rig.channels)]
        began = time.perf_counter()
        rig.platform.call(rig.hub.open(rig.target(channel)))
        times.append((time.perf_counter() - began) * 1000)
        rig.stop_all()
    return times


# --- 2. in the browser ---------------------------------------------------------------------

PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<video id="v" muted playsinline autoplay style="width:640px"></video>
<script src="/mpegts.js"></script>
<script>TIME_CODE_JS</script>
<script>
async function trial(channel) {
  const video = document.getElementById("v");
  const t0 = performance.now();
  const answer = await (await fetch("/start/" + channel, {method: "POST"})).json();
  const player = mpegts.createPlayer({type: "mpegts", isLive: true, hasAudio: false,
      url: "/stream/" + channel},
    {enableStashBuffer: false, liveBufferLatencyChasing: true,
     liveBufferLatencyMaxLatency: 1.5, liveBufferLatencyMinRemain: 0.3});
  player.attachMediaElement(video); player.load(); player.play().catch(() => {});
  await new Promise(ok => { const f = () => { if (video.currentTime > 0) {
    video.removeEventListener("timeupdate", f); ok(); } };
    video.addEventListener("timeupdate", f); });
  const first = performance.now() - t0;
  const lags = [];
  await new Promise(ok => { const started = performance.now();
    const frame = (now, meta) => {
      lags.push([Date.now() / 1000, meta.mediaTime, window.readTimeCode(video)]);
      if (performance.now() - started < 4000) video.requestVideoFrameCallback(frame);
      else ok(); };
    video.requestVideoFrameCallback(frame); });
  player.destroy();
  return {first: first, setup: answer.setup_ms, lags: lags};
}
</script>""".replace("TIME_CODE_JS", video_camera.TIME_CODE_JS)


class MiniServer:
    """The page, mpegts.js, ``POST /start/<channel>`` and ``GET /stream/<channel>``."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.port = free_port()
        self.origins: dict[str, float] = {}
        rig.platform.call(self._start())

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ")[1]
            path = path.decode()
            if path == "/":
                await self._reply(writer, "text/html", PAGE.encode())
            elif path == "/mpegts.js":
                await self._reply(writer, "text/javascript", MPEGTS.read_bytes())
            elif path.startswith("/start/"):
                channel = path.rsplit("/", 1)[1]
                began = time.perf_counter()
                await self.rig.hub.open(self.rig.target(channel))
                ms = round((time.perf_counter() - began) * 1000)
                await self._reply(writer, "application/json", json.dumps({"setup_ms": ms}).encode())
            elif path.startswith("/stream/"):
                channel = path.rsplit("/", 1)[1]
                viewer = streams.Viewer(asyncio.get_running_loop())
                await self.rig.hub.attach(self.rig.target(channel), viewer)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n"
                    b"Cache-Control: no-store\r\nConnection: close\r\n\r\n"
                )
                try:
                    while (data := await viewer.aget(5)) is not None:
                        if data:
                            writer.write(data)
                            await writer.drain()
                finally:
                    await self.rig.hub.detach(channel, viewer)
            else:
                await self._reply(writer, "text/plain", b"no", 404)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self.rig.platform.loop.call_soon_threadsafe(self.server.close)

    @staticmethod
    async def _reply(writer, kind: str, body: bytes, status: int = 200) -> None:
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()


def bench_browser(rig: Rig, trials: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    mini = MiniServer(rig)
    out: dict[str, list[float]] = {
        "cold": [], "warm": [], "g2g": [], "g2g_picture": [], "setup": [], "unread": []
    }  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )  # fmt: skip
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{mini.port}/")
        for index in range(trials):
            channel = rig.channels[index % len(rig.channels)]
            result = page.evaluate(f"trial('{channel}')")
            out["cold"].append(result["first"])
            out["setup"].append(result["setup"])
            sent = next(
                s for s in video_camera.streams(rig.fleet) if s.channel_id == channel
            ).first_sent_at
            # frame at media time m left the camera at sent + m (paced at real time)
            out["g2g"] += [(now - sent - media) * 1000 for now, media, _ in result["lags"][5:]]
            # the time the camera drew in the frame as it left its source, read from the
            # shown picture's pixels: the encoder is in this one
            out["g2g_picture"] += [
                now * 1000 - drawn for now, _, drawn in result["lags"][5:] if drawn is not None
            ]
            out["unread"].append(sum(1 for *_, drawn in result["lags"][5:] if drawn is None))
            warm = page.evaluate(f"trial('{channel}')")  # the stream still runs: cached GOP
            out["warm"].append(warm["first"])
            rig.stop_all()
        browser.close()
    return out


# --- 3. scale ------------------------------------------------------------------------------


def make_clip(directory: Path, seconds: int = 10) -> Path:
    """A 1080p H.264 clip at 2 Mbit/s, a key frame every 2 s, an AUD before each frame."""
    clip = directory / "clip1080.h264"
    subprocess.run(
        [shutil.which("ffmpeg"), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
         "-b:v", "2M", "-maxrate", "2M", "-bufsize", "1M", "-g", "50", "-keyint_min", "50",
         "-sc_threshold", "0", "-bf", "0", "-x264-params", "aud=1:repeat-headers=1",
         "-f", "h264", str(clip)],
        check=True,
    )  # fmt: skip
    return clip


FRAME_TICKS = 90_000 // video_camera.FPS  # the simulator's PTS step (90 kHz)


class CountedCameraStream(video_camera.CameraStream):
    """The simulator's camera keeping the RTP timestamp of each frame it sends (the
    first packet's: the PTS the platform passes on): the scale part's ground truth."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent_timestamps: list[int] = []

    def send(self, packets: list[bytes]) -> None:
        if packets:
            self.sent_timestamps.append(rtp.HEADER.unpack_from(packets[0])[3])
        super().send(packets)


def shown_frames(data: bytes) -> list[tuple[int, bool]]:
    """(PTS, is key) of each video PES in a viewer's MPEG-TS, in order: one per frame
    (ts.Muxer starts every access unit with a PES, a key frame's first packet carries
    the random-access flag)."""
    out = []
    for offset in range(0, len(data), ts.PACKET):
        if data[offset] != 0x47:
            raise ValueError(f"TS sync lost at byte {offset}")
        flags = data[offset + 1]
        if not flags & 0x40 or ((flags & 0x1F) << 8 | data[offset + 2]) != ts.VIDEO_PID:
            continue
        start, is_key = offset + 4, False
        if data[offset + 3] & 0x20:  # adaptation field
            is_key = data[offset + 4] > 0 and bool(data[offset + 5] & 0x40)
            start += 1 + data[offset + 4]
        head = data[start : start + 14]
        if head[:4] != b"\x00\x00\x01\xe0" or not head[7] & 0x80:
            raise ValueError(f"a video PES without PTS at byte {offset}")
        p = head[9:14]
        pts = (p[0] >> 1 & 7) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | p[4] >> 1
        out.append((pts, is_key))
    return out


def udp_counters() -> dict[str, int]:
    """The kernel's UDP counters (/proc/net/snmp) of this network namespace."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    names, values = (line for line in lines if line[0] == "Udp:")
    return dict(zip(names[1:], map(int, values[1:]), strict=True))


def udp_sockets(ports: set[int]) -> dict[int, tuple[int, int]]:
    """(bytes queued to read, datagrams dropped) of the IPv4 UDP sockets bound to
    ``ports``, from /proc/net/udp: the kernel's own per-socket count."""
    out = {}
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        port = int(fields[1].rsplit(":", 1)[1], 16)
        if port in ports:
            out[port] = (int(fields[4].split(":")[1], 16), int(fields[-1]))
    return out


def in_flight(cameras: dict, sessions: dict) -> int:
    """Frames the cameras sent that the platform has not yet demuxed (read now)."""
    return sum(
        ((cameras[c].sent_timestamps[-1] - s.last_pts) & 0xFFFFFFFF) // FRAME_TICKS
        for c, s in sessions.items()
    )


async def watch_over_http(port: int, channel: str, chunks: list[bytes]) -> None:
    """One viewer as a browser is one: ``GET /stream/<channel>`` over TCP, every byte of
    the response body kept until the platform closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET /stream/{channel} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"stream {channel}: {head[:40]!r}")
        while data := await reader.read(1 << 16):
            chunks.append(data)
    finally:
        writer.close()


def bench_scale(
    rig: Rig,
    count: int,
    seconds: float,
    viewers: int = 4,
    stall: float = 0.0,
    http: bool = True,
) -> dict:
    """``count`` streams × ``viewers``: CPU over the window; then every camera stops at
    once (the end marker), the platform empties its sockets, and each viewer's MPEG-TS
    is read back: the frames the camera sent from that viewer's first key frame to the
    marker against the frames the viewer got, by PTS.

    ``http``: each viewer is an HTTP client on a loop of its own (the "browsers"),
    reading ``GET /stream/<channel>`` over loopback TCP from a server on the platform's
    loop, so the platform's CPU includes writing to every viewer's socket and a viewer
    that reads too slowly would meet the platform's backlog limit; otherwise each viewer
    is drained in process on the platform's loop (the remux and fan-out alone)."""
    channels = rig.channels[:count]
    watched: list[tuple[str, list[bytes]]] = []
    draining: list[asyncio.Future] = []
    mini = MiniServer(rig) if http else None
    browsers = LoopThread("browsers") if http else None

    async def drain(viewer: streams.Viewer, chunks: list[bytes]) -> None:
        while (data := await viewer.aget(5)) is not None:
            if data:
                chunks.append(data)  # read back after the run, not on the platform's loop

    async def open_all() -> None:
        for channel in channels:
            for _ in range(viewers):
                viewer, chunks = streams.Viewer(asyncio.get_running_loop()), []
                await rig.hub.attach(rig.target(channel), viewer)
                watched.append((channel, chunks))
                draining.append(asyncio.ensure_future(drain(viewer, chunks)))

    async def open_http() -> None:
        for channel in channels:
            for _ in range(viewers):
                chunks: list[bytes] = []
                watched.append((channel, chunks))
                draining.append(asyncio.ensure_future(watch_over_http(mini.port, channel, chunks)))

    async def finished() -> None:
        await asyncio.gather(*draining)

    def attached() -> int:
        return sum(len(s.viewers) for c, s in list(rig.hub.sessions.items()) if c in channels)

    async def stop_sending(cameras: list[CountedCameraStream]) -> None:
        for camera in cameras:
            camera.task.cancel()
        await asyncio.gather(*(camera.task for camera in cameras), return_exceptions=True)

    kernel_before = udp_counters()
    if browsers is not None:
        browsers.call(open_http())
        deadline = time.monotonic() + 30
        while attached() < count * viewers and time.monotonic() < deadline:
            time.sleep(0.05)
        if attached() < count * viewers:
            raise RuntimeError(f"only {attached()} of {count * viewers} viewers attached")
    else:
        rig.platform.call(open_all())
    time.sleep(2.0)  # settle
    sessions = {c: rig.hub.sessions[c] for c in channels}
    cameras = {s.channel_id: s for s in video_camera.streams(rig.fleet) if s.channel_id in sessions}
    ports = {camera.offer.video.port: channel for channel, camera in cameras.items()}
    # the window the CPU is measured over; the old figures "frames out / sent in the
    # window" read the two sides' counters at its edges
    flight_before = in_flight(cameras, sessions)
    frames_before = sum(s.stats["frames"] for s in sessions.values())
    sent_before = sum(len(c.sent_timestamps) for c in cameras.values())
    platform_before = thread_cpu(rig.platform.native_id)
    simulator_before = thread_cpu(rig.simulator.native_id)
    browsers_before = thread_cpu(browsers.native_id) if browsers else 0.0
    began = time.perf_counter()
    if stall:  # the platform's loop blocked at the window's end, as a loaded machine does
        time.sleep(max(seconds - stall / 2, 0))
        rig.platform.loop.call_soon_threadsafe(time.sleep, stall)
        time.sleep(stall / 2)
    else:
        time.sleep(seconds)
    elapsed = time.perf_counter() - began
    platform = (thread_cpu(rig.platform.native_id) - platform_before) / elapsed * 100
    simulator = (thread_cpu(rig.simulator.native_id) - simulator_before) / elapsed * 100
    readers = 0.0
    if browsers is not None:
        readers = (thread_cpu(browsers.native_id) - browsers_before) / elapsed * 100
    flight_after = in_flight(cameras, sessions)
    frames_window = sum(s.stats["frames"] for s in sessions.values()) - frames_before
    sent_window = sum(len(c.sent_timestamps) for c in cameras.values()) - sent_before
    queued = sum(q for q, _ in udp_sockets(set(ports)).values())
    load = os.getloadavg()

    # the end marker: every camera stops sending; the platform takes what is in flight
    rig.simulator.call(stop_sending(list(cameras.values())))
    last = {c: camera.sent_timestamps[-1] for c, camera in cameras.items()}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(s.last_pts != last[c] for c, s in sessions.items()):
        time.sleep(0.05)
    if browsers is None:
        rig.platform.call(asyncio.sleep(0.2))  # the viewers read their last frames
    drops = sum(d for _, d in udp_sockets(set(ports)).values())
    receive_buffers = {
        s._transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        for s in sessions.values()
        if s._transport is not None
    }
    stats = collections.Counter()
    for session in sessions.values():
        stats.update(session.stats)
    # the platform's one deliberate drop: a viewer max_backlog behind skips to a key frame
    viewer_drops = sum(v.dropped for session in sessions.values() for v in session.viewers)
    rig.stop_all()
    if browsers is not None:  # each response ends once its viewer has had every byte
        browsers.call(finished())
        browsers.loop.call_soon_threadsafe(browsers.loop.stop)
        mini.close()
    kernel_after = udp_counters()

    expected = received = lost = duplicates = unexpected = not_key_first = 0
    per_viewer_sent, per_viewer_got = [], []
    per_stream: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
    for channel, chunks in watched:
        shown = shown_frames(b"".join(chunks))
        sent = cameras[channel].sent_timestamps
        first = shown[0][0] & 0xFFFFFFFF
        not_key_first += not shown[0][1]
        span = sent[sent.index(first) :]  # from the viewer's first (key) frame to the marker
        got = [pts & 0xFFFFFFFF for pts, _ in shown]
        missing = set(span) - set(got)
        expected += len(span)
        received += len(got)
        lost += len(missing)
        duplicates += len(got) - len(set(got))
        unexpected += len(set(got) - set(span))
        per_viewer_sent.append(len(span))
        per_viewer_got.append(len(got))
        per_stream[channel].append((len(span) - len(missing), len(span)))
    return {
        "streams": count,
        "viewers": count * viewers,
        "http": http,
        "per_stream": dict(per_stream),
        "readers_cpu_pct": readers,
        "seconds": elapsed,
        "load": load,
        "platform_cpu_pct": platform,
        "simulator_cpu_pct": simulator,
        "expected": expected,
        "received": received,
        "lost": lost,
        "duplicates": duplicates,
        "unexpected": unexpected,
        "not_key_first": not_key_first,
        "viewer_sent": (min(per_viewer_sent), max(per_viewer_sent)),
        "viewer_got": (min(per_viewer_got), max(per_viewer_got)),
        "camera_sent": sum(len(c.sent_timestamps) for c in cameras.values()),
        "viewer_drops": viewer_drops,
        "rtp_lost": stats["lost"],
        "rtp_late": stats["late"],
        "frames_skipped": stats["frames_skipped"],
        "early_dropped": stats["early_dropped"],
        "socket_drops": drops,
        "rcvbuf_errors": kernel_after["RcvbufErrors"] - kernel_before["RcvbufErrors"],
        "receive_buffer": max(receive_buffers, default=0),
        "window_sent": sent_window,
        "window_out": frames_window,
        "in_flight_start": flight_before,
        "in_flight_end": flight_after,
        "queued_bytes_end": queued,
        "mbit_in_total": stats["bytes"] * 8 / 1e6,
    }


def print_scale(row: dict) -> None:
    def spread(pair: tuple[int, int]) -> str:
        return "–".join(map(str, sorted(set(pair))))

    load = " ".join(f"{v:.1f}" for v in row["load"])
    kind = "HTTP clients over loopback TCP" if row["http"] else "in-process queues"
    print(
        f"   {row['streams']} streams × {row['viewers'] // row['streams']} viewers ({kind}; "
        f"load average {load}): platform loop {row['platform_cpu_pct']:.1f} % of a core"
        + (" (with the HTTP writes)" if row["http"] else "")
        + f", simulator {row['simulator_cpu_pct']:.1f} %"
        + (f", the viewers' reading {row['readers_cpu_pct']:.1f} %" if row["http"] else "")
    )
    print(
        f"     per viewer, its first key frame to the end marker: camera sent "
        f"{spread(row['viewer_sent'])}, viewer got {spread(row['viewer_got'])} frames; "
        f"lost: {row['lost']} of {row['expected']:,} (duplicates {row['duplicates']}, "
        f"not sent {row['unexpected']}, first frame not a key {row['not_key_first']})"
    )
    print(
        f"     RTP lost {row['rtp_lost']}, late {row['rtp_late']}; frames skipped before a "
        f"key {row['frames_skipped']}, early dropped {row['early_dropped']}, dropped for "
        f"a viewer too far behind {row['viewer_drops']}; SO_RCVBUF "
        f"{row['receive_buffer']:,} B, socket drops {row['socket_drops']}, kernel UDP "
        f"RcvbufErrors +{row['rcvbuf_errors']} (whole namespace)"
    )
    for channel, counts in row["per_stream"].items():  # frames got / sent, each viewer
        print(f"     {channel}: " + ", ".join(f"{got}/{sent}" for got, sent in counts))
    print(
        f"     in the {row['seconds']:.0f}-s window: camera sent {row['window_sent']:,}, "
        f"platform demuxed {row['window_out']:,}; in flight (sent, not yet demuxed) at its "
        f"start {row['in_flight_start']} frames, at its end {row['in_flight_end']} "
        f"({row['queued_bytes_end']:,} B waiting in the RTP sockets)"
    )


# --- 4. ratio against plain FFmpeg ---------------------------------------------------------


def bench_ratio(clip: Path, directory: Path, repeats: int = 3) -> dict[str, float]:
    data = clip.read_bytes()
    starts = []
    position = data.find(video_camera.AUD)
    while position >= 0:
        starts.append(position)
        position = data.find(video_camera.AUD, position + 1)
    units = [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]
    units *= 6  # a minute of video: FFmpeg's start-up is not what is compared
    seconds = len(units) / video_camera.FPS
    packets, stream_ps, sequence = [], bytearray(), 0
    for index, unit in enumerate(units):
        pack = ps.mux_frame(unit, 90_000 + index * 3600, is_key=ps.is_key_frame(unit[:256], "h264"))
        stream_ps += pack
        chunk = rtp.packetize(pack, payload_type=96, sequence=sequence,
                              timestamp=90_000 + index * 3600, ssrc=1)  # fmt: skip
        sequence += len(chunk)
        packets += chunk
    ps_file = directory / "clip.ps"
    ps_file.write_bytes(bytes(stream_ps))

    def ours() -> float:
        began = time.process_time()
        demuxer, muxer, out = ps.Demuxer(), ts.Muxer(), 0
        for raw in packets:
            packet = rtp.parse(raw)
            frames = demuxer.feed(packet.payload)
            if packet.marker:
                frames += demuxer.flush()
            for frame in frames:
                out += len(muxer.frame(frame.data, frame.pts, frame.dts, is_key=frame.is_key))
        assert out > len(stream_ps) * 0.9
        return time.process_time() - began

    def ffmpeg() -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [shutil.which("ffmpeg"), "-hide_banner", "-loglevel", "error", "-y", "-f", "mpeg",
             "-i", str(ps_file), "-c", "copy", "-f", "mpegts", os.devnull],
            check=True,
        )  # fmt: skip
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    our_cpu = statistics.median(ours() for _ in range(repeats))
    ffmpeg_cpu = statistics.median(ffmpeg() for _ in range(repeats))
    return {
        "clip_seconds": seconds,
        "mbit_per_s": len(stream_ps) * 8 / seconds / 1e6,
        "ours_cpu_s": our_cpu,
        "ffmpeg_cpu_s": ffmpeg_cpu,
        "ours_streams_per_core": seconds / our_cpu,
        "ffmpeg_streams_per_core": seconds / ffmpeg_cpu,
        "ratio_cpu_ours_over_ffmpeg": our_cpu / ffmpeg_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--streams", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--parts", default="1,2,3,4", help="which parts to run (1,2,3,4)")
    parser.add_argument(
        "--stall-ms", type=float, default=0.0,
        help="scale: block the platform's loop this long across the window's end",
    )  # fmt: skip
    parser.add_argument(
        "--receive-buffer", type=int, default=0,
        help="scale: ask this SO_RCVBUF for the RTP sockets instead of the platform's 4 MB "
             "(212992: Linux's default net.core.rmem_max)",
    )  # fmt: skip
    parser.add_argument(
        "--in-process-viewers", action="store_true",
        help="scale: drain each viewer's queue on the platform's loop instead of over HTTP",
    )  # fmt: skip
    args = parser.parse_args()
    if args.receive_buffer:
        streams.RTP_RECEIVE_BUFFER = args.receive_buffer  # read as each socket opens
    counts = [int(n) for n in args.streams.split(",")]
    parts = {int(n) for n in args.parts.split(",")}
    directory = Path(tempfile.mkdtemp(prefix="bench-video-"))
    try:
        rig = Rig(max(max(counts), 4))
        if 1 in parts:
            print("== 1. set-up: INVITE to the first key frame on the platform (fresh streams)")
            setup = bench_setup(rig, args.trials)
            print(f"   p50 {percentile(setup, 50):.0f} ms, p95 {percentile(setup, 95):.0f} ms "
                  f"(n={len(setup)})")  # fmt: skip
        if 2 in parts and not args.skip_browser and CHROMIUM.exists():
            print("== 2. headless Chromium + mpegts.js")
            seen = bench_browser(rig, args.trials)
            for name, label in (("cold", "click to first picture, new stream"),
                                ("warm", "click to first picture, running stream")):  # fmt: skip
                values = seen[name]
                print(f"   {label}: p50 {percentile(values, 50):.0f} ms, "
                      f"p95 {percentile(values, 95):.0f} ms (n={len(values)})")  # fmt: skip
            g2g = seen["g2g"]
            print(f"   glass to glass (camera sends → frame shown): p50 "
                  f"{percentile(g2g, 50):.0f} ms, p95 {percentile(g2g, 95):.0f} ms "
                  f"(n={len(g2g)} frames)")  # fmt: skip
            drawn = seen["g2g_picture"]
            if drawn:
                print(f"   glass to glass (time drawn at capture, read from the shown picture, "
                      f"encoder included): p50 {percentile(drawn, 50):.0f} ms, "
                      f"p95 {percentile(drawn, 95):.0f} ms (n={len(drawn)} frames, "
                      f"{sum(seen['unread']):.0f} unreadable)")  # fmt: skip
        clip = make_clip(directory)
        if 3 in parts:
            print("== 3. scale: 1080p H.264 at 2 Mbit/s, 4 viewers per stream")
            video_camera.OPTIONS.source_file = str(clip)
            video_camera.CameraStream = CountedCameraStream  # what FleetVideo starts on INVITE
            for count in counts:
                row = bench_scale(
                    rig, count, args.seconds, stall=args.stall_ms / 1000,
                    http=not args.in_process_viewers,
                )  # fmt: skip
                print_scale(row)
        if 4 in parts:
            print(
                "== 4. ratio: this platform's RTP→PS→TS against `ffmpeg -f mpeg -c copy -f mpegts`"
            )
            ratio = bench_ratio(clip, directory)
            print("   " + ", ".join(f"{k} {v:.3f}" for k, v in ratio.items()))
        rig.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
