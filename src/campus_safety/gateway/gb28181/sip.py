"""SIP messages (RFC 3261), the subset GB/T 28181 devices speak: parse and build.

Pure: bytes in, bytes out, no I/O and no Django, so every rule here is tested on bytes
alone. Anything malformed raises ``SipParseError`` and nothing else; its ``partial``
carries whatever request headers could be read so the server can still answer 400.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

MAX_MESSAGE_BYTES = 64 * 1024
MAX_HEADERS = 128
SIP_VERSION = "SIP/2.0"
BRANCH_COOKIE = "z9hG4bK"  # RFC 3261 8.1.1.7: branches of compliant peers start with it

# RFC 3261 7.3.3 compact forms (and the RFC 3265/3515/4028 ones devices also use).
COMPACT_FORMS = {
    "v": "Via",
    "f": "From",
    "t": "To",
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "e": "Content-Encoding",
    "k": "Supported",
    "s": "Subject",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Expires",
        "Max-Forwards",
        "Content-Type",
        "Content-Length",
        "Content-Encoding",
        "Authorization",
        "WWW-Authenticate",
        "User-Agent",
        "Server",
        "Date",
        "Allow",
        "Supported",
        "Subject",
        "Event",
        "Min-Expires",
        "Route",
        "Record-Route",
        "Accept",
    )
}

REASONS = {
    100: "Trying",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    423: "Interval Too Brief",
    481: "Transaction Does Not Exist",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    513: "Message Too Large",
}

_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# _CONTROL but for LF and CR, over a head's raw bytes: no match means no header value has
# a control character (one scan instead of one per line). Exact for UTF-8 and GB18030,
# whose multi-byte sequences never contain these bytes; a bare CR is refused anyway.
_CONTROL_IN_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]{1,10}")
_REQUIRED_REQUEST_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")


class SipParseError(ValueError):
    """The one error for malformed SIP; ``reason`` is short and safe in a reason phrase."""

    def __init__(self, reason: str, partial: SipRequest | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial


@dataclass(frozen=True)
class SipUri:
    """sip:user@host:port;params — only the parts GB/T 28181 needs."""

    scheme: str
    user: str
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class NameAddr:
    """A From/To/Contact value: display name, URI and header parameters (tag, expires)."""

    display: str
    uri: SipUri
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")


@dataclass(frozen=True)
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class CSeq:
    number: int
    method: str


class cached_property:  # a drop-in for functools.cached_property
    """Like ``functools.cached_property`` without its per-access lock (Python 3.11): a
    message is parsed and read on one thread, and every keepalive reads five of these."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.function(instance)
        instance.__dict__[self.name] = value
        return value


@dataclass(frozen=True)
class _Message:
    """Headers in arrival order with canonical names; parsed values are cached on first
    use (a keepalive's From is read by several steps, parsed once)."""

    headers: tuple[tuple[str, str], ...]
    body: bytes

    @cached_property
    def _index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for key, value in self.headers:
            index.setdefault(key.lower(), []).append(value)
        return index

    def header(self, name: str) -> str | None:
        """First value of a header (full or compact name, any case)."""
        values = self._index.get(_key(name))
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return list(self._index.get(_key(name), ()))

    @property
    def call_id(self) -> str:
        return self.header("Call-ID") or ""

    @cached_property
    def cseq(self) -> CSeq:
        return parse_cseq(self.header("CSeq") or "")

    @cached_property
    def vias(self) -> list[Via]:
        return [parse_via(v) for line in self.header_values("Via") for v in split_list(line)]

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise SipParseError("missing Via")
        return vias[0]

    @cached_property
    def from_(self) -> NameAddr:
        return parse_name_addr(self.header("From") or "")

    @cached_property
    def to(self) -> NameAddr:
        return parse_name_addr(self.header("To") or "")

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class SipRequest(_Message):
    method: str = ""
    uri: str = ""

    @cached_property
    def expires(self) -> int | None:
        """Requested expiry: the Expires header, else the first Contact's expires param."""
        value = self.header("Expires")
        if value is None:
            contact = self.header("Contact")
            if contact and contact.strip() != "*":
                value = parse_name_addr(split_list(contact)[0]).params.get("expires")
        if value is None:
            return None
        value = value.strip()
        if not _DIGITS.fullmatch(value):
            raise SipParseError("bad Expires")
        return int(value)


@dataclass(frozen=True)
class SipResponse(_Message):
    status: int = 0
    reason: str = ""


@functools.lru_cache(maxsize=256)
def _key(name: str) -> str:
    lower = name.lower()
    return COMPACT_FORMS[lower].lower() if lower in COMPACT_FORMS else lower


@functools.lru_cache(maxsize=1024)
def canonical_name(name: str) -> str:
    """Full, conventionally capitalised header name (compact forms expanded)."""
    lower = name.lower()
    if lower in COMPACT_FORMS:
        return COMPACT_FORMS[lower]
    if lower in _CANONICAL:
        return _CANONICAL[lower]
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


# --- parsing ----------------------------------------------------------------------------


def parse_message(data: bytes, *, max_size: int = MAX_MESSAGE_BYTES) -> SipRequest | SipResponse:
    """Parse one datagram (or one framed stream message) into a request or response.

    UDP rules (RFC 3261 18.3): a Content-Length larger than the body is an error, bytes
    beyond it are discarded; without Content-Length the body is the rest of the datagram.
    """
    data = bytes(data)
    if len(data) > max_size:
        raise SipParseError("message too large", partial=_salvage(data[:max_size]))
    data = data.lstrip(b"\r\n")  # RFC 3261 7.5: ignore CRLFs before the start line
    head, body = _split_head(data)
    lines = _head_lines(head)
    start = lines[0]
    clean = _CONTROL_IN_HEAD.search(head) is None
    if start.upper().startswith("SIP/"):
        status, reason = _parse_status_line(start)
        headers, index = _parse_headers(lines, None, clean)
        response = _new_message(
            SipResponse, headers, _body(index, body, None), index, status=status, reason=reason
        )
        for name in ("via", "cseq", "call-id"):
            if name not in index:
                raise SipParseError(f"missing {_CANONICAL[name]}")
        _check_common(response, None)
        return response
    method, uri = _parse_request_line(start)
    headers, index = _parse_headers(lines, (method, uri), clean)
    request = _new_message(
        SipRequest,
        headers,
        _body(index, body, (headers, method, uri)),
        index,
        method=method,
        uri=uri,
    )
    for name in _REQUIRED_REQUEST_HEADERS:
        if name.lower() not in index:
            raise SipParseError(f"missing {name}", partial=_partial(headers, method, uri))
    _check_common(request, (headers, method, uri))
    try:  # validate now (and cache), so handlers never meet a bad one
        _ = request.from_, request.to, request.expires
    except SipParseError as exc:
        raise SipParseError(exc.reason, partial=_partial(headers, method, uri)) from None
    if request.cseq.method != method and method not in ("ACK", "CANCEL"):
        raise SipParseError("CSeq method does not match", partial=_partial(headers, method, uri))
    return request


_new_object = object.__new__
_M = TypeVar("_M", bound="_Message")
_T = TypeVar("_T")


def _new_message(
    cls: type[_M],
    headers: tuple[tuple[str, str], ...],
    body: bytes,
    index: dict[str, list[str]],
    **fields: Any,
) -> _M:
    """A parsed message with its header index already in place; built without the
    frozen dataclass's per-field ``object.__setattr__`` (every datagram makes one)."""
    message = _new_object(cls)
    message.__dict__.update(fields, headers=headers, body=body, _index=index)
    return message


def _partial(headers: tuple[tuple[str, str], ...], method: str, uri: str) -> SipRequest:
    """The request as far as it was read, for addressing a 400 (built only on error)."""
    return SipRequest(headers=headers, body=b"", method=method, uri=uri)


def _check_common(message: _Message, read: tuple | None) -> None:
    try:
        _ = message.cseq, message.vias
    except SipParseError as exc:
        raise SipParseError(exc.reason, partial=read and _partial(*read)) from None
    call_id = message.call_id
    if not call_id or len(call_id) > 256 or " " in call_id.strip():
        raise SipParseError("bad Call-ID", partial=read and _partial(*read))


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return data[:crlf], data[crlf + 4 :]
    if lf >= 0:
        return data[:lf], data[lf + 2 :]
    return data, b""


def _head_lines(head: bytes) -> list[str]:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:  # some devices put GBK display names in From/To
            text = head.decode("gb18030")
        except UnicodeDecodeError:
            raise SipParseError("headers are neither UTF-8 nor GB18030") from None
    text = text.replace("\r\n", "\n")
    if "\r" in text:
        raise SipParseError("bare CR in headers")
    if not text:
        raise SipParseError("empty message")
    return text.split("\n")


def _parse_request_line(line: str) -> tuple[str, str]:
    parts = line.split(" ")
    if len(parts) != 3:
        raise SipParseError("malformed request line")
    method, uri, version = parts
    if not _TOKEN.fullmatch(method) or method.upper() != method:
        raise SipParseError("malformed method")
    if version.upper() != SIP_VERSION:
        raise SipParseError("unsupported SIP version")
    if not uri or _CONTROL.search(uri) or "\t" in uri or ":" not in uri:
        raise SipParseError("malformed Request-URI")
    return method, uri


def _parse_status_line(line: str) -> tuple[int, str]:
    parts = line.split(" ", 2)
    if len(parts) < 2 or parts[0].upper() != SIP_VERSION:
        raise SipParseError("malformed status line")
    code = parts[1]
    if len(code) != 3 or not code.isascii() or not code.isdigit() or code[0] not in "123456":
        raise SipParseError("malformed status code")
    reason = parts[2] if len(parts) == 3 else ""
    if _CONTROL.search(reason):
        raise SipParseError("malformed reason phrase")
    return int(code), reason


# header names as sent (before the colon) → (canonical, lower-case canonical)
_HEADER_NAMES: dict[str, tuple[str, str]] = {}
_MAX_HEADER_NAMES = 1024  # learnt from clean messages; garbage cannot grow it beyond this


def _parse_headers(
    lines: Sequence[str], read: tuple[str, str] | None, clean: bool = False
) -> tuple[tuple[tuple[str, str], ...], dict[str, list[str]]]:
    """Header lines (after the start line) → (headers in order, index by lower-case
    name). ``read`` (method, URI) makes errors carry a partial request; ``clean`` says
    the head has no control character, so values need no check of their own."""
    headers: list[tuple[str, str]] = []

    def fail(reason: str) -> SipParseError:
        if read is None:
            return SipParseError(reason)
        # only clean headers go into the partial request that addresses the 400
        done = tuple((name, value) for name, value in headers if not _CONTROL.search(value))
        return SipParseError(
            reason, partial=SipRequest(headers=done, body=b"", method=read[0], uri=read[1])
        )

    names = _HEADER_NAMES
    index: dict[str, list[str]] = {}
    for position in range(1, len(lines)):
        line = lines[position]
        if line[:1] in (" ", "\t"):  # RFC 3261 7.3.1: folded continuation line
            if not headers:
                raise fail("continuation line before any header")
            name, value = headers[-1]
            value = (value + " " + line.strip(" \t")).strip()
            headers[-1] = (name, value)
            index[name.lower()][-1] = value  # the last of its name is the folded one
            continue
        if len(headers) >= MAX_HEADERS:
            raise fail("too many headers")
        name, colon, value = line.partition(":")
        known = names.get(name) if colon else None
        if known is None:
            stripped = name.rstrip(" \t")
            if not colon or not _TOKEN.fullmatch(stripped):
                raise fail("malformed header line")
            canonical = canonical_name(stripped)
            known = (canonical, canonical.lower())
            if len(names) < _MAX_HEADER_NAMES:
                names[name] = known
        value = value.strip(" \t")
        headers.append((known[0], value))
        values = index.get(known[1])
        if values is None:
            index[known[1]] = [value]
        else:
            values.append(value)
    if not clean:
        for name, value in headers:
            if _CONTROL.search(value):
                raise fail(f"control character in {name}")
    return tuple(headers), index


def _body(index: dict[str, list[str]], body: bytes, read: tuple | None) -> bytes:
    lengths = index.get("content-length")
    if not lengths:
        return body
    values = {value.strip() for value in lengths}
    if len(values) > 1:
        raise SipParseError("conflicting Content-Length", partial=read and _partial(*read))
    (value,) = values
    if not _DIGITS.fullmatch(value):
        raise SipParseError("bad Content-Length", partial=read and _partial(*read))
    length = int(value)
    if length > len(body):
        raise SipParseError("Content-Length exceeds body", partial=read and _partial(*read))
    return body[:length]


def _salvage(head_bytes: bytes) -> SipRequest | None:
    """Best-effort request headers from a message we refuse, to address a 400."""
    head, _ = _split_head(head_bytes.lstrip(b"\r\n"))
    try:
        lines = _head_lines(head)
        method, uri = _parse_request_line(lines[0])
    except SipParseError:
        return None
    kept = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        name = name.strip(" \t")
        if colon and _TOKEN.fullmatch(name) and not _CONTROL.search(value):
            kept.append((canonical_name(name), value.strip(" \t")))
    return SipRequest(headers=tuple(kept), body=b"", method=method, uri=uri)


def frame_length(buffer: bytes, *, max_size: int = MAX_MESSAGE_BYTES) -> int | None:
    """Length of the first whole message in a TCP stream buffer, or None to read more.

    RFC 3261 18.3: on a stream Content-Length is mandatory and is the only framing.
    """
    crlf = buffer.find(b"\r\n\r\n")
    lf = buffer.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        head_end = crlf + 4
    elif lf >= 0:
        head_end = lf + 2
    else:
        if len(buffer) > max_size:
            raise SipParseError("message too large", partial=_salvage(buffer[:max_size]))
        return None
    head = buffer[:head_end]
    lengths = set()
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip(b" \t").lower() in (b"content-length", b"l"):
            lengths.add(value.strip(b" \t\r"))
    if len(lengths) != 1:
        reason = "missing Content-Length" if not lengths else "conflicting Content-Length"
        raise SipParseError(reason, partial=_salvage(head))
    (value,) = lengths
    if not re.fullmatch(rb"[0-9]{1,10}", value):
        raise SipParseError("bad Content-Length", partial=_salvage(head))
    total = head_end + int(value)
    if total > max_size:
        raise SipParseError("message too large", partial=_salvage(head))
    return total if len(buffer) >= total else None


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, respecting quotes and <...>."""
    if '"' not in value and "<" not in value:  # the common case, e.g. every Via
        parts = [part.strip() for part in value.split(",")]
        if not all(parts):
            raise SipParseError("malformed header list")
        return parts
    parts, current, quoted, angled, escaped = [], [], False, False, False
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            angled = True
        elif not quoted and char == ">":
            angled = False
        elif char == "," and not quoted and not angled:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    if quoted or any(not part for part in parts):
        raise SipParseError("malformed header list")
    return parts


_WORD = r"[A-Za-z0-9\-.!%*_+`'~]+"
# parameters as devices write them: lower-case names, plain token values, no spaces,
# no quotes. What matches parses the same as through the general loop, only faster.
_PLAIN_PARAMS = re.compile(
    rf"[a-z0-9\-.!%*_+`'~]+(?:={_WORD})?(?:;[a-z0-9\-.!%*_+`'~]+(?:={_WORD})?)*"
)


def _parse_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    if not text:
        return params
    if _PLAIN_PARAMS.fullmatch(text):
        for item in text.split(";"):
            name, eq, value = item.partition("=")
            params[name] = value if eq else None
        return params
    for item in text.split(";"):
        item = item.strip()
        if not item:
            raise SipParseError("empty parameter")
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if not _TOKEN.fullmatch(name):
            raise SipParseError("malformed parameter")
        value = value.strip()
        if eq and value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        params[name] = value if eq else None
    return params


def _frozen(cls: type[_T], **fields: Any) -> _T:
    """A frozen dataclass instance from all its fields, without the per-field
    ``object.__setattr__`` of its ``__init__`` (several per parsed message)."""
    instance = _new_object(cls)
    instance.__dict__.update(fields)
    return instance


_URI_HOST = re.compile(r"[A-Za-z0-9.\-_:%]+")
_URI_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+")
_VIA_HOST = re.compile(r"[A-Za-z0-9.\-_:]+")


def parse_uri(text: str) -> SipUri:
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        raise SipParseError("unsupported URI")
    rest = rest.split("?", 1)[0]
    user = ""
    if "@" in rest:
        user, rest = rest.rsplit("@", 1)
        user = user.split(":", 1)[0]  # drop a password in the userinfo
    hostport, _, param_text = rest.partition(";")
    if hostport.startswith("["):
        host, bracket, port_text = hostport[1:].partition("]")
        if not bracket or (port_text and not port_text.startswith(":")):
            raise SipParseError("malformed URI host")
        port_text = port_text[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not host or not _URI_HOST.fullmatch(host):
        raise SipParseError("malformed URI host")
    if user and not _URI_USER.fullmatch(user):
        raise SipParseError("malformed URI user")
    return _frozen(
        SipUri,
        scheme=scheme.lower(),
        user=user,
        host=host,
        port=_parse_port(port_text),
        params=_parse_params(param_text),
    )


def _parse_port(text: str) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 65536:
        raise SipParseError("malformed port")
    return int(text)


# <sip:user@host[:port]>[;tag=…], how GB/T 28181 devices write From and To: parsed by
# one match. Anything else (display names, parameters in the URI, …) takes the full path.
_PLAIN_NAME_ADDR = re.compile(
    rf"<sip:([0-9A-Za-z]+)@([A-Za-z0-9.\-]+)(?::([0-9]{{1,5}}))?>(?:;tag=({_WORD}))?"
)
_NAME_ADDRS: dict[str, NameAddr] = {}  # value → parsed: every To to us is the same
_MAX_NAME_ADDRS = 4096


def parse_name_addr(value: str) -> NameAddr:
    """``"Name" <sip:u@h>;tag=x`` or ``sip:u@h;tag=x`` (params then belong to the header).

    Results are shared between messages that carry the same value: read-only."""
    cached = _NAME_ADDRS.get(value)
    if cached is not None:
        return cached
    match = _PLAIN_NAME_ADDR.fullmatch(value)
    port = match and match.group(3)
    if match and (port is None or 0 < int(port) < 65536):
        tag = match.group(4)
        uri = _frozen(
            SipUri,
            scheme="sip",
            user=match.group(1),
            host=match.group(2),
            port=None if port is None else int(port),
            params={},
        )
        result = _frozen(NameAddr, display="", uri=uri, params={} if tag is None else {"tag": tag})
    else:
        result = _parse_name_addr(value)
    if len(_NAME_ADDRS) >= _MAX_NAME_ADDRS:
        _NAME_ADDRS.clear()
    _NAME_ADDRS[value] = result
    return result


def _parse_name_addr(value: str) -> NameAddr:
    value = value.strip()
    if not value:
        raise SipParseError("empty address")
    if "<" in value:
        display, _, rest = value.partition("<")
        uri_text, closing, param_text = rest.partition(">")
        if not closing:
            raise SipParseError("unclosed <")
        display = display.strip()
        if display.startswith('"'):
            if len(display) < 2 or not display.endswith('"'):
                raise SipParseError("malformed display name")
            display = display[1:-1]
        param_text = param_text.strip()
        if param_text and not param_text.startswith(";"):
            raise SipParseError("malformed address parameters")
        return NameAddr(display, parse_uri(uri_text), _parse_params(param_text[1:]))
    uri_text, _, param_text = value.partition(";")
    return NameAddr("", parse_uri(uri_text), _parse_params(param_text))


_VIA = re.compile(
    r"SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+([^;]+?)\s*(?:;(.*))?",
    re.IGNORECASE | re.DOTALL,
)


def parse_via(value: str) -> Via:
    """``SIP/2.0/UDP host:port;branch=...`` (LWS allowed around the slashes)."""
    match = _VIA.fullmatch(value.strip())
    if not match:
        raise SipParseError("malformed Via")
    transport, sent_by, param_text = match.group(1).upper(), match.group(2), match.group(3)
    if sent_by.startswith("["):
        host, bracket, port_text = sent_by[1:].partition("]")
        if not bracket or (port_text and not port_text.startswith(":")):
            raise SipParseError("malformed Via host")
        port_text = port_text[1:]
    else:
        host, _, port_text = sent_by.partition(":")
    if not host or not _VIA_HOST.fullmatch(host):
        raise SipParseError("malformed Via host")
    return _frozen(
        Via,
        transport=transport,
        host=host,
        port=_parse_port(port_text.strip()),
        params=_parse_params(param_text or ""),
    )


def parse_cseq(value: str) -> CSeq:
    parts = value.split()
    if len(parts) != 2:
        raise SipParseError("malformed CSeq")
    number, method = parts
    if not _DIGITS.fullmatch(number) or int(number) >= 2**31 or not _TOKEN.fullmatch(method):
        raise SipParseError("malformed CSeq")
    return _frozen(CSeq, number=int(number), method=method)


# --- building ---------------------------------------------------------------------------


def reason_phrase(status: int, detail: str | None = None) -> str:
    """Standard phrase, optionally with a short detail: ``Bad Request (missing CSeq)``."""
    phrase = REASONS.get(status, "Unknown")
    if detail:
        phrase = f"{phrase} ({detail})"
    return _CONTROL.sub(" ", phrase.replace("\t", " "))[:200]


def _header_lines(headers: Iterable[tuple[str, str]]) -> list[str]:
    headers = list(headers)
    lines = [f"{name}: {value}" for name, value in headers]
    if _CONTROL.search("".join(lines)):  # one scan for all; then find the culprit
        for name, value in headers:
            if _CONTROL.search(name) or _CONTROL.search(value):
                raise ValueError(f"control character in header {name}")
    return lines


_RPORT = re.compile(r";\s*rport(?=;|$)", re.IGNORECASE)


def top_via_with_received(line: str, via: Via, received: tuple[str, int] | None) -> str:
    """RFC 3261 18.2.1 / RFC 3581: record where the request really came from, in the
    first Via line (``via``: its first value, parsed)."""
    if received is None:
        return line
    values = split_list(line)
    top = values[0]
    wants_received = via.host != received[0] or "rport" in via.params
    if wants_received and "received" not in via.params:
        top = f"{top};received={received[0]}"
    if "rport" in via.params and via.params["rport"] is None:
        top = _RPORT.sub(f";rport={received[1]}", top, count=1)
    return ", ".join([top, *values[1:]])


def build_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    received: tuple[str, int] | None = None,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> bytes:
    """A response echoing Via, From, To (+ our tag), Call-ID and CSeq (RFC 3261 8.2.6)."""
    out: list[tuple[str, str]] = []
    first_via = True
    for name, value in request.headers:
        if name == "Via":
            if first_via:
                with contextlib.suppress(SipParseError):
                    value = top_via_with_received(value, request.top_via, received)
                first_via = False
            out.append((name, value))
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.header(name)
        if value is None:
            continue
        if name == "To" and to_tag and status > 100 and not _has_tag(request, value):
            value = f"{value};tag={to_tag}"
        out.append((name, value))
    out.extend(headers)
    if content_type:
        out.append(("Content-Type", content_type))
    out.append(("Content-Length", str(len(body))))
    phrase = reason if reason is not None else reason_phrase(status)
    phrase = _CONTROL.sub(" ", phrase.replace("\t", " "))
    head = "\r\n".join([f"{SIP_VERSION} {status} {phrase}", *_header_lines(out)])
    return head.encode("utf-8") + b"\r\n\r\n" + body


def _has_tag(request: SipRequest, value: str) -> bool:
    try:
        return request.to.tag is not None
    except SipParseError:
        return ";tag=" in value.lower()


def build_request(
    method: str,
    uri: str,
    *,
    via: str,
    from_: str,
    to: str,
    call_id: str,
    cseq: int,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
    max_forwards: int = 70,
) -> bytes:
    """One of our own requests (MESSAGE queries and alarm responses)."""
    out = [
        ("Via", via),
        ("From", from_),
        ("To", to),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
        ("Max-Forwards", str(max_forwards)),
        *headers,
    ]
    if content_type:
        out.append(("Content-Type", content_type))
    out.append(("Content-Length", str(len(body))))
    head = "\r\n".join([f"{method} {uri} {SIP_VERSION}", *_header_lines(out)])
    return head.encode("utf-8") + b"\r\n\r\n" + body
