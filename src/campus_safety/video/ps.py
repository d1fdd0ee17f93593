"""MPEG-2 program stream (ISO/IEC 13818-1 §2.5) as GB/T 28181 cameras send it: a pack
header per frame, a system header and a program stream map (PSM) before each key frame,
then the frame in PES packets. Demuxed to the elementary stream (H.264 or H.265) with
its timestamps — nothing decoded, nothing transcoded — and, for the simulator's
cameras, muxed the other way. Pure: bytes in, bytes out; no I/O, no Django."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

PACK_START = 0xBA
SYSTEM_HEADER = 0xBB
PSM = 0xBC
END_CODE = 0xB9
STREAM_H264 = 0x1B
STREAM_H265 = 0x24
STREAM_G711A = 0x90
MAX_BUFFER = 4 * 1024 * 1024  # a 1080p key frame is well under this
MAX_FRAME = 4 * 1024 * 1024
_WITHOUT_PES_HEADER = {PSM, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF}  # ISO 13818-1 2.4.3.7


class PsError(ValueError):
    pass


@dataclass(slots=True)
class Frame:
    """One video access unit: the elementary stream's bytes and its 90 kHz times."""

    data: bytes
    pts: int | None
    dts: int | None
    codec: str  # "h264" | "h265"
    is_key: bool


@dataclass
class DemuxStats:
    packs: int = 0
    pes: int = 0
    frames: int = 0
    garbage_bytes: int = 0
    dropped_frames: int = 0
    stream_types: dict[int, int] = field(default_factory=dict)


def _timestamp(data: bytes | bytearray, offset: int) -> int:
    """A 33-bit PTS/DTS from its 5 bytes (with the marker bits)."""
    b = data[offset : offset + 5]
    return ((b[0] >> 1) & 0x07) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


def _encode_timestamp(prefix: int, value: int) -> bytes:
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


def nal_types(data: bytes, codec: str, limit: int = 8) -> list[int]:
    """The first NAL unit types of an Annex B stream (a frame's SPS/IDR tell a key)."""
    types = []
    position = 0
    while len(types) < limit:
        index = data.find(b"\x00\x00\x01", position)
        if index < 0 or index + 3 >= len(data):
            break
        header = data[index + 3]
        types.append((header >> 1) & 0x3F if codec == "h265" else header & 0x1F)
        position = index + 3
    return types


def is_key_frame(data: bytes, codec: str) -> bool:
    types = nal_types(data, codec)
    if codec == "h265":
        return any(t in (16, 17, 18, 19, 20, 21, 32, 33) for t in types)
    return any(t in (5, 7) for t in types)


def guess_codec(data: bytes) -> str:
    """H.265 when the first NAL unit has H.265's two-byte header (layer 0, temporal ID 1:
    ``40 01`` VPS, ``42 01`` SPS, ``26 01`` IDR …), else H.264 — for a camera that sends
    no PSM."""
    index = data.find(b"\x00\x00\x01")
    if index < 0 or index + 4 >= len(data):
        return "h264"
    first, second = data[index + 3], data[index + 4]
    h265_type = (first >> 1) & 0x3F
    return (
        "h265"
        if second == 0x01
        and not first & 0x81
        and h265_type in (0, 1, 19, 20, 21, 32, 33, 34, 35, 39)
        else "h264"
    )


class Demuxer:
    """Feed it PS bytes as they come (RTP payloads, cut anywhere); take whole frames.

    Garbage is skipped up to the next start code and counted; a frame beyond MAX_FRAME is
    dropped; the buffer never holds more than MAX_BUFFER."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.stream_types: dict[int, int] = {}  # stream_id → stream_type, from the PSM
        self.stats = DemuxStats()
        self._frame: list[bytes] = []
        self._frame_size = 0
        self._pts: int | None = None
        self._dts: int | None = None
        self._out: list[Frame] = []

    @property
    def video_codec(self) -> str | None:
        for stream_id, stream_type in self.stream_types.items():
            if 0xE0 <= stream_id <= 0xEF:
                return {STREAM_H264: "h264", STREAM_H265: "h265"}.get(stream_type)
        return None

    def feed(self, data: bytes) -> list[Frame]:
        """Whole frames completed by these bytes (a frame ends when the next begins)."""
        self._buffer += data
        if len(self._buffer) > MAX_BUFFER:
            self.stats.garbage_bytes += len(self._buffer)
            self._buffer.clear()
            self._drop_frame()
        self._parse()
        out, self._out = self._out, []
        return out

    def flush(self) -> list[Frame]:
        """The frame in hand is complete (the RTP marker bit said so)."""
        self._parse(final=True)
        self._finish_frame()
        out, self._out = self._out, []
        return out

    def _drop_frame(self) -> None:
        if self._frame:
            self.stats.dropped_frames += 1
        self._frame, self._frame_size, self._pts, self._dts = [], 0, None, None

    def _finish_frame(self) -> None:
        if not self._frame:
            return
        data = b"".join(self._frame)
        codec = self.video_codec or guess_codec(data)
        self._out.append(Frame(data, self._pts, self._dts, codec, is_key_frame(data, codec)))
        self.stats.frames += 1
        self._frame, self._frame_size, self._pts, self._dts = [], 0, None, None

    @staticmethod
    def _find_start(buffer: bytearray, position: int) -> int:
        """The next ``00 00 01 xx`` with xx a system or stream code (≥ 0xB9), or -1."""
        while True:
            index = buffer.find(b"\x00\x00\x01", position)
            if index < 0 or index + 3 >= len(buffer):
                return -1
            if buffer[index + 3] >= 0xB9:
                return index
            position = index + 1

    def _parse(self, final: bool = False) -> None:
        """Packets out of the buffer. One is taken once the bytes after it begin the next
        packet (or ``final``: the frame is complete), so a start code that garbage
        happened to contain cannot swallow the real packets after it."""
        buffer = self._buffer
        offset = 0
        size = len(buffer)
        while size - offset >= 4:
            if buffer[offset : offset + 3] != b"\x00\x00\x01" or buffer[offset + 3] < 0xB9:
                found = self._find_start(buffer, offset + 1)
                if found < 0:
                    keep = max(size - 3, offset)
                    self.stats.garbage_bytes += keep - offset
                    offset = keep
                    break
                self.stats.garbage_bytes += found - offset
                offset = found
                continue
            code = buffer[offset + 3]
            if code == PACK_START:
                if size - offset < 14:
                    break
                # MPEG-2 pack header (with its stuffing), else MPEG-1's 12 bytes
                length = 14 + (buffer[offset + 13] & 0x07) if buffer[offset + 4] >> 6 == 1 else 12
                if size - offset < length:
                    break
                self.stats.packs += 1
                offset += length
                continue
            if code == END_CODE:
                offset += 4
                continue
            if size - offset < 6:
                break
            (length,) = struct.unpack_from("!H", buffer, offset + 4)
            end = offset + 6 + length
            # a frame complete, yet this packet runs past packets after it: a lie
            is_overrun = size < end and final and self._find_start(buffer, offset + 1) >= 0
            if not is_overrun and (size < end or (size - end < 4 and not final)):
                break  # the next start code tells whether the length was true
            if is_overrun or (
                size - end >= 4
                and (buffer[end : end + 3] != b"\x00\x00\x01" or buffer[end + 3] < 0xB9)
            ):
                self.stats.garbage_bytes += 1  # a start code in garbage: its length lied
                offset += 1
                continue
            body = bytes(buffer[offset + 6 : end])
            offset = end
            if code == PSM:
                self._read_psm(body)
            elif code == SYSTEM_HEADER or code in _WITHOUT_PES_HEADER:
                continue
            elif 0xE0 <= code <= 0xEF:
                self._video_pes(body)
            else:
                self.stats.pes += 1  # audio and private streams: not shown
        del buffer[:offset]

    def _read_psm(self, body: bytes) -> None:
        if len(body) < 6:
            return
        (info_length,) = struct.unpack_from("!H", body, 2)
        position = 4 + info_length
        if position + 2 > len(body):
            return
        (map_length,) = struct.unpack_from("!H", body, position)
        position += 2
        end = min(position + map_length, len(body))
        types: dict[int, int] = {}
        while position + 4 <= end:
            stream_type, stream_id, es_info = struct.unpack_from("!BBH", body, position)
            types[stream_id] = stream_type
            position += 4 + es_info
        if types:
            self.stream_types = types
            for stream_type in types.values():
                self.stats.stream_types[stream_type] = (
                    self.stats.stream_types.get(stream_type, 0) + 1
                )

    def _video_pes(self, body: bytes) -> None:
        self.stats.pes += 1
        if len(body) < 3 or body[0] >> 6 != 2:
            self.stats.garbage_bytes += len(body)
            return
        flags = body[1] >> 6
        header_length = body[2]
        if 3 + header_length > len(body):
            self.stats.garbage_bytes += len(body)
            return
        pts = dts = None
        if flags & 2 and header_length >= 5:
            pts = _timestamp(body, 3)
            dts = _timestamp(body, 8) if flags == 3 and header_length >= 10 else pts
        payload = body[3 + header_length :]
        if pts is not None and self._frame and pts != self._pts:
            self._finish_frame()
        if pts is not None and not self._frame:
            self._pts, self._dts = pts, dts
        if self._frame_size + len(payload) > MAX_FRAME:
            self._drop_frame()
            return
        self._frame.append(payload)
        self._frame_size += len(payload)


# --- muxing (the simulator's cameras) ----------------------------------------------------


def pack_header(scr: int, mux_rate: int = 6106) -> bytes:
    """An MPEG-2 pack header (14 bytes, no stuffing); ``scr`` in 90 kHz units."""
    scr &= (1 << 33) - 1
    b = bytearray(14)
    b[0:4] = b"\x00\x00\x01\xba"
    b[4] = 0x44 | ((scr >> 27) & 0x38) | ((scr >> 28) & 0x03)
    b[5] = (scr >> 20) & 0xFF
    b[6] = (((scr >> 15) & 0x1F) << 3) | 0x04 | ((scr >> 13) & 0x03)
    b[7] = (scr >> 5) & 0xFF
    b[8] = ((scr & 0x1F) << 3) | 0x04
    b[9] = 0x01
    b[10] = (mux_rate >> 14) & 0xFF
    b[11] = (mux_rate >> 6) & 0xFF
    b[12] = ((mux_rate & 0x3F) << 2) | 0x03
    b[13] = 0xF8
    return bytes(b)


def system_header() -> bytes:
    body = bytes((0x80, 0x01, 0x01, 0x04, 0xE1, 0x7F, 0xE0, 0xE0, 0x80))
    return b"\x00\x00\x01\xbb" + struct.pack("!H", len(body)) + body


def psm(video_stream_type: int = STREAM_H264) -> bytes:
    """A program stream map naming the video stream (0xE0) and its codec."""
    entries = bytes((video_stream_type, 0xE0, 0, 0))
    body = bytes((0xE0, 0xFF)) + struct.pack("!H", 0) + struct.pack("!H", len(entries)) + entries
    body += b"\x00\x00\x00\x00"  # CRC (devices and parsers ignore it)
    return b"\x00\x00\x01\xbc" + struct.pack("!H", len(body)) + body


def pes(data: bytes, pts: int | None, stream_id: int = 0xE0) -> bytes:
    header = _encode_timestamp(0x2, pts) if pts is not None else b""
    flags = 0x80 if pts is not None else 0
    body = bytes((0x80, flags, len(header))) + header + data
    if len(body) > 0xFFFF:
        raise PsError("PES payload too large; split it")
    return b"\x00\x00\x01" + bytes((stream_id,)) + struct.pack("!H", len(body)) + body


PES_CHUNK = 65_000


def mux_frame(data: bytes, pts: int, *, is_key: bool, codec: str = "h264") -> bytes:
    """One access unit as a camera sends it: pack header, (system header and PSM before a
    key frame,) the frame in PES packets of at most PES_CHUNK bytes (PTS on the first)."""
    parts = [pack_header(pts)]
    if is_key:
        parts += [system_header(), psm(STREAM_H265 if codec == "h265" else STREAM_H264)]
    for index, start in enumerate(range(0, max(len(data), 1), PES_CHUNK)):
        parts.append(pes(data[start : start + PES_CHUNK], pts if index == 0 else None))
    return b"".join(parts)
