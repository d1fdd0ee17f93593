"""MPEG-2 transport stream (ISO/IEC 13818-1 §2.4) for the browser's player (mpegts.js):
each frame the PS demuxer gave is wrapped again — one PES per access unit, PAT and PMT
before every key frame, the PCR on the video PID — without touching the coded picture.
Pure: bytes in, bytes out; no I/O, no Django."""

from __future__ import annotations

import struct

PACKET = 188
PMT_PID = 0x1000
VIDEO_PID = 0x100
STREAM_TYPES = {"h264": 0x1B, "h265": 0x24}
_STUFFING = b"\xff" * PACKET


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def crc32_mpeg2(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _section(table_id: int, extension: int, body: bytes) -> bytes:
    length = 5 + len(body) + 4
    head = bytes((table_id, 0xB0 | (length >> 8), length & 0xFF)) + struct.pack(
        "!HBBB", extension, 0xC1, 0, 0
    )
    section = head + body
    return section + struct.pack("!I", crc32_mpeg2(section))


def _psi_packet(pid: int, section: bytes, counter: int) -> bytes:
    payload = b"\x00" + section  # pointer field
    head = bytes((0x47, 0x40 | (pid >> 8), pid & 0xFF, 0x10 | (counter & 0x0F)))
    return head + payload + _STUFFING[: PACKET - 4 - len(payload)]


def _pts_bytes(prefix: int, value: int) -> bytes:
    value &= (1 << 33) - 1
    return bytes(
        (
            (prefix << 4) | (((value >> 30) & 0x07) << 1) | 1,
            (value >> 22) & 0xFF,
            (((value >> 15) & 0x7F) << 1) | 1,
            (value >> 7) & 0xFF,
            ((value & 0x7F) << 1) | 1,
        )
    )


class Muxer:
    """One video program; ``frame()`` returns whole 188-byte packets ready to send."""

    def __init__(self, codec: str = "h264") -> None:
        if codec not in STREAM_TYPES:
            raise ValueError(f"unsupported codec {codec!r}")
        self.codec = codec
        self._counters = {0: 0, PMT_PID: 0, VIDEO_PID: 0}

    def _next(self, pid: int) -> int:
        value = self._counters[pid]
        self._counters[pid] = (value + 1) & 0x0F
        return value

    def tables(self) -> bytes:
        """PAT and PMT: a player joining here can start."""
        pat = _section(0x00, 1, struct.pack("!HH", 1, 0xE000 | PMT_PID))
        pmt_body = struct.pack("!HH", 0xE000 | VIDEO_PID, 0xF000) + struct.pack(
            "!BHH", STREAM_TYPES[self.codec], 0xE000 | VIDEO_PID, 0xF000
        )
        pmt = _section(0x02, 1, pmt_body)
        return _psi_packet(0, pat, self._next(0)) + _psi_packet(PMT_PID, pmt, self._next(PMT_PID))

    def frame(self, data: bytes, pts: int, dts: int | None = None, *, is_key: bool) -> bytes:
        """One access unit as TS packets (tables first when it is a key frame)."""
        if dts is None or dts == pts:
            header = b"\x80\x80\x05" + _pts_bytes(0x2, pts)
        else:
            header = b"\x80\xc0\x0a" + _pts_bytes(0x3, pts) + _pts_bytes(0x1, dts)
        pes = b"\x00\x00\x01\xe0\x00\x00" + header + data  # length 0: unbounded video PES
        pcr_base = (dts if dts is not None else pts) & ((1 << 33) - 1)
        out = bytearray(self.tables() if is_key else b"")
        # first packet: adaptation field with the PCR (and random access on a key frame)
        pcr = struct.pack("!IH", pcr_base >> 1, ((pcr_base & 1) << 15) | 0x7E00)
        adaptation = bytes((0x50 if is_key else 0x10,)) + pcr
        position = 0
        first = True
        total = len(pes)
        while position < total:
            room = PACKET - 4
            if first:
                room -= 1 + len(adaptation)
            chunk = pes[position : position + room]
            position += len(chunk)
            counter = self._next(VIDEO_PID)
            pusi = 0x40 if first else 0
            if first or len(chunk) < room:
                body = adaptation if first else b""
                stuffing = room - len(chunk)
                if first:
                    field = body + _STUFFING[:stuffing]
                    af = bytes((len(field),)) + field
                elif stuffing == 1:
                    af = b"\x00"
                else:
                    af = bytes((stuffing - 1, 0x00)) + _STUFFING[: stuffing - 2]
                out += bytes((0x47, pusi | (VIDEO_PID >> 8), VIDEO_PID & 0xFF, 0x30 | counter))
                out += af + chunk
            else:
                out += bytes((0x47, pusi | (VIDEO_PID >> 8), VIDEO_PID & 0xFF, 0x10 | counter))
                out += chunk
            first = False
        return bytes(out)


def parse_packets(data: bytes) -> list[tuple[int, bool, bytes]]:
    """(PID, payload unit start, payload) of each packet — for tests and the bench."""
    if len(data) % PACKET:
        raise ValueError("not whole TS packets")
    out = []
    for offset in range(0, len(data), PACKET):
        packet = data[offset : offset + PACKET]
        if packet[0] != 0x47:
            raise ValueError("lost TS sync")
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        control = (packet[3] >> 4) & 0x03
        start = 4
        if control & 0x02:
            start = 5 + packet[4]
        payload = packet[start:] if control & 0x01 else b""
        out.append((pid, bool(packet[1] & 0x40), payload))
    return out
