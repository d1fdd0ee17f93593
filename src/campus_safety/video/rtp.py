"""RTP (RFC 3550) packets and RTP over TCP (RFC 4571: each packet after a 2-byte
length). Pure: bytes in, bytes out; no I/O, no Django."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")
MAX_PACKET = 65_535  # RFC 4571's 16-bit length
DEFAULT_PAYLOAD = 1400  # under a 1500-byte Ethernet MTU with IP/UDP/RTP headers


class RtpError(ValueError):
    """Not an RTP packet we can use; the message says why."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()


def parse(data: bytes) -> RtpPacket:
    """One RTP packet: header checked (version 2), CSRCs, extension and padding removed."""
    if len(data) < 12:
        raise RtpError("shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError("not RTP version 2")
    offset = 12 + 4 * (first & 0x0F)
    if offset > len(data):
        raise RtpError("CSRC list past the end")
    csrcs = struct.unpack_from(f"!{first & 0x0F}I", data, 12) if first & 0x0F else ()
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if offset + 4 > len(data):
            raise RtpError("extension header past the end")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
        if offset > len(data):
            raise RtpError("extension past the end")
    end = len(data)
    if first & 0x20:  # padding: the last byte counts it
        padding = data[-1]
        if padding == 0 or offset + padding > end:
            raise RtpError("bad padding")
        end -= padding
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
        csrcs=tuple(csrcs),
    )


def build(packet: RtpPacket) -> bytes:
    """The packet's bytes (no extension, no padding)."""
    if len(packet.csrcs) > 15:
        raise RtpError("at most 15 CSRCs")
    first = (RTP_VERSION << 6) | len(packet.csrcs)
    second = (0x80 if packet.marker else 0) | (packet.payload_type & 0x7F)
    head = HEADER.pack(
        first,
        second,
        packet.sequence & 0xFFFF,
        packet.timestamp & 0xFFFFFFFF,
        packet.ssrc & 0xFFFFFFFF,
    )
    csrcs = struct.pack(f"!{len(packet.csrcs)}I", *packet.csrcs) if packet.csrcs else b""
    return head + csrcs + packet.payload


def packetize(
    data: bytes,
    *,
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    size: int = DEFAULT_PAYLOAD,
) -> list[bytes]:
    """One frame's bytes (a PS pack) cut into packets; the marker on the last one."""
    head_first = RTP_VERSION << 6
    out = []
    chunks = range(0, max(len(data), 1), size)
    last = len(chunks) - 1
    for index, start in enumerate(chunks):
        second = (0x80 if index == last else 0) | payload_type
        out.append(
            HEADER.pack(
                head_first, second, (sequence + index) & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc
            )
            + data[start : start + size]
        )
    return out


def frame_tcp(packet: bytes) -> bytes:
    """RFC 4571: the packet after its 2-byte big-endian length."""
    if len(packet) > MAX_PACKET:
        raise RtpError("packet too large for RFC 4571 framing")
    return struct.pack("!H", len(packet)) + packet


class TcpDeframer:
    """Packets back out of an RFC 4571 byte stream, however the reads cut it."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buffer += data
        buffer = self._buffer
        offset = 0
        while len(buffer) - offset >= 2:
            length = (buffer[offset] << 8) | buffer[offset + 1]
            if len(buffer) - offset - 2 < length:
                break
            yield bytes(buffer[offset + 2 : offset + 2 + length])
            offset += 2 + length
        del buffer[:offset]

    @property
    def pending(self) -> int:
        return len(self._buffer)


def sequence_distance(newer: int, older: int) -> int:
    """Signed distance between 16-bit sequence numbers (wrap-around aware)."""
    return ((newer - older + 0x8000) & 0xFFFF) - 0x8000
