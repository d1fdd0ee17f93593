"""PresetQuery (GB/T 28181-2022 设备预置位查询): the query for a channel's presets and the
Response a device sends, ``<PresetList Num="n">`` of ``<Item>`` with ``PresetID`` and
``PresetName``. A long list may come in several messages, like Catalog and RecordInfo:
``SumNum`` (when the device writes it) is the whole count in every part, ``Num`` this
part's; without ``SumNum`` the ``Num`` of a single answer is the whole. Pure: no I/O,
no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from campus_safety.gateway.gb28181 import manscdp

MAX_PRESETS = 255  # PTZCmd carries the number in one byte (附录 A.3)
MAX_NAME = 40  # as the platform stores names (video.models.CameraPreset)


@dataclass(frozen=True)
class Preset:
    number: int
    name: str = ""


@dataclass(frozen=True)
class PresetPart:
    """One message of an answer: the whole count, this part's presets, and how many of
    its items could not be read (counted, so the parts still add up to the whole)."""

    sum_num: int
    presets: tuple[Preset, ...]
    invalid: int = 0


def build_query(sn: int, channel_id: str) -> bytes:
    return manscdp.build("Query", "PresetQuery", int(sn), channel_id)


def build_response(
    sn: int, channel_id: str, presets: list[Preset], sum_num: int | None = None
) -> bytes:
    """One part of a device's answer (the simulated cameras): GB2312 as devices send it;
    ``sum_num`` the whole count when the list is split."""
    rows = "".join(
        f"<Item>\r\n<PresetID>{p.number}</PresetID>\r\n"
        f"<PresetName>{escape(p.name)}</PresetName>\r\n</Item>\r\n"
        for p in presets
    )
    total = f"<SumNum>{int(sum_num)}</SumNum>\r\n" if sum_num is not None else ""
    text = (
        '<?xml version="1.0" encoding="GB2312"?>\r\n<Response>\r\n'
        f"<CmdType>PresetQuery</CmdType>\r\n<SN>{int(sn)}</SN>\r\n"
        f"<DeviceID>{escape(channel_id)}</DeviceID>\r\n{total}"
        f'<PresetList Num="{len(presets)}">\r\n{rows}</PresetList>\r\n</Response>\r\n'
    )
    return text.encode("gb2312", errors="xmlcharrefreplace")


def _count(text: str | None, what: str) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        value = int(text.strip())
    except ValueError:
        raise manscdp.ManscdpError(f"bad {what}") from None
    if not 0 <= value <= MAX_PRESETS:
        raise manscdp.ManscdpError(f"{what} out of range")
    return value


def parse_response(message: manscdp.Message) -> PresetPart:
    """A part of a PresetQuery answer; ``ManscdpError`` when it is not one (no
    PresetList, a count that is not a number from 0 to 255). An item whose PresetID is
    not a preset number (1–255) is counted as invalid, never guessed at."""
    tree = message.tree
    if tree is None or message.root != "Response" or message.cmd_type.lower() != "presetquery":
        raise manscdp.ManscdpError("not a PresetQuery response")
    listing = tree.child("PresetList")
    if listing is None:
        raise manscdp.ManscdpError("no PresetList")
    items = listing.children_named("Item")
    num_text = next((v for k, v in listing.attributes.items() if k.lower() == "num"), None)
    num = _count(num_text, "Num")
    sum_num = _count(tree.text_of("SumNum"), "SumNum")
    if sum_num is None:
        sum_num = max(num or 0, len(items))
    if len(items) > MAX_PRESETS:
        raise manscdp.ManscdpError("too many items")
    presets, invalid = [], 0
    for node in items:
        text = (node.text_of("PresetID") or "").strip()
        number = int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else 0
        if not 1 <= number <= MAX_PRESETS:
            invalid += 1
            continue
        name = " ".join((node.text_of("PresetName") or "").split())[:MAX_NAME]
        presets.append(Preset(number, name))
    return PresetPart(sum_num, tuple(presets), invalid)
