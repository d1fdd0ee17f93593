"""SDP as GB/T 28181 uses it (RFC 4566 plus the standard's ``y=`` SSRC and ``f=`` media
description lines). Pure: text in, dataclasses out, and back; no I/O, no Django.

The platform offers (INVITE) where it receives the stream; the device answers with where
it sends from and the SSRC it will put in every RTP packet. A bad answer is refused with
the reason, never half taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_SDP_BYTES = 4096
MAX_LINES = 64
_SSRC = re.compile(r"[0-9]{10}")
_TOKEN = re.compile(r"[!-~]+")  # printable, no spaces
_PROTOS = ("RTP/AVP", "TCP/RTP/AVP", "RTP/AVP/TCP")
SESSION_NAMES = ("Play", "Playback", "Download", "Talk")


class SdpError(ValueError):
    """The SDP cannot be used; the message says why."""


@dataclass(frozen=True)
class Media:
    """One ``m=`` line and the ``a=`` lines under it."""

    kind: str  # "video" | "audio"
    port: int
    proto: str  # RTP/AVP (UDP) or TCP/RTP/AVP
    formats: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...] = ()

    def attribute(self, name: str) -> str | None:
        return next((value for key, value in self.attributes if key == name), None)

    @property
    def is_tcp(self) -> bool:
        return "TCP" in self.proto

    @property
    def setup(self) -> str:
        """``active``/``passive`` for TCP (RFC 4145), empty for UDP."""
        return self.attribute("setup") or ""

    def rtpmap(self) -> dict[int, str]:
        """Payload type → encoding name (``96`` → ``PS``)."""
        out: dict[int, str] = {}
        for key, value in self.attributes:
            if key == "rtpmap":
                number, _, rest = value.partition(" ")
                if number.isdigit():
                    out[int(number)] = rest.split("/")[0].upper()
        return out


@dataclass(frozen=True)
class SessionDescription:
    origin_user: str
    origin_address: str
    session_name: str
    connection_address: str
    media: tuple[Media, ...]
    start_time: int = 0
    stop_time: int = 0
    ssrc: str = ""  # y=: ten digits, the first 0 for live, 1 for history
    media_description: str = ""  # f=
    uri: str = ""  # u=: channel ID:parameter, for playback
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def video(self) -> Media | None:
        return next((m for m in self.media if m.kind == "video"), None)

    @property
    def ssrc_value(self) -> int | None:
        return int(self.ssrc) if self.ssrc else None


def _address(value: str, what: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"bad {what} line: {value!r}")
    address = parts[2].split("/")[0]
    if not _TOKEN.fullmatch(address):
        raise SdpError(f"bad {what} address")
    return address


def _media(value: str) -> Media:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError(f"bad m= line: {value!r}")
    kind, port_text, proto, *formats = parts
    port_text = port_text.split("/")[0]
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise SdpError(f"bad media port: {port_text!r}")
    if proto.upper() not in _PROTOS:
        raise SdpError(f"unsupported media transport: {proto!r}")
    if not all(f.isdigit() and int(f) < 128 for f in formats):
        raise SdpError("bad payload type in m= line")
    return Media(kind.lower(), int(port_text), proto.upper(), tuple(formats))


def parse(data: bytes | str) -> SessionDescription:
    """Parse an SDP body; ``SdpError`` with the reason when it cannot be used."""
    if isinstance(data, bytes):
        if len(data) > MAX_SDP_BYTES:
            raise SdpError("SDP too large")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SdpError("SDP is not UTF-8") from None
    else:
        text = data
        if len(text.encode("utf-8", "replace")) > MAX_SDP_BYTES:
            raise SdpError("SDP too large")
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or lines[0] != "v=0":
        raise SdpError("SDP must start with v=0")
    if len(lines) > MAX_LINES:
        raise SdpError("too many SDP lines")
    values: dict[str, str] = {}
    media: list[Media] = []
    attributes: list[tuple[str, str]] = []
    extra: list[tuple[str, str]] = []
    current: Media | None = None

    def close_media() -> None:
        if current is not None:
            media.append(
                Media(current.kind, current.port, current.proto, current.formats, tuple(attributes))
            )

    for line in lines[1:]:
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise SdpError(f"bad SDP line: {line[:40]!r}")
        key, value = line[0], line[2:]
        if any(ord(c) < 32 for c in value):
            raise SdpError("control character in SDP")
        if key == "m":
            close_media()
            current, attributes = _media(value), []
        elif key == "a":
            name, _, rest = value.partition(":")
            (attributes if current is not None else extra).append((name.strip(), rest.strip()))
        elif key in "ocstyfu" and (current is None or key in "yf" or key == "c"):
            if key == "c" and current is not None and "c" in values:
                continue  # a media-level c= beside the session's: the session's is used
            values[key] = value
        else:
            extra.append((key, value))
    close_media()
    if "o" not in values:
        raise SdpError("SDP has no o= line")
    origin = values["o"].split()
    if len(origin) != 6:
        raise SdpError("bad o= line")
    connection = (
        _address(values["c"], "c=") if "c" in values else _address(" ".join(origin[3:6]), "o=")
    )
    start = stop = 0
    if "t" in values:
        times = values["t"].split()
        if len(times) != 2 or not all(t.isdigit() for t in times):
            raise SdpError("bad t= line")
        start, stop = int(times[0]), int(times[1])
    ssrc = values.get("y", "").strip()
    if ssrc and not _SSRC.fullmatch(ssrc):
        raise SdpError("y= must be ten digits")
    if not media:
        raise SdpError("SDP has no m= line")
    return SessionDescription(
        origin_user=origin[0],
        origin_address=_address(" ".join(origin[3:6]), "o="),
        session_name=values.get("s", "").strip(),
        connection_address=connection,
        media=tuple(media),
        start_time=start,
        stop_time=stop,
        ssrc=ssrc,
        media_description=values.get("f", "").strip(),
        uri=values.get("u", "").strip(),
        extra=tuple(extra),
    )


def build(description: SessionDescription) -> bytes:
    """The text of an SDP (CRLF lines, the GB/T 28181 order: y= and f= last)."""
    family = "IP6" if ":" in description.connection_address else "IP4"
    origin_family = "IP6" if ":" in description.origin_address else "IP4"
    lines = [
        "v=0",
        f"o={description.origin_user} 0 0 IN {origin_family} {description.origin_address}",
        f"s={description.session_name}",
    ]
    if description.uri:
        lines.append(f"u={description.uri}")
    lines.append(f"c=IN {family} {description.connection_address}")
    lines.append(f"t={description.start_time} {description.stop_time}")
    for m in description.media:
        lines.append(f"m={m.kind} {m.port} {m.proto} {' '.join(m.formats)}")
        lines.extend(f"a={k}:{v}" if v else f"a={k}" for k, v in m.attributes)
    if description.ssrc:
        lines.append(f"y={description.ssrc}")
    if description.media_description or description.ssrc:
        lines.append(f"f={description.media_description}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def offer(
    *,
    platform_id: str,
    address: str,
    port: int,
    ssrc: str,
    session_name: str = "Play",
    tcp_setup: str = "",
    uri: str = "",
    start_time: int = 0,
    stop_time: int = 0,
    download_speed: int = 0,
) -> bytes:
    """The platform's INVITE body: receive PS (96), H.264 (98) or MPEG-4 (97) on
    ``address:port``; ``tcp_setup`` ``passive`` (we listen) or ``active`` (we connect)
    asks for RTP over TCP (RFC 4571 framing); ``download_speed`` (s=Download) asks the
    device to send the recording that many times faster (``a=downloadspeed:``)."""
    if session_name not in SESSION_NAMES:
        raise SdpError(f"unknown session name {session_name!r}")
    if not _SSRC.fullmatch(ssrc):
        raise SdpError("SSRC must be ten digits")
    attributes = [
        ("recvonly", ""),
        ("rtpmap", "96 PS/90000"),
        ("rtpmap", "98 H264/90000"),
        ("rtpmap", "97 MPEG4/90000"),
    ]
    proto = "RTP/AVP"
    if tcp_setup:
        if tcp_setup not in ("active", "passive"):
            raise SdpError("TCP setup must be active or passive")
        proto = "TCP/RTP/AVP"
        attributes += [("setup", tcp_setup), ("connection", "new")]
    if download_speed:
        if session_name != "Download" or not 1 <= download_speed <= 32:
            raise SdpError("a download speed is 1 to 32, for s=Download only")
        attributes.append(("downloadspeed", str(download_speed)))
    return build(
        SessionDescription(
            origin_user=platform_id,
            origin_address=address,
            session_name=session_name,
            connection_address=address,
            media=(Media("video", port, proto, ("96", "98", "97"), tuple(attributes)),),
            start_time=start_time,
            stop_time=stop_time,
            ssrc=ssrc,
            uri=uri,
        )
    )


def answer(
    *,
    channel_id: str,
    address: str,
    port: int,
    ssrc: str,
    session_name: str = "Play",
    tcp_setup: str = "",
) -> bytes:
    """A device's 200 OK body (the simulator's cameras): PS on 96, sent from here."""
    proto = "TCP/RTP/AVP" if tcp_setup else "RTP/AVP"
    attributes = [("sendonly", ""), ("rtpmap", "96 PS/90000")]
    if tcp_setup:
        attributes += [("setup", tcp_setup), ("connection", "new")]
    return build(
        SessionDescription(
            origin_user=channel_id,
            origin_address=address,
            session_name=session_name,
            connection_address=address,
            media=(Media("video", port, proto, ("96",), tuple(attributes)),),
            ssrc=ssrc,
            media_description="v/2/4///a///",
        )
    )
