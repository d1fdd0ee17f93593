"""The simulated cameras' live video: they answer the platform's INVITE as a GB/T 28181
camera does (100, 200 with SDP: PS on 96, the offered y= SSRC) and send real H.264 in
a PS stream over RTP — a moving test pattern (FFmpeg ``testsrc2``) with the camera's ID
and the wall-clock time drawn in (as text, and as a machine-readable row of blocks a
test or the bench reads back from the browser's picture), a key frame every 2 s (GOP 50
at 25 fps), the encoder started on the INVITE so the first frame sent is a key frame.

The H.264 comes from the Debian ``ffmpeg`` binary (``-f h264``, an access-unit
delimiter before each frame); the PS and RTP around it are the video app's own builders,
as a camera's firmware would make them. Over UDP, or over TCP with RFC 4571 framing
(GB/T 28181-2016 adds both TCP modes, the INVITE's ``a=setup`` choosing): to a platform
that offered ``a=setup:passive`` the camera connects; to one that offered
``a=setup:active`` it answers ``a=setup:passive`` with a port of its own, listens there
for the platform's one connection (``LISTEN_SECONDS`` at most, and not after BYE) and
sends over it. A channel in
``OPTIONS.h265_channels`` sends H.265 instead (libx265, ``-f hevc``, an AUD — NAL type
35 — before each frame; the PSM names stream type 0x24), as many newer cameras'
main streams do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from campus_safety.gateway.gb28181 import manscdp, sip
from campus_safety.video import mansrtsp, ps, rtp, sdp

if TYPE_CHECKING:
    from campus_safety.simulator.sip_devices import SipFleet, SipSocket

log = logging.getLogger(__name__)

FPS = 25
GOP = 2 * FPS  # a key frame every 2 s
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
AUD = b"\x00\x00\x00\x01\x09"  # H.264 access-unit delimiter (NAL type 9)
AUD_H265 = b"\x00\x00\x00\x01\x46\x01"  # H.265's (NAL type 35, layer 0, temporal ID 0)
AUDS = {"h264": AUD, "h265": AUD_H265}
MAX_AU = 4 * 1024 * 1024
METHODS = ("INVITE", "ACK", "BYE", "INFO")
LISTEN_SECONDS = 10.0  # TCP active: a platform that has not connected by then never will


@dataclass
class VideoOptions:
    size: str = "640x360"
    bitrate: str = "800k"
    silent_channels: set[str] = field(default_factory=set)  # answer, never send media
    refused_channels: set[str] = field(default_factory=set)  # answer 486 Busy Here
    answer_delay: float = 0.0  # seconds before the 200 OK (a slow camera; tests)
    # start the stream after the first key frame (as a camera whose encoder already runs
    # does): no picture until the next GOP unless asked for a key frame (IFameCmd)
    mid_gop_channels: set[str] = field(default_factory=set)
    # Replay this raw H.264 file (AUD before each frame) in a loop instead of encoding
    # live: many streams at 1080p without an encoder per camera (bench/video.py).
    source_file: str = ""
    # channels whose encoder makes H.265 (libx265) instead of H.264, live and recorded
    h265_channels: set[str] = field(default_factory=set)
    # channel → the TCP port its answer names instead of its own listener's (a device
    # behind a firewall or NAT: the platform's connection goes nowhere; tests)
    answered_ports: dict[str, int] = field(default_factory=dict)


OPTIONS = VideoOptions()


def ffmpeg_command(
    channel_id: str,
    options: VideoOptions = OPTIONS,
    *,
    recorded_at: int = 0,
    seconds: float = 0,
    speed: float = 1.0,
    codec: str = "h264",
) -> list[str]:
    """FFmpeg drawing ``channel_id`` and the local time on a moving pattern, as raw H.264
    (or H.265, ``codec="h265"``); a playback (``recorded_at``, Unix seconds) draws the
    recording's time instead, ends after ``seconds`` (the file's end) and is read
    ``speed`` times faster than real time (a download, or a playback at 2x)."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise RuntimeError("ffmpeg is not installed (Debian package ffmpeg)")
    text = f"{channel_id} %{{localtime\\:%T}}"  # %T: no colon to escape in the filter
    if recorded_at:
        text = f"{channel_id} REC %{{pts\\:localtime\\:{int(recorded_at)}}}"
    draw = (
        f"drawtext=fontfile={FONT}:text='{text}':fontsize=h/14:fontcolor=white"
        ":box=1:boxcolor=black@0.6:boxborderw=8:x=16:y=16"
    )
    # the same time, machine-readable under the clock: live, the wall clock when the
    # frame leaves the source (RTCTIME, so a reader's lag includes the encoder); a
    # recording, its own time (the start plus the frame's PTS)
    if recorded_at:
        stamp = f"settb=1/1000,{time_code_filter(f'{int(recorded_at)}000+floor(t*1000+0.5)')}"
    else:
        stamp = f"settb=1/1000,setpts=RTCTIME/1000,{time_code_filter('floor(t*1000+0.5)')}"
    draw = f"{draw},{stamp},setpts=N/(25*TB)"  # the frames' own 25-fps PTS again
    length = ["-t", f"{seconds:.2f}"] if seconds > 0 else []
    return [
        binary, "-hide_banner", "-loglevel", "error", "-nostdin",
        "-readrate", f"{speed:g}", "-f", "lavfi", "-i", f"testsrc2=size={options.size}:rate={FPS}",
        *length, "-vf", draw, *encoder_arguments(codec, options), "pipe:1",
    ]  # fmt: skip


def encoder_arguments(codec: str, options: VideoOptions = OPTIONS) -> list[str]:
    """The encoder's options: a key frame every GOP and never between (no scene cuts),
    no B-frames (PTS = DTS, as a camera's low-latency profile), headers with every key
    frame and an access-unit delimiter before every frame (``access_units`` cuts there)."""
    if codec == "h265":
        # libx265 takes the GOP from its own parameters; ``-g`` alone leaves scene cuts on
        # (and open GOPs, whose CRA key frames some decoders do not start from)
        gop = f"keyint={GOP}:min-keyint={GOP}:scenecut=0:open-gop=0"
        params = f"aud=1:repeat-headers=1:{gop}:bframes=0"
        return [
            "-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency",
            "-profile:v", "main", "-pix_fmt", "yuv420p", "-b:v", options.bitrate,
            "-x265-params", f"{params}:log-level=error", "-f", "hevc",
        ]  # fmt: skip
    return [
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-profile:v", "baseline", "-pix_fmt", "yuv420p",
        "-g", str(GOP), "-keyint_min", str(GOP), "-sc_threshold", "0", "-bf", "0",
        "-b:v", options.bitrate, "-x264-params", "aud=1:repeat-headers=1", "-f", "h264",
    ]  # fmt: skip


# --- the time drawn machine-readably (a time code row under the visible clock) ----------
#
# Cells of width/64 by height/20 at (width/40 + i·width/64, height/5), white on a black
# bar: cell 0 white and cell 1 black (where the row is), then TIME_CODE_BITS cells of
# Unix time in milliseconds (most significant first, white = 1), an even-parity cell
# and a white end cell. Big enough to survive H.264 at 800 kbit/s and any scaling, read
# by sampling each cell's centre (``read_time_code``, and ``TIME_CODE_JS`` in a
# browser on the ``<video>``'s pixels).

TIME_CODE_BITS = 42  # milliseconds since 1970 until the year 2109
TIME_CODE_CELLS = TIME_CODE_BITS + 4


def time_code_filter(milliseconds: str) -> str:
    """FFmpeg drawbox filters drawing ``milliseconds`` (an expression of the frame's
    ``t``) as the time code row; each bit's box is switched on by its timeline."""
    value = f"({milliseconds})"
    cell = "w=iw/64:h=ih/20:color=white:t=fill"
    filters = [
        f"drawbox=x=iw/40-iw/128:y=ih/5-ih/80:w=iw*{TIME_CODE_CELLS + 1}/64:h=ih/20+ih/40"
        ":color=black:t=fill",
        f"drawbox=x=iw/40:y=ih/5:{cell}",
    ]
    for index in range(TIME_CODE_BITS):
        weight = 2 ** (TIME_CODE_BITS - 1 - index)
        filters.append(
            f"drawbox=x=iw/40+iw*{index + 2}/64:y=ih/5:{cell}"
            f":enable='mod(floor({value}/{weight}),2)'"
        )
    # the sum of floor(v / 2^i) has the parity of v's bits
    parity = "+".join(f"floor({value}/{2**i})" for i in range(TIME_CODE_BITS))
    filters.append(
        f"drawbox=x=iw/40+iw*{TIME_CODE_BITS + 2}/64:y=ih/5:{cell}:enable='mod({parity},2)'"
    )
    filters.append(f"drawbox=x=iw/40+iw*{TIME_CODE_BITS + 3}/64:y=ih/5:{cell}")
    return ",".join(filters)


def read_time_code(gray: bytes, width: int, height: int) -> int | None:
    """The milliseconds of the time code in an 8-bit grey picture, None when the row is
    not there or does not check (marker cells, parity)."""
    row = int(height / 5 + height / 40)

    def cell(index: int) -> bool:
        column = int(width / 40 + width * index / 64 + width / 128)
        return gray[row * width + column] > 128

    cells = [cell(i) for i in range(TIME_CODE_CELLS)]
    data = cells[2 : 2 + TIME_CODE_BITS]
    if not (cells[0] and not cells[1] and cells[-1]) or sum(data) % 2 != cells[-2]:
        return None
    return int("".join("1" if bit else "0" for bit in data), 2)


# ``readTimeCode(video)``: the same reading on a ``<video>``'s picture in a browser (a
# canvas at the video's own size), for the browser tests and bench/video.py
TIME_CODE_JS = """
window.readTimeCode = function (video) {
  const width = video.videoWidth, height = video.videoHeight;
  if (!width || !height) { return null; }
  const canvas = window._timeCodeCanvas ||
    (window._timeCodeCanvas = document.createElement("canvas"));
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, 0, 0, width, height);
  const row = Math.floor(height / 5 + height / 40);
  const pixels = context.getImageData(0, row, width, 1).data;
  const cells = [];
  for (let i = 0; i < CELLS; i++) {
    const x = Math.floor(width / 40 + width * i / 64 + width / 128);
    const luma = 0.299 * pixels[4 * x] + 0.587 * pixels[4 * x + 1] + 0.114 * pixels[4 * x + 2];
    cells.push(luma > 128);
  }
  const data = cells.slice(2, 2 + BITS);
  const ones = data.filter(Boolean).length;
  if (!cells[0] || cells[1] || !cells[CELLS - 1] || (ones % 2 === 1) !== cells[CELLS - 2]) {
    return null;
  }
  let value = 0;
  for (const bit of data) { value = value * 2 + (bit ? 1 : 0); }
  return value;
};
""".replace("CELLS", str(TIME_CODE_CELLS)).replace("BITS", str(TIME_CODE_BITS))


async def access_units(stream: asyncio.StreamReader, aud: bytes = AUD) -> AsyncIterator[bytes]:
    """Access units out of an Annex B stream that starts each with ``aud`` (H.264's AUD,
    or H.265's ``AUD_H265``)."""
    buffer = bytearray()
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            if buffer:
                yield bytes(buffer)
            return
        buffer += chunk
        while True:
            end = buffer.find(aud, 1)
            if end < 0:
                if len(buffer) > MAX_AU:
                    buffer.clear()
                break
            yield bytes(buffer[:end])
            del buffer[:end]


_replays: dict[str, list[bytes]] = {}


async def replayed(path: str) -> AsyncIterator[bytes]:
    """A recorded stream's access units, again and again, at FPS in real time."""
    if path not in _replays:
        with open(path, "rb") as source:
            data = source.read()
        starts = []
        position = data.find(AUD)
        while position >= 0:
            starts.append(position)
            position = data.find(AUD, position + 1)
        _replays[path] = [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]
    units = _replays[path]
    loop = asyncio.get_running_loop()
    began = loop.time()
    for index, unit in enumerate(itertools.cycle(units)):
        delay = began + index / FPS - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield unit


class _TcpSender(asyncio.Protocol):
    """The camera's end of a TCP media connection, whichever side opened it."""

    def __init__(self, connected: asyncio.Future | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.connected = connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.connected is not None and not self.connected.done():
            self.connected.set_result(self)
        elif self.connected is not None:  # one media connection per dialog
            transport.close()


class CameraStream:
    """One INVITE's media: FFmpeg → access units → PS → RTP → the platform. A recording
    (s=Playback or s=Download) ends at the span's end (``on_end``: MediaStatus 121) and
    obeys MANSRTSP: pause, resume, seek and speed restart the encoder from there."""

    def __init__(self, channel_id: str, offer: sdp.SessionDescription) -> None:
        self.channel_id = channel_id
        self.offer = offer
        self.ssrc = int(offer.ssrc or "0")
        history = offer.session_name in ("Playback", "Download")
        self.recorded_at = offer.start_time if history else 0
        self.recorded_until = offer.stop_time if history else 0
        speed = offer.video.attribute("downloadspeed") if offer.video else None
        self.speed = float(speed) if speed and speed.isdigit() else 1.0
        self.position = 0.0  # seconds of the recording sent
        self.controls: list[mansrtsp.Control] = []
        self.ended = False  # the recording reached its end (MediaStatus sent)
        self.on_end: Any = None
        self._playing = asyncio.Event()
        self._playing.set()
        self._restart = False
        self.restarts = 0  # encoder restarts (seek, speed, a key frame asked for)
        self.skip_first_key = channel_id in OPTIONS.mid_gop_channels
        self.codec = "h265" if channel_id in OPTIONS.h265_channels else "h264"
        self.process: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task | None = None
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp: _TcpSender | None = None
        self.listener: asyncio.AbstractServer | None = None  # TCP active: ours
        self._connected: asyncio.Future | None = None
        self.local_port = 0
        self.answer = b""  # the SDP of our 200 OK
        self.frames = 0
        self.first_sent_at: float | None = None  # wall time of the first frame sent

    async def prepare(self, local_host: str) -> None:
        loop = asyncio.get_running_loop()
        media = self.offer.video
        assert media is not None
        if media.is_tcp and media.setup == "active":
            await self._listen(local_host)
            return
        if media.is_tcp:
            return
        self.udp, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol,
            local_addr=(local_host, 0),
            remote_addr=(self.offer.connection_address, media.port),
        )
        self.local_port = self.udp.get_extra_info("sockname")[1]

    async def _listen(self, local_host: str) -> None:
        """The platform will connect (it offered ``a=setup:active``): a port of our own
        for its one connection, closed once it came or after LISTEN_SECONDS."""
        loop = asyncio.get_running_loop()
        connected: asyncio.Future = loop.create_future()
        self._connected = connected
        self.listener = await loop.create_server(lambda: _TcpSender(connected), local_host, 0)
        self.local_port = self.listener.sockets[0].getsockname()[1]
        connected.add_done_callback(lambda _: self._close_listener())
        loop.call_later(LISTEN_SECONDS, self._give_up_listening)

    def _give_up_listening(self) -> None:
        if self._connected is not None and not self._connected.done():
            log.info("video: no TCP media connection for %s", self.channel_id)
            self._connected.cancel()  # closes the listener; _run ends

    def _close_listener(self) -> None:
        if self.listener is not None:
            self.listener.close()

    def start(self, silent: bool) -> None:
        self.task = asyncio.ensure_future(self._run(silent))

    async def _run(self, silent: bool) -> None:
        loop = asyncio.get_running_loop()
        media = self.offer.video
        assert media is not None
        if self._connected is not None:
            try:
                self.tcp = await self._connected
            except asyncio.CancelledError:
                return  # nobody connected: nothing to send to
        elif media.is_tcp:
            _, self.tcp = await loop.create_connection(
                _TcpSender, self.offer.connection_address, media.port
            )
        if silent:
            await asyncio.Event().wait()
        sequence = secrets.randbelow(0x10000)
        pts = 90_000
        while True:
            await self._playing.wait()
            self._restart = False
            offset = self.position
            left = self.recorded_until - self.recorded_at - offset if self.recorded_at else 0
            if self.recorded_at and left <= 0:
                break
            if OPTIONS.source_file and not self.recorded_at and self.codec == "h264":
                units = replayed(OPTIONS.source_file)  # the file is H.264
            else:
                self.process = await asyncio.create_subprocess_exec(
                    *ffmpeg_command(
                        self.channel_id,
                        recorded_at=int(self.recorded_at + offset) if self.recorded_at else 0,
                        seconds=left,
                        speed=self.speed,
                        codec=self.codec,
                    ),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                units = access_units(self.process.stdout, AUDS[self.codec])
            sent = 0
            async for unit in units:
                if self._restart:
                    break
                if self.skip_first_key and ps.is_key_frame(unit[:256], self.codec):
                    self.skip_first_key = False  # the stream begins after it
                    continue
                sequence, pts = self._send_unit(unit, sequence, pts)
                sent += 1
                self.position = offset + sent / FPS
            self._kill()
            if not self._restart:
                break  # the file's end (or the live encoder died)
            self.restarts += 1
        if self.recorded_at:
            self.ended = True
            if self.on_end is not None:
                self.on_end()

    def control(self, command: mansrtsp.Control) -> None:
        """A MANSRTSP command from the platform's INFO."""
        self.controls.append(command)
        if command.action == "pause":
            self._playing.clear()
            self._restart = True
        elif command.action == "resume":
            self._playing.set()
        elif command.action == "seek" and command.position is not None:
            self.position = command.position
            self._restart = True
            self._playing.set()
        elif command.action == "speed" and command.scale is not None:
            self.speed = command.scale
            self._restart = True

    def force_key_frame(self) -> None:
        """IFameCmd: the encoder starts afresh, so its next frame is a key frame."""
        self._restart = True

    def _kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    def _send_unit(self, unit: bytes, sequence: int, pts: int) -> tuple[int, int]:
        is_key = ps.is_key_frame(unit[:256], self.codec)
        packets = rtp.packetize(
            ps.mux_frame(unit, pts, is_key=is_key, codec=self.codec),
            payload_type=96,
            sequence=sequence,
            timestamp=pts,
            ssrc=self.ssrc,
        )
        sequence = (sequence + len(packets)) & 0xFFFF
        pts += 90_000 // FPS
        self.send(packets)
        if self.first_sent_at is None:
            self.first_sent_at = time.time()
        self.frames += 1
        return sequence, pts

    def send(self, packets: list[bytes]) -> None:
        if self.udp is not None:
            for packet in packets:
                self.udp.sendto(packet)
        elif self.tcp is not None and self.tcp.transport is not None:
            self.tcp.transport.write(b"".join(rtp.frame_tcp(p) for p in packets))

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self._kill()
        if self.udp is not None:
            self.udp.close()
        if self._connected is not None and not self._connected.done():
            self._connected.cancel()
        self._close_listener()
        if self.tcp is not None and self.tcp.transport is not None:
            self.tcp.transport.close()


class FleetVideo:
    """The media dialogs of one simulated fleet, keyed by Call-ID."""

    def __init__(self, fleet: SipFleet) -> None:
        self.fleet = fleet
        self.calls: dict[str, tuple[bytes, CameraStream | None]] = {}
        self._channels: dict[str, str] | None = None
        self._tasks: set[asyncio.Task] = set()

    def owner(self, channel_id: str) -> str | None:
        if self._channels is None:
            self._channels = {}
            for device in self.fleet.devices:
                self._channels[device.device_id] = device.device_id
                for channel in device.channels:
                    self._channels[channel.device_id] = device.device_id
        return self._channels.get(channel_id)

    def on_request(self, endpoint: SipSocket, request: sip.SipRequest) -> None:
        method = request.method
        call_id = request.call_id
        send = endpoint.transport.sendto  # type: ignore[union-attr]
        server = self.fleet.server
        if method == "ACK":
            return
        if method == "INFO":
            self._info(request, send)
            return
        if method == "BYE":
            known = call_id in self.calls
            send(sip.build_response(request, 200 if known else 481), server)
            if known:
                _, stream = self.calls.pop(call_id)
                if stream is not None:
                    stream.stop()
            return
        if method != "INVITE":
            send(sip.build_response(request, 405), server)
            return
        if call_id in self.calls:  # a resent INVITE: the same answer again
            send(self.calls[call_id][0], server)
            return
        channel_id = request.to.uri.user
        if self.owner(channel_id) is None:
            send(sip.build_response(request, 404, to_tag=secrets.token_hex(4)), server)
            return
        if channel_id in OPTIONS.refused_channels:
            answer = sip.build_response(request, 486, to_tag=secrets.token_hex(4))
            self.calls[call_id] = (answer, None)
            send(answer, server)
            return
        try:
            offer = sdp.parse(request.body)
            if offer.video is None or not offer.ssrc:
                raise sdp.SdpError("no video or no y=")
        except sdp.SdpError:
            send(sip.build_response(request, 488, to_tag=secrets.token_hex(4)), server)
            return
        send(sip.build_response(request, 100), server)
        self.calls[call_id] = (b"", None)
        task = asyncio.ensure_future(self._answer(endpoint, request, channel_id, offer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _info(self, request: sip.SipRequest, send: Any) -> None:
        """MANSRTSP inside a playback's dialog: 200 and done, 400 if unreadable."""
        call = self.calls.get(request.call_id)
        if call is None or call[1] is None:
            send(sip.build_response(request, 481), self.fleet.server)
            return
        try:
            command = mansrtsp.parse(request.body)
        except mansrtsp.MansrtspError:
            send(sip.build_response(request, 400), self.fleet.server)
            return
        send(sip.build_response(request, 200), self.fleet.server)
        call[1].control(command)

    async def _media_status(self, endpoint: SipSocket, call_id: str, channel_id: str) -> None:
        """NotifyType 121 (end of file) inside the recording's dialog, from the device
        that carries the channel (GB/T 28181 A.2.5)."""
        device_id = self.owner(channel_id) or channel_id
        body = manscdp.build(
            "Notify", "MediaStatus", secrets.randbelow(100_000) + 1, channel_id,
            [("NotifyType", "121")],
        )  # fmt: skip
        data = self.fleet._request(endpoint, "MESSAGE", device_id, call_id, 30, body=body)
        await endpoint.request(f"{call_id}|status", data)

    async def _answer(
        self, endpoint: SipSocket, request: sip.SipRequest, channel_id: str, offer: Any
    ) -> None:
        host = endpoint.local[0]
        stream = CameraStream(channel_id, offer)
        call_id = request.call_id

        def ended() -> None:
            if call_id in self.calls and self.calls[call_id][1] is stream:
                self.fleet._spawn(self._media_status(endpoint, call_id, channel_id))

        stream.on_end = ended
        try:
            await stream.prepare(host)
        except OSError:
            self.calls.pop(request.call_id, None)
            endpoint.transport.sendto(  # type: ignore[union-attr]
                sip.build_response(request, 500), self.fleet.server
            )
            return
        tcp_setup = ""
        if offer.video.is_tcp:  # the other end of the platform's choice (RFC 4145)
            tcp_setup = "passive" if offer.video.setup == "active" else "active"
        body = sdp.answer(
            channel_id=channel_id,
            address=host,
            port=OPTIONS.answered_ports.get(channel_id) or stream.local_port or 9,
            ssrc=offer.ssrc,
            session_name=offer.session_name or "Play",
            tcp_setup=tcp_setup,
        )
        stream.answer = body
        answer = sip.build_response(
            request,
            200,
            to_tag=secrets.token_hex(4),
            headers=[("Contact", f"<sip:{channel_id}@{host}:{endpoint.local[1]}>")],
            body=body,
            content_type="application/sdp",
        )
        if OPTIONS.answer_delay:
            await asyncio.sleep(OPTIONS.answer_delay)
        self.calls[request.call_id] = (answer, stream)
        endpoint.transport.sendto(answer, self.fleet.server)  # type: ignore[union-attr]
        stream.start(silent=channel_id in OPTIONS.silent_channels)

    def close(self) -> None:
        for _, stream in self.calls.values():
            if stream is not None:
                stream.stop()
        self.calls.clear()


_fleets: dict[int, FleetVideo] = {}


def handle(endpoint: SipSocket, request: sip.SipRequest) -> None:
    """A media request (INVITE, ACK, BYE, INFO) from the platform to a simulated device."""
    video = _fleets.get(id(endpoint.fleet))
    if video is None:
        video = _fleets[id(endpoint.fleet)] = FleetVideo(endpoint.fleet)
    video.on_request(endpoint, request)


def close(fleet: SipFleet) -> None:
    _controls.pop(id(fleet), None)
    video = _fleets.pop(id(fleet), None)
    if video is not None:
        video.close()


async def aclose(fleet: SipFleet) -> None:
    """``close`` and wait for the encoders to exit (their pipes close on this loop)."""
    video = _fleets.get(id(fleet))
    processes = [s.process for _, s in video.calls.values() if s and s.process] if video else []
    close(fleet)
    for process in processes:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.wait(), 2)


def streams(fleet: SipFleet) -> list[CameraStream]:
    video = _fleets.get(id(fleet))
    return [s for _, s in video.calls.values() if s is not None] if video else []


_controls: dict[int, list[tuple[str, str]]] = {}


def record_control(fleet: SipFleet, body: Any) -> None:
    """A DeviceControl to a channel (PTZCmd: moves, presets; IFameCmd: a key frame now),
    kept for tests."""
    commands = _controls.setdefault(id(fleet), [])
    key_frame = "IFameCmd" in body.fields
    commands.append((body.device_id, "IFameCmd" if key_frame else body.fields.get("PTZCmd", "")))
    del commands[:-100]
    if key_frame:
        for stream in streams(fleet):
            if stream.channel_id == body.device_id:
                stream.force_key_frame()


def controls(fleet: SipFleet) -> list[tuple[str, str]]:
    """(channel ID, PTZCmd) of the DeviceControls the fleet's channels received."""
    return list(_controls.get(id(fleet), []))


# --- recordings (RecordInfo) ---------------------------------------------------------------

RECORD_FILE_MINUTES = 30
RECORD_GAP = (dt.time(3, 0), dt.time(3, 30))  # the nightly maintenance window: no recording
RECORD_PART = 8  # items per Response message


def day_of_recordings(channel_id: str, start: dt.datetime, end: dt.datetime) -> list:
    """A plausible day: 30-minute files since midnight up to now, none at 03:00–03:30."""
    from campus_safety.gateway.gb28181 import records

    now = dt.datetime.now()
    out = []
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    step = dt.timedelta(minutes=RECORD_FILE_MINUTES)
    moment = day
    while moment < min(end, now):
        until = min(moment + step, now)
        if not RECORD_GAP[0] <= moment.time() < RECORD_GAP[1] and until > start:
            out.append(records.Recording(max(moment, start), min(until, end), channel_id))
        moment += step
        if moment.date() != day.date() and moment > end:
            break
    return out


def answer_records(fleet: SipFleet, endpoint: SipSocket, query: Any) -> None:
    """The platform asked a channel's recordings: answered in parts of RECORD_PART."""
    from campus_safety.gateway.gb28181 import manscdp, records

    start = manscdp.parse_time(query.fields.get("StartTime", ""))
    end = manscdp.parse_time(query.fields.get("EndTime", ""))
    if start is None or end is None:
        return
    items = day_of_recordings(query.device_id, start, end)
    parts = [items[i : i + RECORD_PART] for i in range(0, len(items), RECORD_PART)] or [[]]
    owner = FleetVideo(fleet).owner(query.device_id)
    device = next((d for d in fleet.devices if d.device_id == owner), None)
    if device is None:
        return
    for part in parts:
        body = records.build_response(query.sn, query.device_id, query.device_id, len(items), part)
        fleet._spawn(fleet._answer(endpoint, device, body))
