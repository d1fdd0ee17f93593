"""MANSRTSP (GB/T 28181 Annex B): the RTSP-like text a platform sends in a SIP INFO to
pause, resume, seek or change the speed of a playback. Pure: text in, dataclass out,
and back; no I/O, no Django. The simulated cameras parse what the platform builds.

    PAUSE RTSP/1.0          PLAY RTSP/1.0           PLAY RTSP/1.0
    CSeq: 3                 CSeq: 4                 CSeq: 5
    PauseTime: now          Range: npt=120-         Scale: 2.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTENT_TYPE = "Application/MANSRTSP"
ACTIONS = ("pause", "resume", "seek", "speed")
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)  # what GB/T 28181 devices accept as Scale
MAX_BYTES = 512
_NPT = re.compile(r"npt=(now|[0-9]{1,7}(?:\.[0-9]{1,3})?)-")


class MansrtspError(ValueError):
    """The text or the request is not one this platform sends."""


@dataclass(frozen=True)
class Control:
    """One playback command: ``seek`` has ``position`` (seconds from the recording's
    start), ``speed`` has ``scale``."""

    action: str
    cseq: int
    position: float | None = None
    scale: float | None = None


def build(control: Control) -> bytes:
    if not 0 < control.cseq < 2**31:
        raise MansrtspError("CSeq out of range")
    if control.action == "pause":
        lines = ["PAUSE RTSP/1.0", f"CSeq: {control.cseq}", "PauseTime: now"]
    elif control.action == "resume":
        lines = ["PLAY RTSP/1.0", f"CSeq: {control.cseq}", "Range: npt=now-"]
    elif control.action == "seek":
        if control.position is None or not 0 <= control.position < 10**7:
            raise MansrtspError("a seek needs a position in seconds")
        lines = ["PLAY RTSP/1.0", f"CSeq: {control.cseq}", f"Range: npt={control.position:g}-"]
    elif control.action == "speed":
        if control.scale not in SPEEDS:
            raise MansrtspError(f"speed must be one of {SPEEDS}")
        lines = ["PLAY RTSP/1.0", f"CSeq: {control.cseq}", f"Scale: {control.scale:.2f}"]
    else:
        raise MansrtspError(f"unknown action {control.action!r}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def parse(data: bytes) -> Control:
    """What a device reads out of the INFO body (the simulator's cameras)."""
    if len(data) > MAX_BYTES:
        raise MansrtspError("body too long")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise MansrtspError("not ASCII") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise MansrtspError("empty body")
    method, _, version = lines[0].partition(" ")
    if version != "RTSP/1.0" or method not in ("PLAY", "PAUSE"):
        raise MansrtspError("not a MANSRTSP PLAY or PAUSE")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise MansrtspError("bad header line")
        headers[name.strip().lower()] = value.strip()
    cseq_text = headers.get("cseq", "")
    if not cseq_text.isdigit() or not 0 < int(cseq_text) < 2**31:
        raise MansrtspError("bad CSeq")
    cseq = int(cseq_text)
    if method == "PAUSE":
        return Control("pause", cseq)
    if "scale" in headers:
        try:
            scale = float(headers["scale"])
        except ValueError:
            raise MansrtspError("bad Scale") from None
        if scale not in SPEEDS:
            raise MansrtspError("unsupported Scale")
        return Control("speed", cseq, scale=scale)
    match = _NPT.fullmatch(headers.get("range", "npt=now-"))
    if match is None:
        raise MansrtspError("bad Range")
    if match.group(1) == "now":
        return Control("resume", cseq)
    return Control("seek", cseq, position=float(match.group(1)))
