"""SIP parsing and building (RFC 3261 subset), on bytes alone."""

from __future__ import annotations

import re

import pytest

from campus_safety.gateway.gb28181 import sip
from campus_safety.gateway.gb28181.sip import SipParseError, SipRequest, SipResponse

REGISTER = (
    b"REGISTER sip:37140000002000000001@3714000000 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1489542157\r\n"
    b"From: <sip:37140200001180000001@3714000000>;tag=1238576498\r\n"
    b"To: <sip:37140200001180000001@3714000000>\r\n"
    b"Call-ID: 1183543436\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Contact: <sip:37140200001180000001@192.168.1.64:5060>\r\n"
    b"Max-Forwards: 70\r\n"
    b"User-Agent: IP Camera\r\n"
    b"Expires: 3600\r\n"
    b"Content-Length: 0\r\n\r\n"
)
MESSAGE_BODY = b'<?xml version="1.0" encoding="GB2312"?>\r\n<Notify></Notify>\r\n'
MESSAGE = (
    b"MESSAGE sip:37140000002000000001@3714000000 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1\r\n"
    b"From: <sip:37140200001180000001@3714000000>;tag=7\r\n"
    b"To: <sip:37140000002000000001@3714000000>\r\n"
    b"Call-ID: 77\r\n"
    b"CSeq: 20 MESSAGE\r\n"
    b"Content-Type: Application/MANSCDP+xml\r\n"
    b"Content-Length: " + str(len(MESSAGE_BODY)).encode() + b"\r\n\r\n" + MESSAGE_BODY
)


def test_a_register_request_is_parsed_into_method_uri_headers_and_body():
    request = sip.parse_message(REGISTER)
    assert isinstance(request, SipRequest)
    assert (request.method, request.uri) == ("REGISTER", "sip:37140000002000000001@3714000000")
    assert request.call_id == "1183543436"
    assert request.cseq == sip.CSeq(1, "REGISTER")
    assert request.top_via.branch == "z9hG4bK1489542157"
    assert request.top_via.sent_by == "192.168.1.64:5060"
    assert request.from_.uri.user == "37140200001180000001"
    assert request.from_.tag == "1238576498"
    assert request.to.tag is None
    assert request.expires == 3600
    assert request.body == b""


def test_a_message_body_is_cut_at_content_length():
    request = sip.parse_message(MESSAGE + b"trailing junk")
    assert request.body == MESSAGE_BODY
    assert request.content_type == "application/manscdp+xml"


def test_without_content_length_a_datagram_body_is_the_rest():
    request = sip.parse_message(re.sub(rb"Content-Length: \d+\r\n", b"", MESSAGE))
    assert request.body == MESSAGE_BODY


def test_compact_header_forms_are_expanded():
    compact = (
        b"MESSAGE sip:37140000002000000001@3714000000 SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKc\r\n"
        b"f: <sip:37140200001180000001@3714000000>;tag=1\r\n"
        b"t: <sip:37140000002000000001@3714000000>\r\n"
        b"i: compact-call\r\n"
        b"CSeq: 2 MESSAGE\r\n"
        b"m: <sip:37140200001180000001@10.0.0.2:5060>\r\n"
        b"c: Application/MANSCDP+xml\r\n"
        b"l: 4\r\n\r\nbody"
    )
    request = sip.parse_message(compact)
    assert [name for name, _ in request.headers] == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Type",
        "Content-Length",
    ]
    assert request.call_id == "compact-call"
    assert request.body == b"body"
    assert request.header("l") == "4"


def test_header_names_are_case_insensitive():
    request = sip.parse_message(REGISTER.replace(b"Call-ID", b"call-id").replace(b"CSeq", b"CSEQ"))
    assert request.call_id == "1183543436"
    assert request.header("cseq") == "1 REGISTER"


def test_folded_header_lines_are_joined_with_one_space():
    folded = REGISTER.replace(
        b"User-Agent: IP Camera\r\n", b"User-Agent: IP\r\n   Camera\r\n\tV5.5\r\n"
    )
    assert sip.parse_message(folded).header("User-Agent") == "IP Camera V5.5"


def test_odd_whitespace_around_colons_slashes_and_cseq_is_accepted():
    odd = (
        REGISTER.replace(
            b"Via: SIP/2.0/UDP 192.168.1.64:5060", b"Via  :   SIP / 2.0 / UDP   192.168.1.64:5060"
        )
        .replace(b"CSeq: 1 REGISTER", b"CSeq:\t1   REGISTER   ")
        .replace(b"Expires: 3600", b"Expires:3600")
    )
    request = sip.parse_message(odd)
    assert request.top_via.transport == "UDP"
    assert request.top_via.port == 5060
    assert request.cseq == sip.CSeq(1, "REGISTER")
    assert request.expires == 3600


def test_bare_lf_line_endings_and_leading_blank_lines_are_tolerated():
    head, body = MESSAGE.split(b"\r\n\r\n", 1)
    request = sip.parse_message(b"\r\n\r\n" + head.replace(b"\r\n", b"\n") + b"\n\n" + body)
    assert request.method == "MESSAGE"
    assert request.body.startswith(b"<?xml")


def test_a_gbk_display_name_in_from_is_tolerated():
    named = REGISTER.replace(b"From: <sip:", 'From: "校门摄像机" <sip:'.encode("gbk"))
    assert sip.parse_message(named).from_.display == "校门摄像机"


def test_expires_may_come_from_the_contact_parameter():
    request = sip.parse_message(
        REGISTER.replace(b"Expires: 3600\r\n", b"").replace(
            b"192.168.1.64:5060>", b"192.168.1.64:5060>;expires=7200"
        )
    )
    assert request.expires == 7200


def test_multiple_vias_in_one_line_or_several_are_all_read():
    request = sip.parse_message(
        REGISTER.replace(
            b"Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1489542157\r\n",
            b"Via: SIP/2.0/UDP a.example;branch=z9hG4bKa, SIP/2.0/TCP b.example:5070;branch=x\r\n"
            b"v: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKc\r\n",
        )
    )
    assert [v.sent_by for v in request.vias] == ["a.example", "b.example:5070", "2001:db8::1:5060"]
    assert request.top_via.branch == "z9hG4bKa"


def test_a_response_is_parsed_with_status_and_reason():
    response = sip.parse_message(
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 5 MESSAGE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert isinstance(response, SipResponse)
    assert (response.status, response.reason) == (200, "OK")
    assert response.top_via.branch == "z9hG4bKx"


@pytest.mark.parametrize("name", ["Via", "From", "To", "Call-ID", "CSeq"])
def test_a_missing_required_header_is_named_and_the_rest_is_kept(name):
    lines = [line for line in REGISTER.split(b"\r\n") if not line.startswith(name.encode() + b":")]
    with pytest.raises(SipParseError) as raised:
        sip.parse_message(b"\r\n".join(lines))
    assert raised.value.reason == f"missing {name}"
    assert raised.value.partial.method == "REGISTER"


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        ((b"Content-Length: 0", b"Content-Length: 10"), "Content-Length exceeds body"),
        ((b"Content-Length: 0", b"Content-Length: -1"), "bad Content-Length"),
        ((b"Content-Length: 0", b"Content-Length: 0\r\nl: 3"), "conflicting Content-Length"),
        ((b"CSeq: 1 REGISTER", b"CSeq: 1 MESSAGE"), "CSeq method does not match"),
        ((b"CSeq: 1 REGISTER", b"CSeq: 99999999999 REGISTER"), "malformed CSeq"),
        ((b"Expires: 3600", b"Expires: soon"), "bad Expires"),
        ((b"Max-Forwards: 70", b"Max Forwards: 70"), "malformed header line"),
        (
            (b"User-Agent: IP Camera", b"User-Agent: IP\x00Camera"),
            "control character in User-Agent",
        ),
        ((b"To: <sip:", b"To: <tel:"), "unsupported URI"),
        ((b"Via: SIP/2.0/UDP", b"Via: SIP/3.0/UDP"), "malformed Via"),
    ],
)
def test_a_malformed_header_is_an_error_with_a_partial_request_for_the_400(mangle, reason):
    with pytest.raises(SipParseError) as raised:
        sip.parse_message(REGISTER.replace(*mangle))
    assert raised.value.reason == reason
    assert raised.value.partial is not None
    assert raised.value.partial.header("Call-ID") == "1183543436"


@pytest.mark.parametrize(
    "start",
    [
        b"REGISTER sip:x SIP/2.0 extra",
        b"REGISTER  SIP/2.0",
        b"register sip:x@y SIP/2.0",
        b"REGISTER sip:x@y HTTP/1.1",
        b"SIP/2.0 2000 OK",
        b"SIP/2.0 OK",
        b"\xff\xfe",
        b"",
    ],
)
def test_a_malformed_start_line_is_an_error_without_anything_to_answer(start):
    with pytest.raises(SipParseError) as raised:
        sip.parse_message(start + b"\r\nCall-ID: 1\r\n\r\n")
    assert raised.value.partial is None


def test_a_message_over_the_size_limit_is_refused_but_its_headers_are_salvaged():
    big = re.sub(rb"Content-Length: \d+", b"Content-Length: 70000", MESSAGE) + b"x" * 70000
    with pytest.raises(SipParseError) as raised:
        sip.parse_message(big)
    assert raised.value.reason == "message too large"
    assert raised.value.partial.call_id == "77"


def test_a_response_echoes_via_from_to_call_id_and_cseq_and_adds_our_to_tag():
    request = sip.parse_message(REGISTER)
    response = sip.parse_message(
        sip.build_response(request, 200, to_tag="abc", headers=[("Expires", "3600")])
    )
    assert response.status == 200
    assert response.header("From") == request.header("From")
    assert response.to.tag == "abc"
    assert (response.call_id, response.cseq) == (request.call_id, request.cseq)
    assert response.header("Expires") == "3600"
    assert response.header("Content-Length") == "0"


def test_a_response_records_where_the_request_came_from_in_the_top_via():
    request = sip.parse_message(REGISTER)
    response = sip.parse_message(sip.build_response(request, 200, received=("203.0.113.9", 40123)))
    via = response.top_via
    assert via.params["received"] == "203.0.113.9"
    assert via.params["rport"] == "40123"  # RFC 3581: the device sits behind NAT


def test_a_response_keeps_an_existing_to_tag():
    request = sip.parse_message(
        MESSAGE.replace(
            b"To: <sip:37140000002000000001@3714000000>",
            b"To: <sip:37140000002000000001@3714000000>;tag=9",
        )
    )
    response = sip.parse_message(sip.build_response(request, 200, to_tag="abc"))
    assert response.to.tag == "9"


def test_a_reason_phrase_cannot_inject_header_lines():
    request = sip.parse_message(REGISTER)
    data = sip.build_response(request, 400, "Bad\r\nX-Evil: 1")
    assert sip.parse_message(data).header("X-Evil") is None
    assert data.startswith(b"SIP/2.0 400 Bad  X-Evil: 1\r\n")
    assert sip.reason_phrase(400, "missing Call-ID") == "Bad Request (missing Call-ID)"


def test_an_own_request_round_trips_through_the_parser():
    data = sip.build_request(
        "MESSAGE",
        "sip:37140200001180000001@192.168.1.64:5060",
        via="SIP/2.0/UDP 192.168.1.10:5060;rport;branch=z9hG4bKabc",
        from_="<sip:37140000002000000001@3714000000>;tag=p1",
        to="<sip:37140200001180000001@3714020000>",
        call_id="q1@192.168.1.10",
        cseq=7,
        body=MESSAGE_BODY,
        content_type="Application/MANSCDP+xml",
    )
    request = sip.parse_message(data)
    assert (request.method, request.cseq.number, request.body) == ("MESSAGE", 7, MESSAGE_BODY)
    assert request.header("Max-Forwards") == "70"


def test_stream_framing_waits_for_the_whole_message_and_needs_content_length():
    assert sip.frame_length(MESSAGE[:40]) is None
    assert sip.frame_length(MESSAGE[:-5]) is None
    assert sip.frame_length(MESSAGE + REGISTER) == len(MESSAGE)
    with pytest.raises(SipParseError, match="missing Content-Length"):
        sip.frame_length(re.sub(rb"Content-Length: \d+\r\n", b"", MESSAGE))
    with pytest.raises(SipParseError, match="message too large"):
        sip.frame_length(b"MESSAGE sip:a@b SIP/2.0\r\n" + b"x" * 70000)


def test_comma_lists_respect_quotes_and_angle_brackets():
    assert sip.split_list('"Doe, John" <sip:a@b;x=1,2>, <sip:c@d>') == [
        '"Doe, John" <sip:a@b;x=1,2>',
        "<sip:c@d>",
    ]
    with pytest.raises(SipParseError):
        sip.split_list('"unterminated, <sip:a@b>')
