"""RecordInfo (GB/T 28181 §9.7 录像文件检索): the query for a channel's recordings in a
time span, and the answers devices send in several Response messages (``SumNum`` in
each, ``RecordList Num=`` items per message). Pure: no I/O, no Django."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from xml.sax.saxutils import escape

from campus_safety.gateway.gb28181 import manscdp

MAX_ITEMS = 10_000  # a day of one-minute files is 1,440


@dataclass(frozen=True)
class Recording:
    start: dt.datetime
    end: dt.datetime
    name: str = ""
    kind: str = "time"


def _local(moment: dt.datetime) -> str:
    """GB/T 28181 times: local, no zone, to the second."""
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def build_query(sn: int, channel_id: str, start: dt.datetime, end: dt.datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="GB2312"?>\r\n<Query>\r\n'
        f"<CmdType>RecordInfo</CmdType>\r\n<SN>{int(sn)}</SN>\r\n"
        f"<DeviceID>{escape(channel_id)}</DeviceID>\r\n"
        f"<StartTime>{_local(start)}</StartTime>\r\n<EndTime>{_local(end)}</EndTime>\r\n"
        "<Type>all</Type>\r\n</Query>\r\n"
    ).encode("ascii")


def build_response(
    sn: int, channel_id: str, name: str, sum_num: int, items: list[Recording]
) -> bytes:
    """One part of a device's answer (the simulated cameras)."""
    rows = "".join(
        f"<Item>\r\n<DeviceID>{escape(channel_id)}</DeviceID>\r\n<Name>{escape(r.name or name)}"
        f"</Name>\r\n<StartTime>{_local(r.start)}</StartTime>\r\n<EndTime>{_local(r.end)}"
        f"</EndTime>\r\n<Secrecy>0</Secrecy>\r\n<Type>{escape(r.kind)}</Type>\r\n</Item>\r\n"
        for r in items
    )
    text = (
        '<?xml version="1.0" encoding="GB2312"?>\r\n<Response>\r\n'
        f"<CmdType>RecordInfo</CmdType>\r\n<SN>{int(sn)}</SN>\r\n"
        f"<DeviceID>{escape(channel_id)}</DeviceID>\r\n<Name>{escape(name)}</Name>\r\n"
        f'<SumNum>{int(sum_num)}</SumNum>\r\n<RecordList Num="{len(items)}">\r\n{rows}'
        "</RecordList>\r\n</Response>\r\n"
    )
    return text.encode("gb2312", errors="xmlcharrefreplace")


def parse_response(message: manscdp.Message) -> tuple[int, list[Recording]]:
    """(SumNum, the items of this part); items without readable times are left out."""
    tree = message.tree
    if tree is None:
        raise manscdp.ManscdpError("no body tree")
    try:
        sum_num = int(tree.text_of("SumNum") or "0")
    except ValueError:
        raise manscdp.ManscdpError("bad SumNum") from None
    if not 0 <= sum_num <= MAX_ITEMS:
        raise manscdp.ManscdpError("SumNum out of range")
    items = []
    listing = tree.child("RecordList")
    for node in listing.children_named("Item") if listing is not None else ():
        start = manscdp.parse_time(node.text_of("StartTime") or "")
        end = manscdp.parse_time(node.text_of("EndTime") or "")
        if start is None or end is None or end <= start:
            continue
        items.append(
            Recording(start, end, (node.text_of("Name") or "")[:64], node.text_of("Type") or "")
        )
    return sum_num, items
