"""The keepalive fast paths read exactly what the general parsers read.

Name-addresses and parameters as devices write them take a one-regex path; MANSCDP is
built into ``Node``s straight from defusedxml's parser; header values are checked for
control characters in one scan. Each must agree with the general path and refuse what
it refuses.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campus_safety.gateway.gb28181 import manscdp, sip
from campus_safety.gateway.gb28181.interface import Remote
from campus_safety.gateway.gb28181.listeners import UdpProtocol

PLAIN = st.text(alphabet="abcXYZ0189-._", min_size=1, max_size=12)


@given(user=PLAIN, host=PLAIN, port=st.integers(0, 70_000) | st.none(), tag=PLAIN | st.none())
@settings(max_examples=300, deadline=None)
def test_a_plain_name_addr_parses_as_the_general_parser_does(user, host, port, tag):
    value = f"<sip:{user}@{host}{'' if port is None else f':{port}'}>"
    value += "" if tag is None else f";tag={tag}"
    sip._NAME_ADDRS.clear()
    try:
        expected = sip._parse_name_addr(value)
    except sip.SipParseError as exc:
        with pytest.raises(sip.SipParseError, match=exc.reason):
            sip.parse_name_addr(value)
        return
    assert sip.parse_name_addr(value) == expected
    assert sip.parse_name_addr(value) == expected  # and from the cache


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("rport;branch=z9hG4bK1", {"rport": None, "branch": "z9hG4bK1"}),
        ("Rport;BRANCH=x", {"rport": None, "branch": "x"}),  # general path: lower-cased
        ('x="a b"', {"x": "a b"}),
        (" a = b ", {"a": "b"}),
        ("a=1;a=2", {"a": "2"}),
    ],
)
def test_parameters_read_the_same_on_either_path(text, params):
    assert sip._parse_params(text) == params


@pytest.mark.parametrize("text", ["a;;b", ";a", "a;", "a b=c"])
def test_bad_parameters_are_still_refused(text):
    with pytest.raises(sip.SipParseError):
        sip._parse_params(text)


MESSAGE = (
    b"MESSAGE sip:37140000002000000001@3714000000 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.2:5060;rport;branch=z9hG4bKk\r\n"
    b"From: <sip:37140200001180000001@3714000000>;tag=a\r\n"
    b"To: <sip:37140000002000000001@3714000000>\r\nCall-ID: c\r\nCSeq: 2 MESSAGE\r\n"
    b"Subject: one,\r\n  two\r\nContent-Length: 0\r\n\r\n"
)


def test_a_folded_header_is_indexed_with_its_continuation():
    request = sip.parse_message(MESSAGE)
    assert request.header("Subject") == "one, two"
    assert request.headers[-2] == ("Subject", "one, two")


@pytest.mark.parametrize("bad", [b"\x00", b"\x1b", b"\x7f", b"\x0b"])
def test_a_control_character_in_a_header_value_is_still_refused(bad):
    data = MESSAGE.replace(b"Call-ID: c", b"Call-ID: c" + bad)
    with pytest.raises(sip.SipParseError, match="control character in Call-ID"):
        sip.parse_message(data)


def test_a_response_header_with_a_control_character_is_refused():
    request = sip.parse_message(MESSAGE)
    with pytest.raises(ValueError, match="control character in header X-Bad"):
        sip.build_response(request, 200, headers=[("X-Bad", "a\x01b")])


def test_the_tree_builder_keeps_text_before_the_first_child_and_drops_namespaces():
    tree = manscdp.parse_tree(
        b'<n:Notify xmlns:n="urn:x" a:k="1" xmlns:a="urn:a"> head <SN>7</SN> tail '
        b"<DeviceID>&lt;1&gt;</DeviceID></n:Notify>"
    )
    assert (tree.tag, tree.text, tree.attributes) == ("Notify", "head", {"k": "1"})
    assert [(c.tag, c.text) for c in tree.children] == [("SN", "7"), ("DeviceID", "<1>")]
    assert tree == manscdp.Node(
        "Notify",
        "head",
        (manscdp.Node("SN", "7"), manscdp.Node("DeviceID", "<1>")),
        {"k": "1"},
    )
    assert tree.child("sn") is tree.children[0] and tree.child("nothing") is None


def test_a_keepalive_is_the_same_message_as_one_built_field_by_field():
    body = manscdp.build_keepalive(9, "37140200001180000001")
    message = manscdp.parse(body)
    assert message == manscdp.Keepalive(
        root="Notify",
        cmd_type="Keepalive",
        sn=9,
        device_id="37140200001180000001",
        fields=message.fields,
        status="OK",
    )
    assert message.fields == {
        "CmdType": "Keepalive",
        "SN": "9",
        "DeviceID": "37140200001180000001",
        "Status": "OK",
    }


@pytest.mark.parametrize(
    ("depth", "refused"), [(manscdp.MAX_DEPTH + 1, False), (manscdp.MAX_DEPTH + 2, True)]
)
def test_nesting_is_limited_while_parsing(depth, refused):
    body = b"<a>" * depth + b"</a>" * depth
    if refused:
        with pytest.raises(manscdp.ManscdpError, match="nested too deeply"):
            manscdp.parse_tree(body)
    else:
        manscdp.parse_tree(body)


def test_the_udp_socket_makes_the_way_back_to_an_address_once():
    received = []

    class Server:
        def receive(self, data, channel):
            received.append(channel)

    class Transport:
        def sendto(self, data, address):
            pass

        def is_closing(self):
            return False

        def get_extra_info(self, name, default=None):
            return default

    protocol = UdpProtocol(Server())  # type: ignore[arg-type]
    protocol.connection_made(Transport())  # type: ignore[arg-type]
    protocol.datagram_received(b"x", ("10.0.0.2", 5060))
    protocol.datagram_received(b"y", ("10.0.0.2", 5060))
    protocol.datagram_received(b"z", ("10.0.0.3", 5060))
    assert received[0] is received[1] and received[2] is not received[0]
    assert received[2].remote == Remote("udp", "10.0.0.3", 5060)


def test_a_resent_keepalive_is_answered_with_the_same_bytes_before_any_parsing(monkeypatch):
    import time

    from campus_safety.gateway.gb28181 import server as gb
    from campus_safety.gateway.gb28181.listeners import Channel

    keepalives = []

    async def nothing(*args):
        return None

    interface = gb.PlatformInterface(
        nothing, nothing, nothing, lambda d, r: keepalives.append(d), nothing, nothing, nothing
    )
    server = gb.Gb28181Server(interface, gb.ServerConfig(rate_per_second=0))
    sent: list[bytes] = []
    remote = Remote("udp", "10.0.0.2", 5060)
    channel = Channel(remote, sent.append, lambda: True)
    device_id = "37140200001180000001"
    server.registrations[device_id] = gb._Registration(
        device_id, channel, time.monotonic() + 3600, 3600
    )
    data = sip.build_request(
        "MESSAGE",
        "sip:37140000002000000001@3714000000",
        via="SIP/2.0/UDP 10.0.0.2:5060;rport;branch=z9hG4bKresent",
        from_=f"<sip:{device_id}@3714000000>;tag=a",
        to="<sip:37140000002000000001@3714000000>",
        call_id="resent-1",
        cseq=20,
        body=manscdp.build_keepalive(1, device_id),
        content_type=manscdp.CONTENT_TYPE,
    )
    server.receive(data, channel)
    monkeypatch.setattr(sip, "parse_message", lambda *a, **k: pytest.fail("parsed again"))
    server.receive(data, channel)
    assert sent[0] == sent[1] and sent[0].startswith(b"SIP/2.0 200 OK")
    assert keepalives == [device_id]
    assert (server.stats["keepalives"], server.stats["retransmissions"]) == (1, 1)
    # from another address the same bytes are another request: parsed, not replayed
    monkeypatch.undo()
    other = Channel(Remote("udp", "10.0.0.2", 5061), sent.append, lambda: True)
    server.receive(data, other)
    assert server.stats["retransmissions"] == 1
