"""Hypothesis: the SIP and MANSCDP parsers raise nothing but their own error type.

Three kinds of input for each: arbitrary bytes, structured fuzz (messages assembled
from plausible and hostile parts) and mutations of real messages. Whatever parses
must also be answerable: the server builds a response (or a 400) from it.
"""

from __future__ import annotations

import contextlib
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus_safety.gateway.gb28181 import digest, manscdp, sip, transactions

# FUZZ_SCALE=10 runs ten times the examples (a deeper pass than CI needs every time).
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
FUZZ = settings(
    max_examples=2000 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STRUCTURED = settings(FUZZ, max_examples=800 * SCALE)  # each example costs more to draw

REGISTER = (
    b"REGISTER sip:37140000002000000001@3714000000 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1489542157\r\n"
    b"From: <sip:37140200001180000001@3714000000>;tag=1238576498\r\n"
    b"To: <sip:37140200001180000001@3714000000>\r\nCall-ID: 1183543436\r\n"
    b"CSeq: 1 REGISTER\r\nContact: <sip:37140200001180000001@192.168.1.64:5060>\r\n"
    b'Authorization: Digest username="37140200001180000001", realm="3714000000", '
    b'nonce="abc", uri="sip:37140000002000000001@3714000000", response="00"\r\n'
    b"Max-Forwards: 70\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n"
)
KEEPALIVE = manscdp.build_keepalive(7, "37140200001180000001")
MESSAGE = sip.build_request(
    "MESSAGE",
    "sip:37140000002000000001@3714000000",
    via="SIP/2.0/UDP 10.0.0.2:5060;rport;branch=z9hG4bKk",
    from_="<sip:1@2>;tag=a",
    to="<sip:3@4>",
    call_id="c",
    cseq=2,
    body=KEEPALIVE,
    content_type=manscdp.CONTENT_TYPE,
)
CATALOG = manscdp.build_catalog_response(
    3,
    "37140200001180000001",
    2,
    [
        {
            "DeviceID": "37140200001310000001",
            "Name": "校门口",
            "Parental": "0",
            "Longitude": "116.3",
            "Latitude": "37.4",
        }
    ],
)


def answerable(data: bytes) -> None:
    """Parse like the server does, and build what the server would send back."""
    try:
        message = sip.parse_message(data)
    except sip.SipParseError as exc:
        assert exc.reason and "\n" not in exc.reason
        if exc.partial is not None:
            sip.build_response(
                exc.partial, 400, sip.reason_phrase(400, exc.reason), received=("192.0.2.1", 5060)
            )
        return
    if isinstance(message, sip.SipRequest):
        transactions.transaction_key(message, ("192.0.2.1", 5060))
        sip.build_response(
            message, 200, to_tag=transactions.to_tag(message), received=("192.0.2.1", 5060)
        )
        header = message.header("Authorization")
        if header is not None:
            with contextlib.suppress(digest.DigestError):
                digest.parse_authorization(header)


def readable(data: bytes) -> None:
    with contextlib.suppress(manscdp.ManscdpError):
        manscdp.parse(data)


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for position, delete, insert in edits:
        position %= len(data) + 1
        data = data[:position] + insert + data[position + delete :]
    return data


edits = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.integers(0, 8),
        st.binary(max_size=6)
        | st.sampled_from(
            [
                b"\r\n",
                b"\n",
                b" ",
                b":",
                b";",
                b",",
                b"<",
                b">",
                b'"',
                b"\x00",
                b"\xff",
                b"&",
                b"]]>",
                b"<!DOCTYPE x>",
                b"\t",
            ]
        ),
    ),
    min_size=1,
    max_size=6,
)

# --- SIP ---------------------------------------------------------------------------------

HEADER_NAMES = [
    "Via",
    "v",
    "From",
    "f",
    "To",
    "t",
    "Call-ID",
    "i",
    "CSeq",
    "Contact",
    "m",
    "Content-Length",
    "l",
    "Content-Type",
    "c",
    "Expires",
    "Authorization",
    "Max-Forwards",
    "X-Odd",
]
hostile_text = st.text(max_size=40)
plausible_values = st.sampled_from(
    [
        "SIP/2.0/UDP 10.0.0.2:5060;rport;branch=z9hG4bK1",
        "SIP / 2.0 / TCP [::1]:5061",
        "<sip:37140200001180000001@3714000000>;tag=1",
        "sip:a@b;tag=2",
        '"N, X" <sip:a@[::1]:9>',
        "1 REGISTER",
        "20 MESSAGE",
        "0",
        "12",
        "99999999999",
        "-1",
        "Application/MANSCDP+xml",
        "*",
        'Digest username="a", realm="r", nonce="n", uri="u", response="x"',
        "",
    ]
)
header = st.tuples(
    st.sampled_from(HEADER_NAMES) | st.text(min_size=1, max_size=12),
    st.sampled_from([": ", ":", " : ", ":\t", " "]),
    plausible_values | hostile_text,
)
start_line = st.one_of(
    st.builds(
        lambda m, u: f"{m} {u} SIP/2.0",
        st.sampled_from(["REGISTER", "MESSAGE", "OPTIONS", "ACK", "INVITE"]) | hostile_text,
        st.sampled_from(["sip:37140000002000000001@3714000000", "sip:x", "tel:1"]) | hostile_text,
    ),
    st.builds(lambda c, r: f"SIP/2.0 {c} {r}", st.integers(-10, 1000), hostile_text),
    hostile_text,
)


@st.composite
def sip_messages(draw: st.DrawFn) -> bytes:
    newline = draw(st.sampled_from(["\r\n", "\n", "\r", "\r\n\r\n"]))
    lines = [draw(start_line)]
    for name, separator, value in draw(st.lists(header, max_size=12)):
        lines.append(f"{name}{separator}{value}")
        if draw(st.booleans()) and draw(st.booleans()):
            lines.append(draw(st.sampled_from([" folded", "\tmore", "  "])))
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "latin-1"]))
    head = newline.join(lines).encode(encoding, errors="replace")
    return head + b"\r\n\r\n" + draw(st.binary(max_size=200))


@FUZZ
@given(st.binary(max_size=4096))
def test_the_sip_parser_raises_only_sip_parse_error_on_arbitrary_bytes(data):
    answerable(data)


@STRUCTURED
@given(sip_messages())
def test_the_sip_parser_raises_only_sip_parse_error_on_structured_fuzz(data):
    answerable(data)


@FUZZ
@given(st.sampled_from([REGISTER, MESSAGE]), edits)
def test_the_sip_parser_raises_only_sip_parse_error_on_mutated_real_messages(message, changes):
    answerable(mutate(message, changes))


@FUZZ
@given(st.binary(max_size=3000) | st.builds(mutate, st.just(MESSAGE + REGISTER), edits))
def test_stream_framing_raises_only_sip_parse_error(data):
    try:
        length = sip.frame_length(data, max_size=2048)
    except sip.SipParseError:
        return
    assert length is None or 0 < length <= len(data)


@STRUCTURED
@given(
    st.text(max_size=300)
    | st.builds(
        lambda parts: "Digest " + ", ".join(f"{k}={v}" for k, v in parts),
        st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        "username",
                        "realm",
                        "nonce",
                        "uri",
                        "response",
                        "qop",
                        "nc",
                        "cnonce",
                        "algorithm",
                    ]
                )
                | st.text(max_size=5),
                st.text(max_size=20).map(lambda v: f'"{v}"') | st.text(max_size=20),
            ),
            max_size=10,
        ),
    )
)
def test_authorization_parsing_raises_only_digest_error(value):
    try:
        credentials = digest.parse_authorization(value)
    except digest.DigestError:
        return
    digest.verify(credentials, method="REGISTER", password="pw", realm="r", key=b"k" * 32, now=1e9)


# --- MANSCDP -------------------------------------------------------------------------------

TAGS = [
    "Query",
    "Control",
    "Notify",
    "Response",
    "CmdType",
    "SN",
    "DeviceID",
    "SumNum",
    "DeviceList",
    "Item",
    "Name",
    "Info",
    "AlarmType",
    "AlarmPriority",
    "AlarmTime",
    "Longitude",
    "Latitude",
    "Parental",
    "Alarmstatus",
    "DutyStatus",
    "Channel",
]
TEXTS = [
    "Keepalive",
    "Catalog",
    "Alarm",
    "DeviceStatus",
    "DeviceInfo",
    "17",
    "37140200001180000001",
    "3",
    "1",
    "116.3",
    "nan",
    "-1e999",
    "2024-03-01T08:00:00",
    "校门口",
    "",
    "&amp;",
    "<![CDATA[x]]>",
]


def render(tree: tuple) -> str:
    tag, text, children = tree
    inner = text + "".join(render(child) for child in children)
    return f"<{tag}>{inner}</{tag}>"


tags = st.sampled_from([*TAGS, "x", "a-b", "_y", "ns:Item", "1bad", "a b", ""])
xml_trees = st.recursive(
    st.tuples(tags, st.sampled_from(TEXTS) | st.text(max_size=8), st.just(())),
    lambda children: st.tuples(
        tags, st.sampled_from(TEXTS), st.lists(children, max_size=4).map(tuple)
    ),
    max_leaves=12,
)


@st.composite
def manscdp_bodies(draw: st.DrawFn) -> bytes:
    root = draw(st.sampled_from(["Query", "Control", "Notify", "Response", "Other"]))
    children = draw(st.lists(xml_trees, max_size=6))
    text = f"<{root}>" + "".join(render(c) for c in children) + f"</{root}>"
    declared = draw(st.sampled_from(["GB2312", "GBK", "UTF-8", "utf-16", "bogus", "zlib", ""]))
    if declared:
        text = f'<?xml version="1.0" encoding="{declared}"?>\r\n' + text
    codec = draw(st.sampled_from(["utf-8", "gb18030", "gbk", "latin-1", "utf-16"]))
    return text.encode(codec, errors=draw(st.sampled_from(["replace", "ignore"])))


@FUZZ
@given(st.binary(max_size=4096))
def test_the_manscdp_parser_raises_only_manscdp_error_on_arbitrary_bytes(data):
    readable(data)


@STRUCTURED
@given(manscdp_bodies())
def test_the_manscdp_parser_raises_only_manscdp_error_on_structured_fuzz(data):
    readable(data)


@FUZZ
@given(
    st.sampled_from(
        [
            KEEPALIVE,
            CATALOG,
            manscdp.build_alarm_notify(
                1,
                "37140200001340000001",
                alarm_time="2024-03-01T08:00:00",
                description="一键报警",
                alarm_type="1",
                longitude=116.3,
                latitude=37.4,
            ),
        ]
    ),
    edits,
)
def test_the_manscdp_parser_raises_only_manscdp_error_on_mutated_real_bodies(body, changes):
    readable(mutate(body, changes))


xml_chars = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))


@settings(max_examples=500, deadline=None)
@given(st.text(xml_chars, max_size=30), st.sampled_from(["GB2312", "UTF-8"]))
def test_catalog_names_survive_a_build_and_parse_round_trip(name, encoding):
    data = manscdp.build_catalog_response(
        5,
        "37140200001180000001",
        1,
        [{"DeviceID": "37140200001310000001", "Name": name}],
        encoding=encoding,
    )
    assert manscdp.parse(data).items[0].name == name.strip()
