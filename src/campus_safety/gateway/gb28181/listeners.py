"""The sockets: a UDP endpoint and TCP connections feeding ``Gb28181Server.receive``.

Each message comes with a ``Channel``, the way back to its sender (a UDP address or the
TCP connection it arrived on); the server answers and sends its own requests there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


async def serve_tcp(
    server: Gb28181Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """RFC 3261 18.3: messages on a stream are framed by Content-Length alone."""
    peer = writer.get_extra_info("peername") or ("", 0)
    sockname = writer.get_extra_info("sockname") or ("", 0)
    remote = Remote("tcp", peer[0], peer[1])
    if len(server.tcp_connections) >= server.config.max_tcp_connections:
        server.log_drop("too many TCP connections, refused", remote)
        writer.close()
        return
    server.tcp_connections.add(writer)
    channel = Channel(
        remote,
        writer.write,
        lambda: not writer.is_closing(),
        local=(server.config.advertised_host or sockname[0], server.port),
    )
    buffer = bytearray()
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), server.config.tcp_idle_timeout)
            if not chunk:
                break
            buffer += chunk
            while True:
                while buffer[:1] in (b"\r", b"\n"):  # CRLF keep-alives between messages
                    del buffer[:1]
                try:
                    length = sip.frame_length(
                        bytes(buffer[: server.config.max_message_bytes + 1]),
                        max_size=server.config.max_message_bytes,
                    )
                except sip.SipParseError as exc:  # framing lost: answer and hang up
                    server.stats["malformed"] += 1
                    server.log_drop(f"TCP framing error ({exc.reason}), closing", remote)
                    request = exc.partial or sip.SipRequest(headers=(), body=b"")
                    channel.send(
                        sip.build_response(request, 400, sip.reason_phrase(400, exc.reason))
                    )
                    return
                if length is None:
                    break
                message = bytes(buffer[:length])
                del buffer[:length]
                server.receive(message, channel)
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        server.tcp_connections.discard(writer)
        writer.close()


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
