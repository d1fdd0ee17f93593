"""Live streams: one per camera channel, shared by every viewer (issue #16 item 1).

A stream is an INVITE to the camera (through ``media_control``, which the gateway
connects), RTP received on a socket of its own (UDP, or TCP with RFC 4571 framing),
the PS demuxed into frames (ps.py) and each frame re-wrapped as MPEG-TS (ts.py) —
never decoded — for mpegts.js in the browser. The frames since the last key frame are
kept, so a viewer joining a running stream starts at once from that key frame instead
of waiting up to a GOP (2 s) for the next one.

A stream stops ``VIDEO_IDLE_STOP_SECONDS`` after its last viewer left (``sweep`` on
``clock.now()``, so tests move time), when the device ends the dialog, or when no
media came within ``VIDEO_NO_MEDIA_SECONDS`` of the 200 OK (设备未推流, dialog closed).
Everything here runs on the gateway's event loop; ``acall`` brings work there from a
request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import itertools
import logging
import socket
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.video import mansrtsp, media_control, ps, ptz, rtp, sdp, ts

log = logging.getLogger(__name__)

MAX_GOP_BYTES = 16 * 1024 * 1024  # a longer GOP is not kept (new viewers wait for a key)
MAX_VIEWER_BACKLOG = 8 * 1024 * 1024  # a viewer this far behind skips to the next key frame
STALL_SECONDS = 10.0  # a live stream without a packet this long is ended
MAX_MISORDER = 100  # RFC 3550 A.1: a packet further behind is a restarted sequence
MAX_EARLY_PACKETS = 1024  # RTP held until the 200 OK says where the device sends from


class StreamError(Exception):
    """A stream cannot be given; the message is for the viewer (translated)."""

    code = "unavailable"


class NoMedia(StreamError):
    code = "no_media"


class LimitReached(StreamError):
    code = "limit"


class NotRunning(StreamError):
    """A command for a playback that ended (or never ran)."""

    code = "gone"


class Refused(StreamError):
    """The device did not take a command."""

    code = "refused"


@dataclass(frozen=True)
class Target:
    """What to INVITE: the camera channel and the registered device that carries it."""

    channel_id: str
    device_id: str
    # 录像回放: the span (Unix seconds) the device plays back; 0 = live
    playback_start: int = 0
    playback_end: int = 0
    # 录像下载 (s=Download): the device sends this many times faster; ``tag`` keeps
    # each download — and each viewer's playback — its own dialog
    download_speed: int = 0
    tag: str = ""

    @property
    def key(self) -> str:
        """Live streams are shared per channel; a playback with a ``tag`` is one
        viewer's (its pause, seek and speed are nobody else's), a download its own."""
        if not self.playback_start:
            return self.channel_id
        span = f"{self.channel_id}@{self.playback_start}-{self.playback_end}"
        if self.download_speed:
            return f"{span}/download/{self.tag}"
        return f"{span}/{self.tag}" if self.tag else span

    @property
    def personal(self) -> bool:
        """One viewer's playback: nobody else joins it, so it ends when they leave."""
        return bool(self.playback_start and self.tag and not self.download_speed)

    @property
    def session_name(self) -> str:
        if self.download_speed:
            return "Download"
        return "Playback" if self.playback_start else "Play"


def offer_for(target: Target, *, address: str, port: int, ssrc: str, tcp_setup: str = "") -> bytes:
    """The INVITE's SDP for ``target``: live (s=Play), a recording (s=Playback with the
    channel in u= and the span in t=) or its download (s=Download, a=downloadspeed)."""
    history = bool(target.playback_start)
    return sdp.offer(
        platform_id=settings.GB28181_PLATFORM_ID,
        address=address,
        port=port,
        ssrc=ssrc,
        tcp_setup=tcp_setup,
        session_name=target.session_name,
        uri=f"{target.channel_id}:0" if history else "",
        start_time=target.playback_start,
        stop_time=target.playback_end,
        download_speed=target.download_speed,
    )


class Viewer:
    """One browser's queue of TS bytes: filled on the stream's loop, read by a request
    (a thread under WSGI, a coroutine under ASGI).

    The only place the platform drops frames on purpose: a viewer that reads so slowly
    that ``max_backlog`` bytes wait for it loses what waits and every frame up to the
    next key frame (it plays on from there instead of falling ever further behind live).
    ``dropped`` counts those frames (the cached GOP a joining viewer gets is one)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop | None = None, max_backlog: int = MAX_VIEWER_BACKLOG
    ) -> None:
        self.max_backlog = max_backlog  # a download's viewer keeps everything
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._condition = threading.Condition()
        self._loop = loop
        self._event = asyncio.Event() if loop is not None else None
        self.lagging = False
        self.closed_reason: str | None = None
        self.sent = 0
        self.dropped = 0  # frames dropped because this viewer fell max_backlog behind

    def _wake(self) -> None:
        if self._event is not None and self._loop is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is self._loop:
                self._event.set()
            else:
                self._loop.call_soon_threadsafe(self._event.set)

    def push(self, data: bytes, *, is_key: bool) -> None:
        with self._condition:
            if self.lagging and not is_key:
                self.dropped += 1
                return
            if self._size + len(data) > self.max_backlog:
                if not self.lagging:
                    log.info(
                        "video: a viewer fell %d bytes behind; it skips to the next key frame",
                        self._size,
                    )
                self.dropped += len(self._chunks) + 1
                self._chunks.clear()
                self._size = 0
                self.lagging = True
                return
            self.lagging = False
            self._chunks.append(data)
            self._size += len(data)
            self._condition.notify()
        self._wake()

    def close(self, reason: str) -> None:
        with self._condition:
            self.closed_reason = reason
            self._condition.notify()
        self._wake()

    def _take(self) -> bytes | None:
        if self._chunks:
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._size = 0
            self.sent += len(data)
            return data
        return None

    def get(self, timeout: float) -> bytes | None:
        """The bytes waiting (blocking up to ``timeout``); b"" when none came; None once
        the stream ended."""
        with self._condition:
            if not self._chunks and self.closed_reason is None:
                self._condition.wait(timeout)
            data = self._take()
            if data is not None:
                return data
            return None if self.closed_reason is not None else b""

    async def aget(self, timeout: float) -> bytes | None:
        assert self._event is not None
        while True:
            with self._condition:
                data = self._take()
                if data is not None:
                    return data
                if self.closed_reason is not None:
                    return None
                self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return b""


RTP_RECEIVE_BUFFER = 4 * 1024 * 1024  # a 1080p key frame is ~100 packets in one burst
_small_buffer_told = False


def warn_if_receive_buffer_small(granted: int) -> bool:
    """Say once per process when the kernel granted less than asked (Linux reports
    twice what it keeps for data): at the default net.core.rmem_max a stream holds
    about 1 s of packets, and a loop that lags longer loses frames (docs/video.md)."""
    global _small_buffer_told
    if granted >= RTP_RECEIVE_BUFFER or _small_buffer_told:
        return False
    _small_buffer_told = True
    log.warning(
        "RTP receive buffer is %d bytes, asked for %d: raise net.core.rmem_max to %d "
        "on media hosts, or a busy moment drops frames",
        granted,
        RTP_RECEIVE_BUFFER,
        RTP_RECEIVE_BUFFER,
    )
    return True


class _UdpReceiver(asyncio.DatagramProtocol):
    def __init__(self, session: Session) -> None:
        self.session = session

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # the kernel caps it at net.core.rmem_max
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RTP_RECEIVE_BUFFER)
                warn_if_receive_buffer_small(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.session.on_rtp(data, addr[0])


class _TcpReceiver(asyncio.Protocol):
    """RTP over TCP (RFC 4571): one connection from the device (passive) or to it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.deframer = rtp.TcpDeframer()
        self.host = ""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("",)
        self.host = peer[0]
        if not self.session.accept_connection(self):
            transport.close()

    def data_received(self, data: bytes) -> None:
        for packet in self.deframer.feed(data):
            self.session.on_rtp(packet, self.host)
        if self.deframer.pending > rtp.MAX_PACKET + 2:
            self.transport.close()  # pragma: no cover - a length field bounds it

    def connection_lost(self, exc: Exception | None) -> None:
        """The device closed the media connection (or it broke): the stream ends now and
        its viewers are told, instead of waiting for the stall check."""
        self.session.on_connection_lost(self)


class Session:
    """One camera channel's live stream and its viewers."""

    def __init__(self, hub: Hub, target: Target, ssrc: str) -> None:
        self.hub = hub
        self.target = target
        self.ssrc = ssrc
        self.expected_ssrc = int(ssrc)
        self.state = "starting"
        self.dialog_id = ""
        self.viewers: set[Viewer] = set()
        self.had_viewer = False
        self.idle_since: dt.datetime | None = clock.now()
        self.started_at = clock.now()
        self.demuxer = ps.Demuxer()
        self.muxer: ts.Muxer | None = None
        self.gop: list[bytes] = []
        self.gop_bytes = 0
        self.first_key = asyncio.get_running_loop().create_future()
        self.hosts: set[str] = set()
        self.answered = False  # the 200 OK came: ``hosts`` are the negotiated peer
        self._early: list[tuple[bytes, str]] = []
        self.last_sequence: int | None = None
        self.need_key = True
        self.last_packet = 0.0
        self.stats: collections.Counter[str] = collections.Counter()
        self._transport: asyncio.BaseTransport | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tcp: _TcpReceiver | None = None
        self.first_key_at: float | None = None
        self.invited_at = 0.0
        self.answered_at = 0.0
        self.codec = ""
        self.ended_reason = ""
        self.paused = False  # a playback paused by MANSRTSP: no media is expected
        self.scale = 1.0
        self.cseq = 0
        self.first_pts: int | None = None  # the media received, for a download's length
        self.last_pts: int | None = None

    # --- setting up -------------------------------------------------------------------

    async def start(self, control: media_control.MediaControl) -> None:
        loop = asyncio.get_running_loop()
        bind, host = settings.VIDEO_MEDIA_BIND, settings.VIDEO_MEDIA_HOST
        transport_kind = settings.VIDEO_RTP_TRANSPORT
        tcp_setup = ""
        if transport_kind == "tcp_passive":
            self._server = await loop.create_server(lambda: _TcpReceiver(self), bind, 0)
            port = self._server.sockets[0].getsockname()[1]
            tcp_setup = "passive"
        else:
            self._transport, _protocol = await loop.create_datagram_endpoint(
                lambda: _UdpReceiver(self), local_addr=(bind, 0)
            )
            port = self._transport.get_extra_info("sockname")[1]
            tcp_setup = "active" if transport_kind == "tcp_active" else ""
            if tcp_setup:  # the device listens; we connect once it answered
                self._transport.close()
                self._transport = None
        offer = offer_for(self.target, address=host, port=port, ssrc=self.ssrc, tcp_setup=tcp_setup)
        self.invited_at = loop.time()
        try:
            answer = await control.invite(
                self.target.device_id,
                self.target.channel_id,
                offer,
                subject=f"{self.target.channel_id}:{self.ssrc},{settings.GB28181_PLATFORM_ID}:0",
                timeout=settings.VIDEO_NO_MEDIA_SECONDS + 4,
            )
        except media_control.MediaError as exc:
            log.info("video: INVITE to %s failed: %s", self.target.channel_id, exc)
            raise StreamError(
                _("The camera refused the stream (%(reason)s).")
                % {"reason": exc.status or _("no answer")}
            ) from None
        self.answered_at = loop.time()
        self.dialog_id = answer.dialog_id
        try:
            described = sdp.parse(answer.sdp)
        except sdp.SdpError as exc:
            await self.stop(f"bad SDP answer: {exc}")
            raise StreamError(_("The camera's answer could not be read.")) from None
        if described.ssrc:
            self.expected_ssrc = int(described.ssrc)
        self._take_peer({described.connection_address, answer.remote_host} - {""})
        if tcp_setup == "active" and described.video is not None:
            # bounded like the wait for media: a port behind a firewall that drops the
            # SYN would otherwise hold the viewer for the kernel's two minutes of retries
            try:
                await asyncio.wait_for(
                    loop.create_connection(
                        lambda: _TcpReceiver(self),
                        described.connection_address,
                        described.video.port,
                    ),
                    settings.VIDEO_NO_MEDIA_SECONDS,
                )
            except (OSError, TimeoutError):
                await self.stop("could not connect to the device's TCP media port")
                raise NoMedia(_("The camera's media port could not be reached.")) from None
        wait = settings.VIDEO_NO_MEDIA_SECONDS
        ask_after = min(settings.VIDEO_KEY_FRAME_ASK_SECONDS, wait)
        try:
            await asyncio.wait_for(asyncio.shield(self.first_key), ask_after)
        except TimeoutError:
            if self.stats["packets"]:  # media comes, but from the middle of a GOP
                self._ask_key_frame(control)
            try:
                await asyncio.wait_for(asyncio.shield(self.first_key), wait - ask_after)
            except TimeoutError:
                await self.stop("no media")
                raise NoMedia(_("The device sends no video.")) from None
        self.state = "live"

    def _ask_key_frame(self, control: media_control.MediaControl) -> None:
        """强制关键帧: a device that started its stream mid-GOP would make the first
        viewer wait up to a GOP (2 s and more) for a picture; asked once per stream."""
        self.stats["key_frame_asked"] += 1
        body = ptz.key_frame_request(self.target.channel_id, next(self.hub.sn))
        task = asyncio.get_running_loop().create_task(control.control(self.target.device_id, body))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    def _take_peer(self, hosts: set[str]) -> None:
        """The answer named the peer: RTP that came before it is kept only if it came
        from there, and a TCP media connection from elsewhere is closed."""
        self.hosts = hosts
        self.answered = True
        early, self._early = self._early, []
        for data, host in early:
            self.on_rtp(data, host)
        tcp = self._tcp
        if tcp is not None and hosts and tcp.host not in hosts:
            self.stats["foreign_connection"] += 1
            self._tcp = None
            if tcp.transport is not None:
                tcp.transport.close()

    def accept_connection(self, receiver: _TcpReceiver) -> bool:
        """One media connection per stream, from the device's address once known."""
        if self._tcp is not None or (self.hosts and receiver.host not in self.hosts):
            self.stats["foreign_connection"] += 1
            return False
        self._tcp = receiver
        return True

    def on_connection_lost(self, receiver: _TcpReceiver) -> None:
        if receiver is not self._tcp or self.state in ("closed", "failed"):
            return
        self.stats["connection_lost"] += 1
        reason = "end of file" if self.target.playback_start and self.frames_cover_span() else ""
        asyncio.get_running_loop().create_task(self.stop(reason or "connection lost"))

    def media_seconds(self) -> float:
        """Seconds of media received (PTS span), what a download holds."""
        if self.first_pts is None or self.last_pts is None:
            return 0.0
        return ((self.last_pts - self.first_pts) % (1 << 33)) / 90_000

    def frames_cover_span(self) -> bool:
        span = self.target.playback_end - self.target.playback_start
        return span > 0 and self.media_seconds() >= span - 2

    # --- media ------------------------------------------------------------------------

    def on_rtp(self, data: bytes, host: str) -> None:
        if self.state in ("closed", "failed"):
            return
        if not self.answered:
            if len(self._early) < MAX_EARLY_PACKETS:
                self._early.append((data, host))
            else:
                self.stats["early_dropped"] += 1
            return
        if self.hosts and host not in self.hosts:
            self.stats["foreign_address"] += 1
            return
        try:
            packet = rtp.parse(data)
        except rtp.RtpError:
            self.stats["bad_rtp"] += 1
            return
        if packet.ssrc != self.expected_ssrc:
            self.stats["foreign_ssrc"] += 1
            return
        self.last_packet = asyncio.get_running_loop().time()
        self.stats["packets"] += 1
        self.stats["bytes"] += len(data)
        if self.last_sequence is not None:
            distance = rtp.sequence_distance(packet.sequence, self.last_sequence)
            if -MAX_MISORDER < distance <= 0:
                self.stats["late"] += 1
                return
            if distance <= -MAX_MISORDER:  # RFC 3550 A.1: the sender started afresh
                self.stats["restarts"] += 1
            elif distance > 1:
                self.stats["lost"] += distance - 1
            if distance != 1:
                self.demuxer = ps.Demuxer()  # the frame in hand is broken: wait for a key
                self.need_key = True
        self.last_sequence = packet.sequence
        frames = self.demuxer.feed(packet.payload)
        if packet.marker:
            frames += self.demuxer.flush()
        for frame in frames:
            self.on_frame(frame)

    def on_frame(self, frame: ps.Frame) -> None:
        if frame.pts is None:
            self.stats["frames_without_pts"] += 1
            return
        if self.first_pts is None:
            self.first_pts = frame.pts
        self.last_pts = frame.pts
        if self.need_key and not frame.is_key:
            self.stats["frames_skipped"] += 1
            return
        self.need_key = False
        if self.muxer is None or self.muxer.codec != frame.codec:
            self.muxer = ts.Muxer(frame.codec)
            self.codec = frame.codec
        chunk = self.muxer.frame(frame.data, frame.pts, frame.dts, is_key=frame.is_key)
        self.stats["frames"] += 1
        if frame.is_key:
            self.gop, self.gop_bytes = [chunk], len(chunk)
            if not self.first_key.done():
                self.first_key_at = asyncio.get_running_loop().time()
                self.first_key.set_result(None)
        elif self.gop and self.gop_bytes + len(chunk) <= MAX_GOP_BYTES:
            self.gop.append(chunk)
            self.gop_bytes += len(chunk)
        else:
            self.gop, self.gop_bytes = [], 0
        for viewer in self.viewers:
            viewer.push(chunk, is_key=frame.is_key)

    # --- viewers ----------------------------------------------------------------------

    def attach(self, viewer: Viewer) -> None:
        if len(self.viewers) >= settings.VIDEO_MAX_VIEWERS_PER_STREAM:
            raise LimitReached(
                _("This camera already has %(n)d viewers, the most allowed.")
                % {"n": settings.VIDEO_MAX_VIEWERS_PER_STREAM}
            )
        if self.gop:
            viewer.push(b"".join(self.gop), is_key=True)
        self.viewers.add(viewer)
        self.had_viewer = True
        self.idle_since = None

    def detach(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers and self.idle_since is None:
            self.idle_since = clock.now()

    async def stop(self, reason: str) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        self.ended_reason = reason
        if self.hub.sessions.get(self.target.key) is self:
            del self.hub.sessions[self.target.key]
        self.hub.remember_end(self.target.key, reason)
        for viewer in list(self.viewers):
            viewer.close(reason)
        self.viewers.clear()
        if self._transport is not None:
            self._transport.close()
        if self._tcp is not None and self._tcp.transport is not None:
            self._tcp.transport.close()
        if self._server is not None:
            self._server.close()
        if not self.first_key.done():
            self.first_key.cancel()
        log.info("video: stream of %s ended (%s)", self.target.channel_id, reason)
        control = media_control.current()
        if self.dialog_id and control is not None and reason != "remote bye":
            await control.bye(self.dialog_id)


class Hub:
    """Every live stream of this process, on the gateway's event loop."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self._starting: dict[str, asyncio.Task[Session]] = {}
        self._ssrc = itertools.count(1)
        self.sn = itertools.count(1)  # of the MANSCDP bodies the streams send
        self._sweeper: asyncio.Task | None = None
        self.ended: collections.OrderedDict[str, str] = collections.OrderedDict()
        media_control.on_remote_bye(self._remote_bye)
        media_control.on_media_status(self._media_status)

    # --- running on the media loop -----------------------------------------------------

    @staticmethod
    def loop() -> asyncio.AbstractEventLoop:
        control = media_control.current()
        if control is None:
            raise StreamError(_("Live video is not available: no GB/T 28181 gateway runs here."))
        return control.loop

    def _loop_for(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.AbstractEventLoop:
        try:
            return self.loop()
        except StreamError:
            coroutine.close()  # never to run: no "never awaited" warning
            raise

    async def acall(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run on the media loop from a request's coroutine, whichever loop it runs on."""
        loop = self._loop_for(coroutine)
        if asyncio.get_running_loop() is loop:
            return await coroutine
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))

    def next_ssrc(self, playback: bool = False) -> str:
        """GB/T 28181 §F: 0 (live) or 1 (history), the domain's 5 digits after the
        province and city, a 4-digit sequence."""
        domain = settings.GB28181_DOMAIN
        return f"{int(playback)}{domain[3:8]}{next(self._ssrc) % 10_000:04d}"

    # --- opening and sharing -----------------------------------------------------------

    async def open(self, target: Target) -> Session:
        """The channel's running stream, or a new one once its first key frame came."""
        session = self.sessions.get(target.key)
        if session is not None and session.state == "live":
            return session
        pending = self._starting.get(target.key)
        if pending is not None:
            return await asyncio.shield(pending)
        control = media_control.current()
        if control is None or not control.is_registered(target.device_id):
            raise StreamError(_("The camera is not registered with the platform."))
        if len(self.sessions.keys() | self._starting.keys()) >= settings.VIDEO_MAX_STREAMS:
            raise LimitReached(
                _("The platform already relays %(n)d streams, the most allowed. Try again later.")
                % {"n": settings.VIDEO_MAX_STREAMS}
            )
        same_device = sum(
            1 for s in self.sessions.values() if s.target.device_id == target.device_id
        )
        if same_device >= settings.VIDEO_MAX_STREAMS_PER_DEVICE:
            raise LimitReached(
                _("This device already sends %(n)d streams, the most allowed.")
                % {"n": settings.VIDEO_MAX_STREAMS_PER_DEVICE}
            )
        # a task of its own: a viewer who leaves (its request cancelled) stops waiting,
        # not the start the others wait for
        starting = asyncio.get_running_loop().create_task(self._start(target, control))
        starting.add_done_callback(lambda task: task.cancelled() or task.exception())
        self._starting[target.key] = starting
        return await asyncio.shield(starting)

    async def _start(self, target: Target, control: media_control.MediaControl) -> Session:
        session = Session(self, target, self.next_ssrc(bool(target.playback_start)))
        self.sessions[target.key] = session
        try:
            await session.start(control)
        except BaseException:
            await session.stop("not started")  # its socket closed, any dialog ended
            raise
        finally:
            self._starting.pop(target.key, None)
        self._ensure_sweeper()
        return session

    async def attach(self, target: Target, viewer: Viewer) -> Session:
        session = await self.open(target)
        session.attach(viewer)
        return session

    async def detach(self, key: str, viewer: Viewer) -> None:
        """``key``: the target's (the channel ID for a live stream)."""
        session = self.sessions.get(key)
        if session is not None:
            session.detach(viewer)

    async def sweep(self, now: dt.datetime | None = None) -> list[str]:
        """Stop streams idle for VIDEO_IDLE_STOP_SECONDS and streams that went silent."""
        now = now or clock.now()
        idle = dt.timedelta(seconds=settings.VIDEO_IDLE_STOP_SECONDS)
        loop_time = asyncio.get_running_loop().time()
        ending: dict[str, Coroutine[Any, Any, None]] = {}
        for key, session in list(self.sessions.items()):
            if session.state != "live":
                continue
            idle_since = session.idle_since
            if idle_since is not None and session.target.personal and session.had_viewer:
                ending[key] = session.stop("viewer left")  # nobody else may join it
            elif idle_since is not None and now - idle_since >= idle:
                ending[key] = session.stop("idle")
            elif (
                not session.paused
                and session.last_packet
                and loop_time - session.last_packet > STALL_SECONDS
            ):
                ending[key] = session.stop("no media")
        await asyncio.gather(*ending.values())  # a dark camera's BYE waits alone
        return list(ending)

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop())

    async def _sweep_loop(self) -> None:
        while self.sessions:
            await asyncio.sleep(1.0)
            try:
                await self.sweep()
            except Exception:  # pragma: no cover - logged, the loop goes on
                log.exception("video: sweep failed")

    def _remote_bye(self, dialog_id: str) -> None:
        for session in list(self.sessions.values()):
            if session.dialog_id == dialog_id:
                asyncio.get_running_loop().create_task(session.stop("remote bye"))

    def _media_status(self, dialog_id: str, notify_type: str) -> None:
        """NotifyType 121: the recording (playback or download) ended: its viewers are
        told "end of file" and the dialog is closed with BYE."""
        if notify_type != "121":
            return
        for session in list(self.sessions.values()):
            if session.dialog_id == dialog_id and session.target.playback_start:
                asyncio.get_running_loop().create_task(session.stop("end of file"))

    def remember_end(self, key: str, reason: str) -> None:
        """Why a stream ended, kept a while for the player asking after its end."""
        self.ended[key] = reason
        self.ended.move_to_end(key)
        while len(self.ended) > 1024:
            self.ended.popitem(last=False)

    def state_of(self, key: str) -> dict[str, Any]:
        session = self.sessions.get(key)
        if session is not None:
            return {
                "state": "paused" if session.paused else session.state,
                "scale": session.scale,
            }
        if key in self.ended:
            return {"state": "ended", "reason": self.ended[key]}
        return {"state": "unknown"}

    async def control(
        self, key: str, action: str, *, position: float | None = None, scale: float | None = None
    ) -> Session:
        """Pause, resume, seek or change the speed of a running playback (MANSRTSP in a
        SIP INFO inside its dialog). Raises StreamError with the reason."""
        session = self.sessions.get(key)
        if session is None or session.state != "live" or not session.target.playback_start:
            raise NotRunning(_("This playback is no longer running."))
        control = media_control.current()
        if control is None:
            raise StreamError(_("Live video is not available: no GB/T 28181 gateway runs here."))
        session.cseq += 1
        body = mansrtsp.build(mansrtsp.Control(action, session.cseq, position, scale))
        try:
            status = await control.info(session.dialog_id, body, mansrtsp.CONTENT_TYPE)
        except media_control.MediaError:
            status = 0
        if status != 200:
            raise Refused(_("The camera did not take the command."))
        if action == "pause":
            session.paused = True
        elif action in ("resume", "seek"):
            session.paused = False
            session.last_packet = asyncio.get_running_loop().time()
            if action == "seek":  # the device starts again from a key frame there
                session.gop, session.gop_bytes = [], 0
        elif action == "speed" and scale is not None:
            session.scale = scale
        return session

    def end_viewers(self) -> None:
        """The process is stopping: every viewer's response ends now (the browser's
        player reconnects to another process); the device streams stop with the SIP
        server (its dialogs are ended with BYE)."""
        for session in list(self.sessions.values()):
            for viewer in list(session.viewers):
                viewer.close("shutdown")

    async def stop_all(self) -> None:
        for session in list(self.sessions.values()):
            await session.stop("shutdown")

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {
                "channel_id": s.target.channel_id,
                "state": s.state,
                "viewers": len(s.viewers),
                "codec": s.codec,
                **dict(s.stats),
            }
            for s in self.sessions.values()
        ]


hub = Hub()
