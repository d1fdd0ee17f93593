"""The device contract's pure parts: MQTT topics and HTTP signatures, on strings alone."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus_safety.gateway.contract import (
    KINDS,
    TOPIC_ROOT,
    ContractError,
    parse_topic,
    signature,
    signature_matches,
    topic,
)

device_ids = st.text(alphabet=string.digits, min_size=1, max_size=20)


@given(device_ids, st.sampled_from(KINDS))
def test_a_topic_a_device_publishes_on_reads_back_as_its_device_and_kind(device_id, kind):
    assert parse_topic(topic(device_id, kind)) == (device_id, kind)


@pytest.mark.parametrize(
    "name",
    [
        "campus/v1/37140200001320000001",  # no kind
        "campus/v1//alarm",  # no device
        "campus/v1/37140200001320000001/alarm/extra",
        "campus/v1/371402000013200000019/alarm",  # 21 characters
        "campus/v1/37140200001320000001/reboot",  # not a kind
        "campus/v2/37140200001320000001/alarm",
        "",
    ],
)
def test_a_topic_off_the_contract_is_refused_with_a_reason(name):
    with pytest.raises(ContractError) as refused:
        parse_topic(name)
    assert refused.value.reason


@given(st.text(max_size=200))
def test_any_topic_either_parses_within_the_contract_or_is_refused(name):
    try:
        device_id, kind = parse_topic(name)
    except ContractError:
        return
    assert name == f"{TOPIC_ROOT}/{device_id}/{kind}"
    assert kind in KINDS and 1 <= len(device_id) <= 20


@given(st.text(min_size=1), st.text(max_size=30), st.binary(max_size=500))
def test_a_signature_matches_its_own_request_and_nothing_else(secret, timestamp, body):
    sent = signature(secret, timestamp, body)
    assert len(sent) == 64
    assert signature_matches(secret, timestamp, body, sent.upper())  # hex in any case
    assert not signature_matches(secret, timestamp, body + b" ", sent)
    assert not signature_matches(secret + "x", timestamp, body, sent)
    assert not signature_matches(secret, timestamp + "1", body, sent)


def test_the_signature_is_hmac_sha256_over_timestamp_newline_body():
    # Computed independently: printf '1700000000\n{}' | openssl dgst -sha256 -hmac key
    assert signature("key", "1700000000", b"{}") == (
        "dc69947da92a4b74a8dc1043568a9cd906a846272955d61394a6ff449c53eb36"
    )
