"""MANSCDP+xml bodies (GB/T 28181 Annex A): Query / Control / Notify / Response.

Untrusted XML goes through defusedxml only (no DTD, no entities), after we decode the
bytes ourselves: devices declare GB2312 but send GBK or UTF-8 as often as not. Every
failure is a ``ManscdpError``. Pure: no I/O, no Django.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

CONTENT_TYPE = "Application/MANSCDP+xml"
MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 12
MAX_ELEMENTS = 10_000
MAX_TEXT = 1024  # longest field text we keep (names, addresses are far shorter)
MAX_SUM_NUM = 1_000_000
ROOTS = ("Query", "Control", "Notify", "Response")

_DECLARATION = re.compile(
    rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._\-]{1,40})[\"']", re.IGNORECASE
)
_DECLARATION_TEXT = re.compile(r"^\s*<\?xml[^>]{0,300}\?>")
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "x-gbk", "euc-cn", "hz-gb-2312"}
_UTF8 = {"utf-8", "utf8"}
_ID = re.compile(r"[0-9A-Za-z_\-.]{1,64}")
_TIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
)


class ManscdpError(ValueError):
    """The one error for a MANSCDP body we cannot read."""


@dataclass(frozen=True)
class Node:
    """An element with its children: a plain, immutable copy of the parsed XML."""

    tag: str
    text: str
    children: tuple[Node, ...] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)

    def child(self, name: str) -> Node | None:
        index = self.__dict__.get("_first")
        if index is None:  # the first child of each name, by lower-case name
            index = {}
            for c in reversed(self.children):
                index[c.tag.lower()] = c
            self.__dict__["_first"] = index
        return index.get(name.lower())

    def children_named(self, name: str) -> list[Node]:
        lower = name.lower()
        return [c for c in self.children if c.tag.lower() == lower]

    def text_of(self, name: str) -> str | None:
        node = self.child(name)
        return None if node is None else node.text


_new_object = object.__new__


@dataclass(frozen=True, kw_only=True)
class Message:
    """Any MANSCDP body: the four fields every one carries, plus its top-level leaves."""

    root: str
    cmd_type: str
    sn: int
    device_id: str
    fields: Mapping[str, str] = field(default_factory=dict)
    tree: Node | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class Keepalive(Message):
    status: str = ""


@dataclass(frozen=True, kw_only=True)
class CatalogItem:
    """One channel or node of a device's catalog (GB/T 28181 A.2.6.4)."""

    device_id: str
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    owner: str = ""
    civil_code: str = ""
    address: str = ""
    parental: bool | None = None
    parent_id: str = ""
    status: str = ""
    longitude: float | None = None
    latitude: float | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CatalogResponse(Message):
    sum_num: int
    items: tuple[CatalogItem, ...] = ()
    invalid_items: int = 0  # Item elements without a usable DeviceID


@dataclass(frozen=True, kw_only=True)
class DutyStatus:
    device_id: str
    duty_status: str  # ONDUTY / OFFDUTY / ALARM


@dataclass(frozen=True, kw_only=True)
class DeviceStatusResponse(Message):
    result: str = ""
    online: str = ""  # ONLINE / OFFLINE
    status: str = ""
    reason: str = ""
    encode: str = ""
    record: str = ""
    device_time: str = ""
    alarm_status: tuple[DutyStatus, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DeviceInfoResponse(Message):
    result: str = ""
    device_name: str = ""
    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    channel: int | None = None


@dataclass(frozen=True, kw_only=True)
class AlarmNotify(Message):
    """An alarm (报警通知). Lenient on everything but its device: an alarm is never
    dropped for a badly written priority, coordinate, SN or description (GB 50394
    5.2.2: no missed alarms); what had to be cleaned is listed in ``repairs``."""

    priority: int | None = None  # 1 highest … 4
    method: int | None = None  # 1 telephone, 2 device, … 7 other
    alarm_time: str = ""  # as sent: part of the event ID
    occurred_at: dt.datetime | None = None  # naive, device local time
    description: str = ""
    longitude: float | None = None
    latitude: float | None = None
    alarm_type: str = ""
    info: Mapping[str, str] = field(default_factory=dict)
    sn_text: str = ""  # the SN as sent when it is not 1–18 digits (echoed in the Response)
    repairs: tuple[str, ...] = ()  # what was cleaned to read it (the raw body is kept)


# --- decoding and parsing ----------------------------------------------------------------


def _looks_like_utf8_chinese(text: str) -> bool:
    """True when every non-ASCII character is CJK or CJK punctuation: what a UTF-8 body
    mislabelled GB2312 decodes to. GB bytes that happen to be valid UTF-8 (露 = C2 B6
    reads as ¶) decode to Latin/Greek/Cyrillic instead, and must not win."""
    if text.isascii():  # keepalives and most bodies: no per-character walk
        return True
    return all(
        ord(ch) < 0x80
        or 0x2E80 <= ord(ch) <= 0x9FFF
        or 0xF900 <= ord(ch) <= 0xFAFF
        or 0xFF00 <= ord(ch) <= 0xFFEF
        or ch in "\u00b7\u2014\u2026\u201c\u201d"
        for ch in text
    )


def decode_body(data: bytes) -> str:
    """Bytes to text: BOM, then UTF-8, then the declared encoding, then GB18030.

    A UTF-8 body labelled GB2312 is common in the field, so valid UTF-8 wins over a GB
    declaration when it decodes to Chinese; otherwise the declaration is believed.
    GB2312/GBK declarations decode as GB18030, their superset.
    """
    data = bytes(data)
    if len(data) > MAX_BODY_BYTES:
        raise ManscdpError("body too large")
    if data.isascii():  # the common case, whatever the declaration says
        return data.decode("ascii")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ManscdpError("undecodable UTF-16 body") from None
    match = _DECLARATION.match(data)
    declared = match.group(1).decode("ascii").lower() if match else ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if declared not in _GB_FAMILY or _looks_like_utf8_chinese(text):
            return text
    codec = "gb18030" if declared in _GB_FAMILY else None
    if declared in {"iso-8859-1", "latin1", "latin-1"}:
        codec = "latin-1"
    for candidate in (codec, "gb18030"):
        if candidate:
            try:
                return data.decode(candidate)
            except UnicodeDecodeError:
                continue
    return data.decode("utf-8", errors="replace")


def parse_tree(data: bytes) -> Node:
    """Decode and parse with defusedxml (no DTD, no entities) into a ``Node`` tree."""
    return _parse_text(decode_body(data))


def _parse_text(text: str) -> Node:
    text = _DECLARATION_TEXT.sub("", text, count=1)
    if not text.strip():
        raise ManscdpError("empty body")
    try:
        return _NodeParser().parse_text(text)
    except ManscdpError:
        raise
    except (ParseError, DefusedXmlException, ValueError, UnicodeError) as exc:
        raise ManscdpError(f"malformed XML: {str(exc)[:80]}") from None


class _NodeBuilder:
    """Builds ``Node``s straight from expat's callbacks: no ElementTree elements to build
    and then copy (that was most of a keepalive's parse). Limits are enforced while
    parsing, so a deep or huge document is refused as soon as it crosses them."""

    __slots__ = ("count", "root", "stack")

    def __init__(self) -> None:
        # per open element: [tag, attributes, text pieces, children, has a child yet]
        self.stack: list[list] = []
        self.count = 0
        self.root: Node | None = None

    def start(self, tag: str, attr_list: list[str]) -> None:
        stack = self.stack
        self.count += 1
        if len(stack) > MAX_DEPTH:
            raise ManscdpError("XML nested too deeply")
        if self.count > MAX_ELEMENTS:
            raise ManscdpError("too many XML elements")
        if stack:
            stack[-1][4] = True  # text after the first child is tail, not text
        if "}" in tag:  # namespaces are ignored: "uri}local" from expat
            tag = tag.rsplit("}", 1)[-1]
        attributes = {}
        if attr_list:  # [name, value, name, value, …] (ordered_attributes)
            for i in range(0, len(attr_list), 2):
                attributes[attr_list[i].rsplit("}", 1)[-1]] = attr_list[i + 1]
        stack.append([tag, attributes, [], [], False])

    def data(self, text: str) -> None:
        stack = self.stack
        if stack and not stack[-1][4]:
            stack[-1][2].append(text)

    def end(self, tag: str) -> None:
        stack = self.stack
        name, attributes, pieces, children, _ = stack.pop()
        node = _new_object(Node)
        node.__dict__.update(
            tag=name,
            text="".join(pieces).strip()[:MAX_TEXT] if pieces else "",
            children=tuple(children),
            attributes=attributes,
        )  # Node(...) without the frozen dataclass's per-field object.__setattr__
        if stack:
            stack[-1][3].append(node)
        else:
            self.root = node

    def close(self) -> Node:
        if self.root is None:
            raise ManscdpError("malformed XML: no element")
        return self.root


class _NodeParser(DefusedXMLParser):
    """defusedxml's parser (DTDs forbidden, entity declarations and external references
    refused, undefined entities an error) feeding a ``_NodeBuilder``: its element
    callbacks go to the builder directly, skipping ElementTree's per-name fix-up."""

    def __init__(self) -> None:
        builder = _NodeBuilder()
        super().__init__(target=builder, forbid_dtd=True)
        self.parser.StartElementHandler = builder.start
        self.parser.EndElementHandler = builder.end
        self.builder = builder

    def parse_text(self, text: str) -> Node:
        """The whole document in one call (``feed`` and ``close`` in one)."""
        try:
            self.parser.Parse(text, True)
        except self._error as exc:
            self._raiseerror(exc)
        return self.builder.close()


_ROOT_NAMES = {root.lower(): root for root in ROOTS}
_CMD_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_SN = re.compile(r"[0-9]{1,18}")


def parse(data: bytes) -> Message:
    """Parse a body into the most specific message type we know, else ``Message``.

    An alarm that is not well-formed XML is read all the same whenever its device can
    be (``_repaired_alarm``); any other broken body is refused."""
    try:
        tree = parse_tree(data)
    except ManscdpError as error:
        return _repaired_alarm(data, error)
    return _message(tree)


def _message(tree: Node, repairs: tuple[str, ...] = ()) -> Message:
    root = _ROOT_NAMES.get(tree.tag.lower())
    if root is None:
        raise ManscdpError("root is not Query, Control, Notify or Response")
    cmd_type = tree.text_of("CmdType") or ""
    if not _CMD_TYPE.fullmatch(cmd_type):
        raise ManscdpError("missing or malformed CmdType")
    is_alarm = root == "Notify" and cmd_type.lower() == "alarm"
    sn_text = tree.text_of("SN") or ""
    if _SN.fullmatch(sn_text):
        sn, sn_text = int(sn_text), ""
    elif is_alarm:
        sn, sn_text, repair = _unusual_sn(sn_text)
        repairs = (*repairs, repair)
    else:
        raise ManscdpError("missing or malformed SN")
    device_id = tree.text_of("DeviceID") or ""
    if not _ID.fullmatch(device_id):
        raise ManscdpError("missing or malformed DeviceID")
    common = {
        "root": root,
        "cmd_type": cmd_type,
        "sn": sn,
        "device_id": device_id,
        "fields": {c.tag: c.text for c in tree.children if not c.children},
        "tree": tree,
    }
    if is_alarm:
        return _alarm(tree, common, sn_text, repairs)
    reader = _READERS.get((root, cmd_type.lower()))
    return reader(tree, common) if reader else Message(**common)


# --- alarms that are not well-formed ------------------------------------------------------

MAX_SN_TEXT = 64  # an unusual SN is kept as text up to this length
# XML 1.0 forbids these characters, even written as references (&#1;): expat stops there
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CHAR_REFERENCE = re.compile(r"&#(?:x([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")
# an & that starts none of XML's five entities nor a character reference
_STRAY_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,10}|#x[0-9A-Fa-f]{1,8});)")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_IS_ALARM = re.compile(r"<\s*CmdType\s*>\s*Alarm\s*<\s*/\s*CmdType\s*>", re.IGNORECASE)
_IS_NOTIFY = re.compile(r"<\s*Notify[\s>]", re.IGNORECASE)
_ALARM_FIELDS = (
    "CmdType",
    "SN",
    "DeviceID",
    "AlarmPriority",
    "AlarmMethod",
    "AlarmTime",
    "AlarmDescription",
    "Longitude",
    "Latitude",
    "AlarmType",
)
_OPENING = {name: re.compile(rf"<{name}\s*>", re.IGNORECASE) for name in _ALARM_FIELDS}
_CLOSING = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _ALARM_FIELDS}


def _unusual_sn(text: str) -> tuple[int, str, str]:
    """An alarm's SN that is not 1–18 digits: kept as text (cleaned, at most
    ``MAX_SN_TEXT`` characters) for the event ID and the Response; 0 if not a number."""
    kept = _CONTROL.sub("", text).strip()[:MAX_SN_TEXT]
    sn = int(kept) if re.fullmatch(r"[0-9]+", kept) else 0
    if not text:
        return sn, kept, "SN missing"
    return sn, kept, f"SN of {len(text)} characters kept as text"


def _valid_xml_reference(match: re.Match) -> str:
    hexadecimal, decimal = match.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF
    allowed = allowed or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
    return match.group(0) if allowed else " "


def _cleaned_xml(text: str) -> tuple[str, tuple[str, ...]]:
    """The body with what XML forbids replaced: control characters (raw or as
    references) by a space, a stray ``&`` by ``&amp;``. Returns what was done."""
    repairs = []
    cleaned = _NOT_XML.sub(" ", text)
    cleaned = _CHAR_REFERENCE.sub(_valid_xml_reference, cleaned)
    if cleaned != text:
        repairs.append("control characters replaced")
    escaped = _STRAY_AMPERSAND.sub("&amp;", cleaned)
    if escaped != cleaned:
        repairs.append("stray & escaped")
    return escaped, tuple(repairs)


def _field_text(text: str, name: str) -> str | None:
    """The text between the first ``<name>`` and the ``</name>`` after it; linear."""
    opening = _OPENING[name].search(text)
    if opening is None:
        return None
    closing = _CLOSING[name].search(text, opening.end())
    if closing is None:
        return None
    value = html.unescape(text[opening.end() : closing.start()])
    return _CONTROL.sub(" ", value).strip()[:MAX_TEXT]


def _repaired_alarm(data: bytes, error: ManscdpError) -> AlarmNotify:
    """A body that is not well-formed XML but is an Alarm Notify (GB 50394 5.2.2: an
    alarm is never dropped for a cosmetic fault): parsed again with the characters XML
    forbids cleaned, else rebuilt from its fields, each the text between the first
    ``<Name>`` and its ``</Name>`` (what a device writes first is its SN, DeviceID and
    AlarmTime, before any free text). Anything else, or an alarm whose DeviceID cannot
    be read, raises ``error``."""
    text = decode_body(data)
    if not (_IS_ALARM.search(text) and _IS_NOTIFY.search(text)):
        raise error
    cleaned, repairs = _cleaned_xml(text)
    if repairs:
        try:
            message = _message(_parse_text(cleaned), repairs)
        except ManscdpError:
            pass
        else:
            if isinstance(message, AlarmNotify):
                return message
    leaves = []
    for name in _ALARM_FIELDS:
        value = _field_text(text, name)
        if value is not None:
            leaves.append(Node(tag=name, text=value))
    tree = Node(tag="Notify", text="", children=tuple(leaves))
    try:
        message = _message(tree, ("XML rebuilt from its fields",))
    except ManscdpError:
        raise error from None
    if not isinstance(message, AlarmNotify):
        raise error
    return message


def _number(text: str | None, low: float, high: float) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    if value is None or not math.isfinite(value) or not low <= value <= high:
        return None
    return value


def _integer(text: str | None, low: int, high: int) -> int | None:
    if not text or not re.fullmatch(r"[0-9]{1,9}", text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_time(text: str) -> dt.datetime | None:
    """GB/T 28181 times: ``2024-03-01T08:00:00`` (device local, maybe with .mmm)."""
    text = text.strip()
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)  # device local time, naive
        except ValueError:
            continue
    return None


def _keepalive(tree: Node, common: dict) -> Keepalive:
    # every field is given: set them without the frozen dataclass's per-field
    # object.__setattr__ (a keepalive is most of the traffic)
    message = _new_object(Keepalive)
    message.__dict__.update(common, status=tree.text_of("Status") or "")
    return message


def _catalog_item(node: Node) -> CatalogItem | None:
    device_id = node.text_of("DeviceID") or ""
    if not _ID.fullmatch(device_id):
        return None
    parental = node.text_of("Parental")
    known = {
        "deviceid",
        "name",
        "manufacturer",
        "model",
        "owner",
        "civilcode",
        "address",
        "parental",
        "parentid",
        "status",
        "longitude",
        "latitude",
        "password",
    }
    extra = {c.tag: c.text for c in node.children if not c.children and c.tag.lower() not in known}
    return CatalogItem(
        device_id=device_id,
        name=node.text_of("Name") or "",
        manufacturer=node.text_of("Manufacturer") or "",
        model=node.text_of("Model") or "",
        owner=node.text_of("Owner") or "",
        civil_code=node.text_of("CivilCode") or "",
        address=node.text_of("Address") or "",
        parental=None if parental not in ("0", "1") else parental == "1",
        parent_id=node.text_of("ParentID") or "",
        status=node.text_of("Status") or "",
        longitude=_number(node.text_of("Longitude"), -180, 180),
        latitude=_number(node.text_of("Latitude"), -90, 90),
        extra=extra,
    )


def _catalog(tree: Node, common: dict) -> CatalogResponse:
    sum_num = _integer(tree.text_of("SumNum"), 0, MAX_SUM_NUM)
    if sum_num is None:
        raise ManscdpError("missing or malformed SumNum")
    device_list = tree.child("DeviceList")
    nodes = device_list.children_named("Item") if device_list is not None else []
    items = [_catalog_item(node) for node in nodes]
    valid = tuple(item for item in items if item is not None)
    return CatalogResponse(
        **common, sum_num=sum_num, items=valid, invalid_items=len(items) - len(valid)
    )


def _device_status(tree: Node, common: dict) -> DeviceStatusResponse:
    alarm_list = tree.child("Alarmstatus")
    duty = []
    for item in alarm_list.children_named("Item") if alarm_list is not None else []:
        device_id = item.text_of("DeviceID") or ""
        if _ID.fullmatch(device_id):
            duty.append(
                DutyStatus(device_id=device_id, duty_status=item.text_of("DutyStatus") or "")
            )
    return DeviceStatusResponse(
        **common,
        result=tree.text_of("Result") or "",
        online=tree.text_of("Online") or "",
        status=tree.text_of("Status") or "",
        reason=tree.text_of("Reason") or "",
        encode=tree.text_of("Encode") or "",
        record=tree.text_of("Record") or "",
        device_time=tree.text_of("DeviceTime") or "",
        alarm_status=tuple(duty),
    )


def _device_info(tree: Node, common: dict) -> DeviceInfoResponse:
    return DeviceInfoResponse(
        **common,
        result=tree.text_of("Result") or "",
        device_name=tree.text_of("DeviceName") or "",
        manufacturer=tree.text_of("Manufacturer") or "",
        model=tree.text_of("Model") or "",
        firmware=tree.text_of("Firmware") or "",
        channel=_integer(tree.text_of("Channel"), 0, 1_000_000),
    )


def _alarm(
    tree: Node, common: dict, sn_text: str = "", repairs: tuple[str, ...] = ()
) -> AlarmNotify:
    info_node = tree.child("Info")
    info = {c.tag: c.text for c in info_node.children} if info_node is not None else {}
    alarm_type = (info_node.text_of("AlarmType") if info_node is not None else None) or (
        tree.text_of("AlarmType") or ""
    )
    alarm_time = tree.text_of("AlarmTime") or ""
    return AlarmNotify(
        **common,
        priority=_integer(tree.text_of("AlarmPriority"), 1, 4),
        method=_integer(tree.text_of("AlarmMethod"), 1, 7),
        alarm_time=alarm_time,
        occurred_at=parse_time(alarm_time) if alarm_time else None,
        description=tree.text_of("AlarmDescription") or "",
        longitude=_number(tree.text_of("Longitude"), -180, 180),
        latitude=_number(tree.text_of("Latitude"), -90, 90),
        alarm_type=alarm_type,
        info=info,
        sn_text=sn_text,
        repairs=repairs,
    )


_READERS = {
    ("Notify", "keepalive"): _keepalive,
    ("Response", "catalog"): _catalog,
    ("Response", "devicestatus"): _device_status,
    ("Response", "deviceinfo"): _device_info,
}


# --- building ----------------------------------------------------------------------------

Field = tuple[str, "str | Sequence[Field]"]


def _element(tag: str, value: str | Sequence[Field], attributes: str = "") -> str:
    if isinstance(value, str):
        return f"<{tag}{attributes}>{escape(value)}</{tag}>"
    inner = "\r\n".join(_element(t, v) for t, v in value)
    return f"<{tag}{attributes}>\r\n{inner}\r\n</{tag}>"


def build(
    root: str,
    cmd_type: str,
    sn: int | str,
    device_id: str,
    fields: Sequence[Field] = (),
    *,
    encoding: str = "GB2312",
) -> bytes:
    """A body as devices expect it: GB2312 declared, CRLF lines, the common four first."""
    if root not in ROOTS:
        raise ValueError(f"unknown MANSCDP root {root!r}")
    lines = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        f"<{root}>",
        _element("CmdType", cmd_type),
        _element("SN", str(sn)),
        _element("DeviceID", device_id),
    ]
    for tag, value in fields:
        attributes = ""
        if tag == "DeviceList" and not isinstance(value, str):
            attributes = f' Num="{len(value)}"'
        lines.append(_element(tag, value, attributes))
    lines.append(f"</{root}>")
    text = "\r\n".join(lines) + "\r\n"
    codec = "gb2312" if encoding.lower() in _GB_FAMILY else encoding
    return text.encode(codec, errors="xmlcharrefreplace")


def build_query(cmd_type: str, sn: int, device_id: str) -> bytes:
    """Catalog / DeviceStatus / DeviceInfo query from the platform."""
    return build("Query", cmd_type, sn, device_id)


def build_alarm_response(sn: int | str, device_id: str, result: str = "OK") -> bytes:
    """The platform's answer to an alarm, sent once the alarm is committed; ``sn`` as
    the device sent it (``AlarmNotify.sn_text or AlarmNotify.sn``)."""
    return build("Response", "Alarm", sn, device_id, [("Result", result)])


def build_keepalive(sn: int, device_id: str, status: str = "OK") -> bytes:
    return build("Notify", "Keepalive", sn, device_id, [("Status", status)])


def build_alarm_notify(
    sn: int,
    device_id: str,
    *,
    priority: int = 1,
    method: int = 2,
    alarm_time: str,
    description: str = "",
    alarm_type: str | None = None,
    longitude: float | None = None,
    latitude: float | None = None,
    encoding: str = "GB2312",
) -> bytes:
    """A device's alarm (for emulators and tests)."""
    fields: list[Field] = [
        ("AlarmPriority", str(priority)),
        ("AlarmMethod", str(method)),
        ("AlarmTime", alarm_time),
    ]
    if description:
        fields.append(("AlarmDescription", description))
    if longitude is not None and latitude is not None:
        fields += [("Longitude", f"{longitude:.6f}"), ("Latitude", f"{latitude:.6f}")]
    if alarm_type is not None:
        fields.append(("Info", [("AlarmType", alarm_type)]))
    return build("Notify", "Alarm", sn, device_id, fields, encoding=encoding)


def build_catalog_response(
    sn: int,
    device_id: str,
    sum_num: int,
    items: Sequence[Mapping[str, str]],
    *,
    encoding: str = "GB2312",
) -> bytes:
    """One part of a device's catalog answer (for emulators and tests)."""
    device_list = [("Item", [(k, str(v)) for k, v in item.items()]) for item in items]
    return build(
        "Response",
        "Catalog",
        sn,
        device_id,
        [("SumNum", str(sum_num)), ("DeviceList", device_list)],
        encoding=encoding,
    )
