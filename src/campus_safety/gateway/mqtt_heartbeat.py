"""The MQTT keepalive fast path's check: is this heartbeat body certainly valid?

At thousands of keepalives a second per consumer, building a ``DeviceMessage`` for each
heartbeat (a fresh JSON decoder, the field checks, a dataclass, a trip through
``ingest_batch``) cost about as much as the rest of the consumer. A heartbeat writes no
row: once its body is valid, all that is left is "is the device known, and does it
speak MQTT" and a last-seen time in memory.

``is_valid_heartbeat`` answers True only for a body that ``ingest.parse_json_event``
accepts as a heartbeat (ARCHITECTURE.md §5, docs/devices.md): empty, or a UTF-8 JSON
object within the size limit whose ``event_id`` (optional) is 1–64 characters without
control characters, whose ``ts`` (optional) is RFC 3339 with an offset, and whose
``device_id`` (optional) is the sender's. Anything it is not sure of — another type
where the contract allows one, another encoding, any error — is False, and the caller
takes the full path, which gives the same answer and its reason. Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
import json
import re

_CONTROL = re.compile(r"[\x00-\x1f]")
# What devices send (the simulator, docs/devices.md): {"event_id": "…", "ts": "…"} with
# JSON's own spacing, an ASCII event ID with nothing to unescape (no quote, backslash or
# control character) and a time made of digits and separators. A body that matches is a
# JSON object with just these two keys and these two strings, so it is checked without
# decoding; any other body is decoded.
_USUAL = re.compile(
    rb'\{[ \t\n\r]*"event_id"[ \t\n\r]*:[ \t\n\r]*"([\x20\x21\x23-\x5b\x5d-\x7e]{1,64})"'
    rb'[ \t\n\r]*,[ \t\n\r]*"ts"[ \t\n\r]*:[ \t\n\r]*"([0-9T:.+\-Z]{10,40})"[ \t\n\r]*\}[ \t\n\r]*'
)


def _no_constants(name: str) -> None:
    raise ValueError(f"JSON {name} is not allowed")


_DECODE = json.JSONDecoder(parse_constant=_no_constants).decode  # one decoder, reused


def is_valid_heartbeat(device_id: str, body: bytes, limit: int) -> bool:
    """True if ``body`` is certainly a valid heartbeat from ``device_id`` (at most
    ``limit`` bytes); False means "take the full path", not necessarily "invalid"."""
    if not body.strip():
        return True
    # '{' then a non-NUL byte: what json.loads would decode as UTF-8 (not UTF-16/32)
    if len(body) > limit or body[:1] != b"{" or body[1:2] == b"\x00":
        return False
    usual = _USUAL.fullmatch(body)
    if usual is not None:
        return _is_aware_time(usual[2].decode())
    try:
        data = _DECODE(body.decode())
    except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
        return False
    if type(data) is not dict:
        return False
    claimed = data.get("device_id")
    if claimed is not None and claimed != device_id:
        return False
    if "event_id" in data:
        event_id = data["event_id"]
        if type(event_id) is not str or not 1 <= len(event_id) <= 64:
            return False
        if _CONTROL.search(event_id):
            return False
    if "ts" in data:
        ts = data["ts"]
        if type(ts) is not str or not 10 <= len(ts) <= 40 or not _is_aware_time(ts):
            return False
    return True


def _is_aware_time(ts: str) -> bool:
    """RFC 3339 with an offset, as ``ingest.parse_timestamp`` reads it."""
    try:
        parsed = dt.datetime.fromisoformat(ts)
    except ValueError:
        return False
    return parsed.tzinfo is not None and parsed.utcoffset() is not None
