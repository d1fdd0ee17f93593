"""The sockets: a UDP endpoint and TCP connections feeding ``Gb28181Server.receive``.

Each message comes with a ``Channel``, the way back to its sender (a UDP address or the
TCP connection it arrived on); the server answers and sends its own requests there.

A TCP connection holds a descriptor for as long as its peer likes, so the TCP side is
bounded whatever a peer does (issue #13): at most a share of the process's descriptors
in all (``fd_limits.sip_tcp_share``) and ``max_tcp_connections_per_host`` from one
address, the rest refused at once; a connection that has not registered a device within
``tcp_register_timeout`` seconds, or whose registration failed, is closed; only one that
carries a registration may stay idle for ``tcp_idle_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import socket
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from campus_safety import fd_limits
from campus_safety.gateway.gb28181 import sip
from campus_safety.gateway.gb28181.interface import Remote

if TYPE_CHECKING:
    from campus_safety.gateway.gb28181.server import Gb28181Server

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Channel:
    """The way back to a peer: a UDP address or a TCP connection."""

    remote: Remote
    send_bytes: Callable[[bytes], None]
    is_open: Callable[[], bool]
    local: tuple[str, int] | None = None
    # TCP: close the connection once what was sent has gone out (None for UDP)
    hang_up: Callable[[], None] | None = None
    # set when a registration answers on this channel (server._Registration): a TCP
    # connection that carries one may stay idle for tcp_idle_timeout, others may not
    carries_registration: bool = False

    def send(self, data: bytes) -> None:
        try:
            self.send_bytes(data)
        except (OSError, RuntimeError) as exc:
            log.debug("send to %s failed: %s", self.remote, exc)


def udp_channel(transport: asyncio.DatagramTransport, remote: Remote) -> Channel:
    address = (remote.host, remote.port)
    return Channel(
        remote,
        lambda payload: transport.sendto(payload, address),
        lambda: not transport.is_closing(),
    )


ACCEPT_BATCH = 64  # connections accepted per wake-up of the loop; other work runs between
ACCEPT_PAUSE = 1.0  # seconds without accepting after the process ran out of descriptors
LISTEN_BACKLOG = 1024  # devices reconnecting all at once after a restart wait here
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close with a reset, no TIME_WAIT


def listen_tcp(
    server: Gb28181Server, host: str, port: int, *, reuse_port: bool = False
) -> TcpListener:
    """Listen for SIP over TCP on ``host:port`` (raises OSError if it is taken, unless
    ``reuse_port`` and the taker shares it too: ``Gb28181Server.start``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server(
        (host, port), family=family, backlog=LISTEN_BACKLOG, reuse_port=reuse_port
    )
    sock.setblocking(False)
    listener = TcpListener(server, sock)
    listener.start()
    return listener


def _above_select_range(sock: socket.socket) -> socket.socket:
    """The same connection on a descriptor ≥ 1024 when the limit allows: the low ones
    stay for the parts of the process that use select() (fd_limits.SELECT_LIMIT)."""
    try:
        high = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, fd_limits.SELECT_LIMIT)
    except OSError:
        return sock
    sock.close()
    return socket.socket(fileno=high)


class TcpListener:
    """The SIP TCP port. Accepts on the loop in batches; keeps at most ``limit``
    connections in all and ``per_host`` from one address and closes the others at once
    with a reset, so a refusal costs an accept and a close, never a task or a buffer."""

    def __init__(self, server: Gb28181Server, sock: socket.socket) -> None:
        config = server.config
        self.server = server
        self.sock = sock
        descriptors = fd_limits.open_file_limit()
        self.limit = min(config.max_tcp_connections, fd_limits.sip_tcp_share(descriptors))
        self.per_host = config.max_tcp_connections_per_host
        self.connections: set[TcpConnection] = set()
        self.from_host: Counter[str] = Counter()
        self._move_up = descriptors > fd_limits.SELECT_LIMIT
        self.loop = asyncio.get_running_loop()
        self._resume: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.loop.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        """Stop listening and close every connection."""
        if self._resume is not None:
            self._resume.cancel()
        if self.sock.fileno() >= 0:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
        for connection in list(self.connections):
            connection.close()

    async def wait_closed(self) -> None:
        while self.connections:
            await asyncio.sleep(0.01)

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_DESCRIPTORS:
                    continue  # e.g. ECONNABORTED: that peer is already gone
                self.server.stats["tcp_accept_paused"] += 1
                log.warning("GB28181: TCP accept failed (%s); paused for %g s", exc, ACCEPT_PAUSE)
                self.loop.remove_reader(self.sock.fileno())
                self._resume = self.loop.call_later(ACCEPT_PAUSE, self.start)
                return
            self._admit(sock, address)

    def _admit(self, sock: socket.socket, address: tuple[Any, ...]) -> None:
        host = address[0]
        if len(self.connections) >= self.limit or self.from_host[host] >= self.per_host:
            self.server.stats["tcp_refused"] += 1
            many = "from this address" if self.from_host[host] >= self.per_host else "in all"
            self.server.log_drop(
                f"too many TCP connections {many}, refused", Remote("tcp", host, address[1])
            )
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
            sock.close()
            return
        if self._move_up:
            sock = _above_select_range(sock)
        sock.setblocking(False)
        connection = TcpConnection(self, host)
        self.connections.add(connection)
        self.from_host[host] += 1
        self.server._spawn(self._connect(sock, connection))

    async def _connect(self, sock: socket.socket, connection: TcpConnection) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: connection, sock)
        except BaseException:
            self.forget(connection)
            sock.close()
            raise

    def forget(self, connection: TcpConnection) -> None:
        """A connection is gone: its place is free for the next one."""
        if connection in self.connections:
            self.connections.discard(connection)
            self.from_host[connection.host] -= 1
            if self.from_host[connection.host] <= 0:
                del self.from_host[connection.host]


class TcpConnection(asyncio.Protocol):
    """One TCP connection. RFC 3261 18.3: messages on a stream are framed by
    Content-Length alone. Closed when its deadline passes: ``tcp_register_timeout``
    after it opened unless it carries a registration by then, ``tcp_idle_timeout``
    after its last message if it does."""

    def __init__(self, listener: TcpListener, host: str) -> None:
        self.listener = listener
        self.server = listener.server
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.channel: Channel | None = None
        self.buffer = bytearray()
        self.opened_at = self.last_message = 0.0
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] - uvloop's is no subclass
        server = self.server
        peer = transport.get_extra_info("peername") or (self.host, 0)
        sockname = transport.get_extra_info("sockname") or ("", 0)
        self.channel = Channel(
            Remote("tcp", peer[0], peer[1]),
            transport.write,
            lambda: not transport.is_closing(),
            local=(server.config.advertised_host or sockname[0], server.port),
            hang_up=transport.close,
        )
        loop = self.listener.loop
        self.opened_at = self.last_message = loop.time()
        self.timer = loop.call_at(
            self.opened_at + server.config.tcp_register_timeout, self._check_deadline
        )

    def data_received(self, data: bytes) -> None:
        transport, channel, server = self.transport, self.channel, self.server
        assert transport is not None and channel is not None
        buffer = self.buffer
        buffer += data
        max_size = server.config.max_message_bytes
        while not transport.is_closing():
            while buffer[:1] in (b"\r", b"\n"):  # CRLF keep-alives between messages
                del buffer[:1]
            try:
                length = sip.frame_length(bytes(buffer[: max_size + 1]), max_size=max_size)
            except sip.SipParseError as exc:  # framing lost: answer and hang up
                server.stats["malformed"] += 1
                server.log_drop(f"TCP framing error ({exc.reason}), closing", channel.remote)
                request = exc.partial or sip.SipRequest(headers=(), body=b"")
                channel.send(sip.build_response(request, 400, sip.reason_phrase(400, exc.reason)))
                transport.close()
                return
            if length is None:
                return
            message = bytes(buffer[:length])
            del buffer[:length]
            self.last_message = self.listener.loop.time()
            server.receive(message, channel)

    def eof_received(self) -> bool:
        return False  # the peer is done: close our side too

    def pause_writing(self) -> None:
        """The peer does not read what we send: stop reading what it sends."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.listener.forget(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _check_deadline(self) -> None:
        transport, channel, server = self.transport, self.channel, self.server
        assert transport is not None and channel is not None
        loop = self.listener.loop
        if transport.is_closing():  # closed, but the peer does not take what is left
            transport.abort()
            return
        config = server.config
        if channel.carries_registration:
            deadline = self.last_message + config.tcp_idle_timeout
            why = f"no message for {config.tcp_idle_timeout:g} s"
        else:
            deadline = self.opened_at + config.tcp_register_timeout
            why = f"no registration within {config.tcp_register_timeout:g} s"
        if loop.time() < deadline:
            self.timer = loop.call_at(deadline, self._check_deadline)
            return
        server.stats["tcp_timed_out"] += 1
        server.log_drop(f"TCP connection closed: {why}", channel.remote)
        transport.close()
        self.timer = loop.call_later(config.tcp_register_timeout, self._check_deadline)


MAX_UDP_CHANNELS = 65_536  # per source address; mostly the registrations' own channels
# The kernel's default UDP receive buffer (~200 KB, a few hundred datagrams) overflows
# when the loop pauses for a fraction of a second at thousands of keepalives a second;
# every datagram dropped there comes back as retransmissions (timer E), a storm that
# feeds itself. Asked for 4 MB (Linux caps it at net.core.rmem_max, and doubles it).
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024


class UdpProtocol(asyncio.DatagramProtocol):
    """The UDP socket. The way back to an address is made once and kept: every device
    sends a keepalive a minute or so from the address it registered from."""

    def __init__(self, server: Gb28181Server) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None
        self._channels: dict[tuple[Any, ...], Channel] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        channel = self._channels.get(addr)
        if channel is None:
            transport = self.transport
            if transport is None:
                return
            if len(self._channels) >= MAX_UDP_CHANNELS:
                self._channels.clear()  # a spoofed-source flood: start over
            channel = udp_channel(transport, Remote("udp", addr[0], addr[1]))
            self._channels[addr] = channel
        self.server.receive(data, channel)

    def error_received(self, exc: Exception) -> None:
        log.debug("GB28181 UDP error: %s", exc)
