"""The keepalive memo answers exactly what defusedxml's parse answers.

A registered device's body is taken from the memo only when it differs from that
device's previous one in the digits of its single ``<SN>``; everything else goes to
``manscdp.parse``. Hypothesis
checks both halves: same-shape bodies read the same, and any other body (mutated,
doubled SN, SN in a comment, another command) reads — or fails — as the parser says.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus_safety.gateway.gb28181 import manscdp
from campus_safety.gateway.gb28181.keepalive_memo import KeepaliveMemo

DEVICE = "37140200001320000001"
DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=18)


def keepalive(sn: str, device_id: str = DEVICE, status: str = "OK", info: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n'
        f"<CmdType>Keepalive</CmdType>\r\n<SN>{sn}</SN>\r\n<DeviceID>{device_id}</DeviceID>\r\n"
        f"<Status>{status}</Status>\r\n{info}</Notify>\r\n"
    ).encode("gb18030")


def read(memo: KeepaliveMemo, body: bytes) -> manscdp.Message | str:
    """The message, or the parser's error text: both sides must agree on either."""
    try:
        return memo.parse(body, DEVICE)
    except manscdp.ManscdpError as exc:
        return str(exc)


def parsed(body: bytes) -> manscdp.Message | str:
    try:
        return manscdp.parse(body)
    except manscdp.ManscdpError as exc:
        return str(exc)


@given(
    first=DIGITS,
    later=st.lists(DIGITS, min_size=1, max_size=5),
    status=st.sampled_from(["OK", "ERROR", "离线"]),
    info=st.sampled_from(["", "<Info>\r\n<DeviceID>37140200001320000002</DeviceID></Info>\r\n"]),
)
@settings(max_examples=300, deadline=None)
def test_same_shape_keepalives_read_as_the_parser_reads_them(first, later, status, info):
    memo = KeepaliveMemo()
    assert memo.parse(keepalive(first, status=status, info=info), DEVICE) == manscdp.parse(
        keepalive(first, status=status, info=info)
    )
    for sn in later:
        body = keepalive(sn, status=status, info=info)
        message = memo.parse(body, DEVICE)
        assert message == manscdp.parse(body)
        assert isinstance(message, manscdp.Keepalive)
        assert message.sn == int(sn) and message.fields["SN"] == sn
        assert message.status == status
    assert memo.hits == len(later)
    assert len(memo) == 1


HOSTILE = st.sampled_from(
    [
        b"<SN>9</SN>",
        b"<!-- <SN>5</SN> -->",
        b"<sn>5</sn>",
        b"<![CDATA[<SN>1</SN>]]>",
        b"<Info><SN>3</SN></Info>",
        b"</Notify>",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
        b"&a;",
        b"\x00",
        b"<",
        b"",
    ]
)


@given(
    sn=DIGITS,
    position=st.integers(0, 400),
    insert=HOSTILE | st.binary(max_size=12),
    delete=st.integers(0, 4),
)
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_other_body_reads_or_fails_exactly_as_the_parser_says(sn, position, insert, delete):
    memo = KeepaliveMemo()
    memo.parse(keepalive("1"), DEVICE)  # a known shape, ready to be (wrongly) matched
    body = keepalive(sn)
    position = min(position, len(body))
    mutated = body[:position] + insert + body[position + delete :]
    assert read(memo, mutated) == parsed(mutated)
    assert read(memo, mutated) == parsed(mutated)  # and again, from the memo if it kept it


def test_a_doubled_sn_is_never_remembered():
    memo = KeepaliveMemo()
    body = keepalive("7", info="<!-- <SN>8</SN> -->")
    assert memo.parse(body, DEVICE).sn == 7
    assert len(memo) == 0


@pytest.mark.parametrize(
    "body",
    [
        manscdp.build_alarm_notify(
            sn=4, device_id=DEVICE, priority=1, method=2, alarm_time="2026-11-29T08:00:00"
        ),
        manscdp.build_query("Catalog", 5, DEVICE),
        manscdp.build_alarm_response(6, DEVICE),
    ],
)
def test_other_commands_are_parsed_every_time(body):
    memo = KeepaliveMemo()
    assert memo.parse(body, DEVICE) == manscdp.parse(body)
    assert memo.parse(body, DEVICE) == manscdp.parse(body)
    assert len(memo) == 0 and memo.hits == 0


def test_the_memo_keeps_the_newest_devices_within_its_bound():
    memo = KeepaliveMemo(max_entries=3)
    devices = [f"3714020000132{n:07d}" for n in range(5)]
    for device_id in devices:
        memo.parse(keepalive("1", device_id=device_id), device_id)
    assert len(memo) == 3
    memo.parse(keepalive("2", device_id=devices[-1]), devices[-1])
    memo.parse(keepalive("2", device_id=devices[0]), devices[0])  # forgotten: parsed, kept
    assert memo.hits == 1
    assert len(memo) == 3


def test_a_device_has_one_shape_at_a_time_whatever_it_sends():
    memo = KeepaliveMemo()
    for status in ("OK", "ERROR", "OK", "X1", "X2"):
        message = memo.parse(keepalive("1", status=status), DEVICE)
        assert message.status == status
    assert len(memo) == 1
    assert memo.parse(keepalive("9", status="X2"), DEVICE).status == "X2"
    assert memo.hits == 1


def test_without_a_sender_nothing_is_remembered():
    memo = KeepaliveMemo()
    for sn in ("1", "2"):
        assert memo.parse(keepalive(sn)) == manscdp.parse(keepalive(sn))
    assert len(memo) == 0 and memo.hits == 0


def test_another_device_never_gets_a_shape_that_is_not_its_own():
    memo = KeepaliveMemo()
    memo.parse(keepalive("1"), DEVICE)
    other = "37140200001320000099"
    message = memo.parse(keepalive("2"), other)  # same bytes, said to come from another
    assert message == manscdp.parse(keepalive("2"))
    assert memo.hits == 0


def test_an_oversized_body_is_parsed_not_remembered():
    memo = KeepaliveMemo()
    info = "<Info>" + "<Note>x</Note>" * 80 + "</Info>"
    body = keepalive("3", info=info)
    assert len(body) > 1024
    assert memo.parse(body, DEVICE) == manscdp.parse(body)
    assert len(memo) == 0
