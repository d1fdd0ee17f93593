"""MESSAGE requests as devices write them, read and answered without ``sip.parse_message``.

Keepalives are nearly all of a SIP gateway's traffic (a device every minute or so), and
the general parser builds a full ``SipRequest`` for each: every header into a tuple and
an index, every Via, From and To into objects, then ``build_response`` walks it all
again. Here one datagram is read in one pass over its lines, keeping only what a
keepalive needs (the Vias, From, To, Call-ID, CSeq, Content-Type and the body), and its
200 OK is joined from those values. It gives up (``read`` answers None, and the caller
takes the general path) on anything not plain: another method, a folded line, a byte
outside ASCII, a control character, Expires or Contact, a conflicting or bad
Content-Length, a header the general parser would refuse. Whatever it does not give up
on, it reads exactly as ``sip.parse_message`` does: the values are checked by the same
rules (a plain Via, From and To by the parser's own expressions for them, any other by
``parse_via`` and ``parse_name_addr``; the CSeq and Call-ID rules), and the answer is
the bytes ``sip.build_response`` makes (test_plain_message.py holds the two paths side
by side under hypothesis, whole servers included). Pure: bytes in, bytes out. The server
(``Gb28181Server._keepalive``) takes it only for a keepalive of a device registered from
the sender's address whose body the keepalive memo knows.

On this machine (bench/keepalive_peer.py, 20,000 devices, 6,000-16,000/s): 48-70 µs of
the all-in-one platform's CPU per keepalive (Kamailio 30-46 µs in the same runs), against
115-140 µs through the general path (Kamailio 36-40 µs); in process (the datagram handed
to ``Gb28181Server.receive``), ~21 µs against ~52 µs. The rest is the event loop and the
two system calls per datagram.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

from campus_safety.gateway.gb28181 import sip

_VIA, _FROM, _TO, _CALL_ID, _CSEQ, _LENGTH, _TYPE, _OTHER = range(8)
_GIVE_UP = -1  # Expires and Contact: the general parser reads an expiry from them
_KNOWN = {
    "via": _VIA,
    "from": _FROM,
    "to": _TO,
    "call-id": _CALL_ID,
    "cseq": _CSEQ,
    "content-length": _LENGTH,
    "content-type": _TYPE,
    "expires": _GIVE_UP,
    "contact": _GIVE_UP,
}
# header names as sent (before the colon, any case, compact or not) → what they are
_NAMES: dict[str, int] = {}
_MAX_NAMES = 1024
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_DIGITS = re.compile(r"[0-9]{1,10}")
_HEAD_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # sip._CONTROL_IN_HEAD
_PARAM = r"[a-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~]+)?"  # one of sip._PLAIN_PARAMS
# A Via as devices write it: what matches, ``sip.parse_via`` reads the same way (its
# host, port and plain parameters), only without its general expression
_PLAIN_VIA = re.compile(
    rf"SIP/2\.0/(UDP|TCP) ([A-Za-z0-9.\-]+)(?::([0-9]{{1,5}}))?;({_PARAM}(?:;{_PARAM})*)"
)


def _name(sent: str) -> int | None:
    """What a header name as sent is; None when the general parser refuses it."""
    stripped = sent.rstrip(" \t")
    if not _TOKEN.fullmatch(stripped):
        return None  # also a folded line: it starts with a space or a tab
    lower = stripped.lower()
    kind = _KNOWN.get(sip.COMPACT_FORMS[lower].lower() if lower in sip.COMPACT_FORMS else lower)
    kind = _OTHER if kind is None else kind
    if len(_NAMES) < _MAX_NAMES:
        _NAMES[sent] = kind
    return kind


class PlainMessage:
    """What a MESSAGE and its answer need, as ``sip.parse_message`` would read it."""

    __slots__ = (
        "body",
        "call_id",
        "content_type",
        "cseq",
        "cseq_number",
        "from_",
        "from_tag",
        "has_to_tag",
        "sender",
        "to",
        "top_via",
        "via_lines",
    )

    def __init__(self, *values: Any) -> None:  # in the order of __slots__
        (
            self.body,
            self.call_id,
            self.content_type,
            self.cseq,
            self.cseq_number,
            self.from_,
            self.from_tag,
            self.has_to_tag,
            self.sender,
            self.to,
            self.top_via,
            self.via_lines,
        ) = values

    body: bytes
    call_id: str
    content_type: str  # as ``SipRequest.content_type``: lower case, no parameters
    cseq: str  # the CSeq header as sent (stripped)
    cseq_number: int
    from_: str  # the From header as sent (stripped)
    from_tag: str | None
    has_to_tag: bool
    sender: str  # the user part of From's URI
    to: str
    top_via: sip.Via
    via_lines: list[str]  # every Via header, in order, as sent (stripped)

    def transaction_key(self, source: tuple[str, int]) -> Hashable:
        """``transactions.transaction_key`` of the same request."""
        via = self.top_via
        branch = via.branch or ""
        if branch.startswith(sip.BRANCH_COOKIE):
            return (branch, via.sent_by, self.cseq_number, "MESSAGE", source)
        return (
            self.call_id,
            self.from_tag,
            via.sent_by,
            branch,
            self.cseq_number,
            "MESSAGE",
            source,
        )

    def ok(self, to_tag: str, received: tuple[str, int], extra: str) -> bytes:
        """``sip.build_response(request, 200, to_tag=…, received=…, headers=…)``, where
        ``extra`` is the extra headers already joined (``"User-Agent: …\\r\\n"``)."""
        lines = self.via_lines
        top = sip.top_via_with_received(lines[0], self.top_via, received)
        vias = "".join([f"Via: {line}\r\n" for line in lines[1:]]) if len(lines) > 1 else ""
        to = self.to if self.has_to_tag else f"{self.to};tag={to_tag}"
        return (
            f"SIP/2.0 200 OK\r\nVia: {top}\r\n{vias}From: {self.from_}\r\nTo: {to}\r\n"
            f"Call-ID: {self.call_id}\r\nCSeq: {self.cseq}\r\n{extra}Content-Length: 0\r\n\r\n"
        ).encode()  # UTF-8: the User-Agent may not be ASCII


def read(data: bytes, max_size: int = sip.MAX_MESSAGE_BYTES) -> PlainMessage | None:
    """The MESSAGE in ``data`` if it is plain (see the module's docstring), else None:
    then ``sip.parse_message`` reads it, or refuses it, as always."""
    if data[:8] != b"MESSAGE " or len(data) > max_size:
        return None
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end]
    if not head.isascii() or _HEAD_CONTROL.search(head) is not None:
        return None
    lines = head.decode("ascii").split("\r\n")
    breaks = len(lines) - 1
    if head.count(b"\n") != breaks or head.count(b"\r") != breaks or breaks > sip.MAX_HEADERS:
        return None  # a bare LF or CR (the general parser splits or refuses there)
    if lines[0].count(" ") != 2:  # "MESSAGE", the URI, the version
        return None
    _, uri, version = lines[0].split(" ")
    if version != sip.SIP_VERSION or "\t" in uri or ":" not in uri:
        return None
    names = _NAMES
    via_lines: list[str] = []
    found: list[str | None] = [None] * 8
    length: str | None = None
    for line in lines[1:]:
        sent, colon, value = line.partition(":")
        if not colon:
            return None
        kind = names.get(sent)
        if kind is None:
            kind = _name(sent)
            if kind is None:
                return None
        if kind == _OTHER:
            continue
        if kind == _VIA:
            via_lines.append(value.strip(" \t"))
        elif kind == _LENGTH:  # every one the same (sip._body)
            value = value.strip()
            if length is None:
                length = value
            elif value != length:
                return None
        elif kind == _GIVE_UP:
            return None
        elif found[kind] is None:  # From, To, Call-ID, CSeq, Content-Type: the first
            found[kind] = value.strip(" \t")
    from_, to, call_id, cseq = found[_FROM], found[_TO], found[_CALL_ID], found[_CSEQ]
    if not via_lines or from_ is None or to is None or call_id is None or cseq is None:
        return None
    body = data[end + 4 :]
    if length is not None:
        if not _DIGITS.fullmatch(length) or int(length) > len(body):
            return None
        body = body[: int(length)]
    parts = cseq.split()
    if (
        len(parts) != 2
        or parts[1] != "MESSAGE"
        or not _DIGITS.fullmatch(parts[0])
        or int(parts[0]) >= 2**31
    ):
        return None
    if not call_id or len(call_id) > 256 or " " in call_id.strip():
        return None
    try:
        top_via = _plain_via(via_lines[0]) if len(via_lines) == 1 else None
        if top_via is None:
            vias = [
                sip.parse_via(value)
                for line in via_lines
                for value in (
                    [line] if "," not in line and '"' not in line else sip.split_list(line)
                )
            ]
            top_via = vias[0]
        sender, from_tag = _user_and_tag(from_)
        has_to_tag = _user_and_tag(to)[1] is not None
    except sip.SipParseError:
        return None
    content_type = found[_TYPE]
    return PlainMessage(
        body,
        call_id,
        (content_type or "").split(";")[0].strip().lower(),
        cseq,
        int(parts[0]),
        from_,
        from_tag,
        has_to_tag,
        sender,
        to,
        top_via,
        via_lines,
    )


_new_via = object.__new__


def _plain_via(value: str) -> sip.Via | None:
    """``sip.parse_via(value)`` for a plain Via, else None (then that parses it)."""
    match = _PLAIN_VIA.fullmatch(value)
    if match is None:
        return None
    port = match.group(3)
    if port is not None and not 0 < int(port) < 65536:
        return None
    params: dict[str, str | None] = {}
    for item in match.group(4).split(";"):
        name, eq, param = item.partition("=")
        params[name] = param if eq else None
    via = _new_via(sip.Via)  # frozen: filled as sip._frozen does
    via.__dict__.update(
        transport=match.group(1),
        host=match.group(2),
        port=None if port is None else int(port),
        params=params,
    )
    return via


def _user_and_tag(value: str) -> tuple[str, str | None]:
    """The URI's user and the tag of ``sip.parse_name_addr(value)``. A device's From is
    its own (a tag per device, or per request): the parser's cache of name-addresses
    would only churn with it, so the plain form it reads with one expression is read
    here with the same one, and other forms go to the parser."""
    known = sip._NAME_ADDRS.get(value)
    if known is None:
        match = sip._PLAIN_NAME_ADDR.fullmatch(value)
        port = match and match.group(3)
        if match and (port is None or 0 < int(port) < 65536):
            return match.group(1), match.group(4)
        known = sip.parse_name_addr(value)
    return known.uri.user, known.tag
