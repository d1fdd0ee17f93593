"""The MQTT keepalive fast path says "valid" only where the full path accepts the
heartbeat, and it does say so for what devices send. On bytes; the full path is
``ingest.parse_json_event`` itself."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from campus_safety.gateway import ingest
from campus_safety.gateway.mqtt_heartbeat import is_valid_heartbeat
from campus_safety.simulator.mqtt_devices import now_rfc3339

DEVICE = "37140200111347000001"
LIMIT = 16 * 1024  # INGEST_MAX_EVENT_BYTES (the bodies here are far smaller)


def full_path_accepts(body: bytes) -> bool:
    try:
        message = ingest.parse_json_event(DEVICE, "heartbeat", body, "mqtt")
    except ingest.InvalidEvent:
        return False
    return message.kind == "heartbeat"


timestamps = st.one_of(
    st.sampled_from(["2026-03-02T08:15:00+08:00", "2026-03-02T00:15:00Z",
                     "2026-03-02T08:15:00.123+08:00", "2026-03-02T08:15:00", "2026-03-02",
                     "2026-13-02T08:15:00+08:00", "yesterday", "2026-03-02 08:15:00+0800"]),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(lambda t: t.isoformat()),
    st.text(max_size=45),
)  # fmt: skip
values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=70),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
fields = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.one_of(st.text(max_size=70), values),
        "ts": st.one_of(timestamps, values),
        "device_id": st.one_of(st.just(DEVICE), st.just("37140200111347000002"), values),
        "seq": values,
    },
)


@st.composite
def bodies(draw) -> bytes:
    """JSON objects (and other JSON) as devices might send them, in several encodings and
    spacings, plus arbitrary bytes."""
    kind = draw(st.sampled_from(["object", "object", "object", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=120))
    document = draw(fields) if kind == "object" else draw(values)
    text = json.dumps(document, ensure_ascii=draw(st.booleans()), allow_nan=True)
    text = draw(st.sampled_from(["", " ", "\n", "\t"])) + text + draw(st.sampled_from(["", " \n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16-le", "utf-16"]))
    return text.encode(encoding, "surrogatepass")


@settings(max_examples=1500, deadline=None)
@given(bodies())
@example(b"")
@example(b"   \n")
@example(b'{"event_id": "", "ts": "2026-03-02T08:15:00+08:00"}')
@example(b'{"event_id": "a\\u0001b"}')
@example(b'{"ts": "2026-03-02T08:15:00"}')
@example(b'{"event_id": 7}')
@example(b'{"event_id": true}')
@example(b'{"event_id": "x", "n": NaN}')
@example(b'{"event_id": "x"} trailing')
@example(b'{"event_id": "\xed\xa0\x80"}')  # a UTF-8-encoded surrogate
@example(b"{\x00")
@example(b'["event_id"]')
def test_the_fast_path_calls_valid_only_what_the_full_path_accepts(body):
    if is_valid_heartbeat(DEVICE, body, LIMIT):
        assert full_path_accepts(body)


@given(
    event_id=st.text(
        st.characters(min_codepoint=32, exclude_categories=("Cs",)), min_size=1, max_size=64
    ),
    when=st.datetimes(timezones=st.timezones()),
    with_device=st.booleans(),
    ensure_ascii=st.booleans(),
)
def test_a_well_formed_heartbeat_takes_the_fast_path(event_id, when, with_device, ensure_ascii):
    document = {"event_id": event_id, "ts": when.isoformat()}
    if with_device:
        document["device_id"] = DEVICE
    body = json.dumps(document, ensure_ascii=ensure_ascii).encode()
    assert is_valid_heartbeat(DEVICE, body, LIMIT)
    assert full_path_accepts(body)


spaces = st.text(" \t\n\r", max_size=2)


@settings(max_examples=800, deadline=None)
@given(
    event_id=st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=66), st.text()
    ),
    ts=timestamps,
    gaps=st.lists(spaces, min_size=9, max_size=9),
)
def test_the_usual_two_field_shape_gets_exactly_the_full_paths_answer(event_id, ts, gaps):
    """The shape devices send, with any JSON spacing and any strings in it (escaped
    where JSON must escape them): checked without decoding when it can be, and the
    answer is the full path's, both ways."""
    parts = ["{", '"event_id"', ":", json.dumps(event_id), ",", '"ts"', ":", json.dumps(ts), "}"]
    body = "".join(gap + part for gap, part in zip(gaps, parts, strict=True)).strip() + gaps[0]
    encoded = body.encode("utf-8", "surrogatepass")
    assert is_valid_heartbeat(DEVICE, encoded, LIMIT) == full_path_accepts(encoded)


def test_what_the_simulator_sends_takes_the_fast_path():
    body = json.dumps({"event_id": "hb-1", "ts": now_rfc3339()}).encode()
    assert is_valid_heartbeat(DEVICE, body, LIMIT)


@pytest.mark.parametrize(
    "body",
    [b"", b" ", b"{}", b'{"device_id": "37140200111347000001"}'],
)
def test_an_empty_heartbeat_or_empty_object_is_valid(body):
    assert is_valid_heartbeat(DEVICE, body, LIMIT) and full_path_accepts(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"device_id": "37140200111347000002"}',  # another device's name
        b'{"ts": "2026-03-02T08:15:00"}',  # no offset
        b'{"event_id": ""}',
        b'{"event_id": "' + b"x" * 65 + b'"}',
        b"{not json",
        b"[]",
    ],
)
def test_a_bad_heartbeat_is_left_to_the_full_path_which_refuses_it(body):
    assert not is_valid_heartbeat(DEVICE, body, LIMIT)
    assert not full_path_accepts(body)


def test_a_heartbeat_over_the_size_limit_is_not_fast():
    body = json.dumps({"event_id": "hb-1", "pad": "x" * 200}).encode()
    assert not is_valid_heartbeat(DEVICE, body, 100)
    assert is_valid_heartbeat(DEVICE, body, LIMIT)
