"""The keepalive fast path reads and answers a MESSAGE exactly as the general path does.

``plain_message.read`` either gives up (None: the general parser takes the datagram)
or extracts the same fields ``sip.parse_message`` reads and joins the same 200 OK bytes
``sip.build_response`` makes. Hypothesis writes keepalives the way devices do and the
ways they should not: compact and odd-case header names, any order, spaces around the
colon, several Vias (in one header or several), folded lines, display names, tags or
none, wrong Content-Lengths, other methods, bare LFs, stray bytes. Then whole servers,
one with the fast path and one without, are fed the same datagrams and must send the
same bytes, count the same and hand the same keepalives to the platform.
"""

from __future__ import annotations

import asyncio
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campus_safety.gateway.gb28181 import manscdp, plain_message, sip, transactions
from campus_safety.gateway.gb28181 import server as gb
from campus_safety.gateway.gb28181.interface import Remote
from campus_safety.gateway.gb28181.listeners import Channel
from tests.gateway.gb28181.harness import DOMAIN, PLATFORM_ID, FakePlatform, make_config

DEVICE = "37140200001320000001"
SOURCE = ("192.0.2.7", 5071)
USER_AGENT = "CampusSafety-GB28181"

NAMES = {
    "Via": ["Via", "v", "VIA", "via", "V", "vIA"],
    "From": ["From", "f", "FROM", "from", "F"],
    "To": ["To", "t", "TO", "to", "T"],
    "Call-ID": ["Call-ID", "i", "call-id", "CALL-ID", "Call-Id", "I"],
    "CSeq": ["CSeq", "CSEQ", "cseq", "Cseq"],
    "Content-Type": ["Content-Type", "c", "content-type", "CONTENT-TYPE"],
    "Content-Length": ["Content-Length", "l", "content-length", "L"],
    "Max-Forwards": ["Max-Forwards", "max-forwards"],
    "User-Agent": ["User-Agent", "user-agent"],
}
TOKEN = st.text(alphabet="abcdefXYZ0123456789-.", min_size=1, max_size=10)
SPACES = ["", " ", "\t"]
HOSTS = st.sampled_from(["192.0.2.7", "10.1.2.3", "cam.example", "[2001:db8::7]"])


def keepalive_body(sn: int) -> bytes:
    return manscdp.build_keepalive(sn, DEVICE)


@st.composite
def datagrams(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A keepalive MESSAGE, and whether it is plain (the fast path must take it)."""
    plain = True

    def name(canonical: str) -> str:
        return draw(st.sampled_from(NAMES[canonical]))

    def line(sent: str, value: str) -> str:
        colon = draw(st.sampled_from([": ", ":", " : ", ":  ", "\t:\t"]))
        return f"{sent}{colon}{value}{draw(st.sampled_from(SPACES))}"

    vias = []
    for number in range(draw(st.integers(1, 3))):
        host = draw(HOSTS) if number or draw(st.booleans()) else SOURCE[0]
        port = draw(st.sampled_from(["", ":5060", f":{SOURCE[1]}", ":7"]))
        cookie = draw(st.sampled_from([sip.BRANCH_COOKIE, sip.BRANCH_COOKIE, "x", ""]))
        params = draw(
            st.lists(
                st.sampled_from(
                    ["rport", "rport=5071", "RPORT", "received=10.0.0.1", "ttl=3", 'x="a b"']
                ),
                max_size=3,
            )
        )
        params.append(f"branch={cookie}{draw(TOKEN)}")
        params = draw(st.permutations(params))
        transport = draw(st.sampled_from(["UDP", "udp", "TCP"]))
        space = draw(st.sampled_from([" ", "  ", "\t"]))
        vias.append(f"SIP/2.0/{transport}{space}{host}{port};{';'.join(params)}")
    if len(vias) > 1 and draw(st.booleans()):
        vias = [draw(st.sampled_from([", ", ",", " , "])).join(vias)]
    tag = draw(st.none() | TOKEN)
    display = draw(st.sampled_from(["", '"Camera 1" ', "Cam "]))
    from_ = f"{display}<sip:{DEVICE}@{DOMAIN}>" + ("" if tag is None else f";tag={tag}")
    to = f"<sip:{PLATFORM_ID}@{DOMAIN}>" + draw(st.sampled_from(["", ";tag=abc"]))
    call_id = (
        draw(st.sampled_from(["", "c1", "a b", "x" * 300]))
        if draw(st.integers(0, 9)) == 0
        else f"{draw(TOKEN)}@{draw(HOSTS)}"
    )
    plain = plain and bool(call_id) and " " not in call_id and len(call_id) <= 256
    number = draw(st.integers(0, 2**31 + 5) | st.sampled_from([1, 20, 2**31 - 1, 2**31]))
    method = draw(st.sampled_from(["MESSAGE"] * 8 + ["message", "INFO"]))
    plain = plain and number < 2**31 and method == "MESSAGE"
    body = keepalive_body(draw(st.integers(1, 10**12)))
    headers = [line(name("Via"), via) for via in vias]
    headers += [
        line(name("From"), from_),
        line(name("To"), to),
        line(name("Call-ID"), call_id),
        line(name("CSeq"), f"{number}{draw(st.sampled_from([' ', '  ', chr(9)]))}{method}"),
        line(name("Max-Forwards"), "70"),
        line(name("User-Agent"), "IPC"),
    ]
    content_type = draw(
        st.sampled_from(
            ["Application/MANSCDP+xml", "application/manscdp+xml; charset=gb2312", "text/plain"]
        )
        | st.none()
    )
    if content_type is not None:
        headers.append(line(name("Content-Type"), content_type))
    length = draw(st.sampled_from(["right", "right", "none", "long", "short", "twice", "two", "x"]))
    lengths = {
        "right": [str(len(body))],
        "none": [],
        "long": [str(len(body) + 1)],
        "short": [str(len(body) - 3)],
        "twice": [str(len(body))] * 2,
        "two": [str(len(body)), str(len(body) - 1)],
        "x": ["1x"],
    }[length]
    plain = plain and length in ("right", "none", "short", "twice")
    headers += [line(name("Content-Length"), value) for value in lengths]
    extra = draw(
        st.sampled_from(
            [
                None,
                "Expires: 60",
                "Contact: <sip:a@b>",
                "Subject: x",
                "X-Odd_Name~: 1",
                "Bad Name: 1",
            ]
        )
    )
    if extra is not None:
        headers.append(extra)
        plain = plain and extra.split(":")[0] in ("Subject", "X-Odd_Name~")
    headers = draw(st.permutations(headers))
    if draw(st.integers(0, 5)) == 0:  # a folded line
        position = draw(st.integers(0, len(headers) - 1))
        head, _, tail = headers[position].rpartition(";")
        if head:
            headers[position] = f"{head}\r\n {draw(st.sampled_from(SPACES))};{tail}"
            plain = False
    start = draw(
        st.sampled_from(
            [f"MESSAGE sip:{PLATFORM_ID}@{DOMAIN} SIP/2.0"] * 6
            + [f"MESSAGE sip:{PLATFORM_ID}@{DOMAIN} sip/2.0", "MESSAGE  sip:x@y SIP/2.0"]
        )
    )
    plain = plain and start.endswith("SIP/2.0") and "  " not in start
    data = ("\r\n".join([start, *headers]) + "\r\n\r\n").encode() + body
    if draw(st.integers(0, 5)) == 0:  # a stray byte
        position = draw(st.integers(0, len(data)))
        insert = draw(st.sampled_from([b"\n", b"\r", b"\x00", b"\xc3\xa9", b"\xff", b",", b" "]))
        data = data[:position] + insert + data[position:]
        plain = False
    return data, plain


def full_path(data: bytes) -> sip.SipRequest | None:
    try:
        message = sip.parse_message(data)
    except sip.SipParseError:
        return None
    assert isinstance(message, sip.SipRequest)
    return message


@given(datagrams())
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_what_the_fast_path_reads_is_what_the_parser_reads(case: tuple[bytes, bool]) -> None:
    data, plain = case
    fast = plain_message.read(data)
    full = full_path(data)
    if fast is None:
        # it gives up on anything unusual, but never on a plain keepalive the parser takes
        assert not (plain and full is not None and full.method == "MESSAGE" and _ordinary(full))
        return
    assert full is not None and full.method == "MESSAGE"
    assert fast.body == full.body
    assert fast.call_id == full.call_id
    assert fast.cseq_number == full.cseq.number
    assert fast.sender == full.from_.uri.user
    assert fast.from_tag == full.from_.tag
    assert fast.has_to_tag == (full.to.tag is not None)
    assert fast.content_type == full.content_type
    assert fast.top_via == full.top_via
    assert fast.transaction_key(SOURCE) == transactions.transaction_key(full, SOURCE)
    tag = transactions.to_tag(full)
    assert transactions.derive_to_tag(fast.call_id, fast.from_tag, fast.cseq_number) == tag
    assert fast.ok(tag, SOURCE, f"User-Agent: {USER_AGENT}\r\n") == sip.build_response(
        full,
        200,
        sip.reason_phrase(200),
        to_tag=tag,
        received=SOURCE,
        headers=[("User-Agent", USER_AGENT)],
    )


def _ordinary(request: sip.SipRequest) -> bool:
    """Not one of the few things a keepalive never has, on which the fast path gives up
    though the parser takes them (a request line in lower case, a display name…)."""
    return request.header("Expires") is None and request.header("Contact") is None


# --- whole servers, with and without the fast path ---------------------------------------


def make_server(platform: FakePlatform, *, fast: bool) -> tuple[gb.Gb28181Server, list[bytes]]:
    server = gb.Gb28181Server(platform.interface(), make_config())
    if not fast:
        server._fast_extra = None
    sent: list[bytes] = []
    channel = Channel(Remote("udp", *SOURCE), sent.append, lambda: True)
    server.registrations[DEVICE] = gb._Registration(DEVICE, channel, time.monotonic() + 3600, 3600)
    return server, sent


def request(body: bytes, *, branch: str, number: int, sender: str = DEVICE) -> bytes:
    return sip.build_request(
        "MESSAGE",
        f"sip:{PLATFORM_ID}@{DOMAIN}",
        via=f"SIP/2.0/UDP {SOURCE[0]}:{SOURCE[1]};rport;branch={sip.BRANCH_COOKIE}{branch}",
        from_=f"<sip:{sender}@{DOMAIN}>;tag=f{number % 3}",
        to=f"<sip:{PLATFORM_ID}@{DOMAIN}>",
        call_id=f"call-{number}",
        cseq=number,
        body=body,
        content_type=manscdp.CONTENT_TYPE,
    )


KINDS = ["keepalive"] * 3 + ["resend"] * 2 + ["other host", "port", "stranger", "alarm"]
KINDS += ["status", "forget replies", "mutated"]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(1, 10**6),
        st.integers(0, 400),
        st.binary(min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=25,
)


@given(STEPS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_server_answers_the_same_with_and_without_the_fast_path(steps) -> None:
    asyncio.run(_compare(steps))


def answers(sent: list[bytes]) -> list[bytes]:
    """What was sent, but our own requests (an alarm's Response: new branch and tags)."""
    return [data for data in sent if data.startswith(b"SIP/2.0 ")]


async def _compare(steps) -> None:
    platforms = [FakePlatform(), FakePlatform()]
    (fast, fast_sent), (slow, slow_sent) = (
        make_server(platforms[0], fast=True),
        make_server(platforms[1], fast=False),
    )
    history: list[bytes] = []
    for number, (what, sn, position, insert) in enumerate(steps, start=1):
        host, port = SOURCE
        sender = DEVICE
        if what == "resend" and history:
            data = history[sn % len(history)]
        else:
            body = keepalive_body(sn)
            if what == "alarm":
                body = manscdp.build_alarm_notify(
                    sn=sn, device_id=DEVICE, priority=1, method=2, alarm_time="2026-12-07T08:00:00"
                )
            elif what == "status":
                body = manscdp.build_keepalive(sn, DEVICE, status="ERROR")
            data = request(body, branch=f"b{number}", number=number, sender=sender)
            if what == "mutated":
                position %= len(data)
                data = data[:position] + insert + data[position + 1 :]
            elif what == "other host":
                host = "192.0.2.99"
            elif what == "port":
                port = 6000  # NAT rebinding: the registration follows
            elif what == "stranger":
                data = data.replace(DEVICE.encode(), b"37140200001320000099")
            elif what == "forget replies":  # a resend then reaches the transaction cache
                fast._replies = transactions.ResponseCache(ttl=8.0)
                slow._replies = transactions.ResponseCache(ttl=8.0)
                data = history[sn % len(history)] if history else data
        history.append(data)
        for server, sent in ((fast, fast_sent), (slow, slow_sent)):
            channel = Channel(Remote("udp", host, port), sent.append, lambda: True)
            server.receive(data, channel)
        await asyncio.sleep(0)
        assert answers(fast_sent) == answers(slow_sent)
    await asyncio.sleep(0.01)  # the alarms' tasks
    assert len(fast_sent) == len(slow_sent)  # and the alarms' Responses (random branches)
    fast_path = fast.stats.pop("keepalives_fast", 0)
    assert fast.stats == slow.stats  # but the count of those the fast path took
    assert fast_path <= fast.stats["keepalives"]
    assert platforms[0].keepalives == platforms[1].keepalives
    assert len(platforms[0].alarms) == len(platforms[1].alarms)
    assert fast.keepalive_bodies.hits == slow.keepalive_bodies.hits
    assert fast.registrations[DEVICE].channel.remote == slow.registrations[DEVICE].channel.remote
    for server in (fast, slow):
        server.close()


def test_the_fast_path_takes_a_registered_devices_keepalive() -> None:
    """Not vacuous: after the first (parsed) keepalive of a shape, the next are taken by
    the fast path, and answered as the general path answers them."""
    platform = FakePlatform()
    server, sent = make_server(platform, fast=True)
    channel = Channel(Remote("udp", *SOURCE), sent.append, lambda: True)
    taken = []
    for number in range(1, 5):
        data = request(keepalive_body(number), branch=f"k{number}", number=number)
        taken.append(server._keepalive(data, channel))
        if not taken[-1]:
            server.receive(data, channel)
    assert taken == [False, True, True, True]
    assert len(sent) == 4 and all(answer.startswith(b"SIP/2.0 200 OK\r\n") for answer in sent)
    assert [device for device, _ in platform.keepalives] == [DEVICE] * 4
    assert server.stats["keepalives"] == 4 and server.keepalive_bodies.hits == 3
    assert server.stats["keepalives_fast"] == 3


PIECE = st.text(alphabet="aZ09.-_:;=[]\"' ,~", max_size=8)


@given(
    transport=st.sampled_from(["UDP", "TCP", "udp", "TLS", "SCTP"]),
    space=st.sampled_from([" ", "  ", "\t", ""]),
    host=st.text(alphabet="aZ09.-_:[]", min_size=0, max_size=12),
    port=st.none() | st.text(alphabet="0123456789", min_size=0, max_size=6),
    params=st.lists(st.tuples(PIECE, st.none() | PIECE), max_size=4),
)
@settings(max_examples=1000, deadline=None)
def test_a_plain_via_reads_as_parse_via_reads_it(transport, space, host, port, params):
    value = f"SIP/2.0/{transport}{space}{host}" + ("" if port is None else f":{port}")
    value += "".join(f";{name}" + ("" if param is None else f"={param}") for name, param in params)
    plain = plain_message._plain_via(value)
    if plain is None:
        return
    assert plain == sip.parse_via(value)


@given(
    display=st.sampled_from(["", '"A" ', "B "]),
    user=st.text(alphabet="aZ09.-@", max_size=8),
    host=st.text(alphabet="aZ09.-", min_size=1, max_size=8),
    port=st.none() | st.integers(0, 70_000),
    tag=st.none() | st.text(alphabet="aZ09-;=", max_size=6),
)
@settings(max_examples=600, deadline=None)
def test_user_and_tag_read_as_parse_name_addr_reads_them(display, user, host, port, tag):
    value = f"{display}<sip:{user}@{host}{'' if port is None else f':{port}'}>"
    value += "" if tag is None else f";tag={tag}"
    sip._NAME_ADDRS.clear()
    try:
        expected = sip._parse_name_addr(value)
    except sip.SipParseError:
        try:
            plain_message._user_and_tag(value)
        except sip.SipParseError:
            return
        raise AssertionError(f"{value!r} read by the fast path, refused by the parser") from None
    assert plain_message._user_and_tag(value) == (expected.uri.user, expected.tag)


def test_answer_is_begin_and_finish_at_once() -> None:
    cache = transactions.ResponseCache(ttl=32.0)
    assert cache.answer("k", transactions.REBUILD_200, 0.0) is None
    assert cache.begin("k", 1.0) == transactions.REBUILD_200  # a resend: the kept answer
    assert cache.answer("k", b"other", 2.0) == transactions.REBUILD_200  # nothing changed
    assert cache.answer("k", b"late", 40.0) is None  # expired: new again, kept
    assert cache.get("k", 41.0) == b"late"
