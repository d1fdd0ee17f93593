"""Server transactions and per-source rate limiting, with time passed in."""

from __future__ import annotations

from campus_safety.gateway.gb28181 import sip
from campus_safety.gateway.gb28181.ratelimit import RateLimiter
from campus_safety.gateway.gb28181.transactions import (
    IN_PROGRESS,
    ResponseCache,
    to_tag,
    transaction_key,
)

REQUEST = sip.parse_message(
    b"MESSAGE sip:37140000002000000001@3714000000 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK77\r\nFrom: <sip:a@b>;tag=1\r\n"
    b"To: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 4 MESSAGE\r\nContent-Length: 0\r\n\r\n"
)
SOURCE = ("10.0.0.2", 5060)


def test_a_request_is_new_then_in_progress_then_answered_from_the_cache_until_timer_j():
    cache = ResponseCache(ttl=32)
    key = transaction_key(REQUEST, SOURCE)
    assert cache.begin(key, now=0) is None
    assert cache.begin(key, now=1) == IN_PROGRESS
    cache.finish(key, b"SIP/2.0 200 OK...", now=2)
    assert cache.begin(key, now=33) == b"SIP/2.0 200 OK..."
    assert cache.expire(now=35) == 1
    assert cache.begin(key, now=35) is None


def test_the_same_branch_from_another_address_or_with_another_cseq_is_another_transaction():
    key = transaction_key(REQUEST, SOURCE)
    assert transaction_key(REQUEST, ("10.0.0.3", 5060)) != key
    other = sip.parse_message(
        sip.build_request(
            "MESSAGE",
            REQUEST.uri,
            via=REQUEST.header("Via"),
            from_=REQUEST.header("From"),
            to=REQUEST.header("To"),
            call_id="x",
            cseq=5,
        )
    )
    assert transaction_key(other, SOURCE) != key


def test_our_to_tag_is_the_same_for_a_resent_request():
    assert to_tag(REQUEST) == to_tag(
        sip.parse_message(
            sip.build_request(
                "MESSAGE",
                REQUEST.uri,
                via=REQUEST.header("Via"),
                from_=REQUEST.header("From"),
                to=REQUEST.header("To"),
                call_id="x",
                cseq=4,
            )
        )
    )


def test_a_full_cache_drops_its_oldest_entries():
    cache = ResponseCache(ttl=32, max_entries=3)
    for n in range(5):
        cache.begin(("key", n), now=0)
    assert len(cache) == 3
    assert cache.begin(("key", 0), now=0) is None  # forgotten, so new again


def test_a_source_gets_its_burst_then_the_steady_rate():
    limiter = RateLimiter(rate=10, burst=5)
    assert [limiter.allow("a", now=0) for _ in range(7)] == [True] * 5 + [False] * 2
    assert limiter.allow("b", now=0)  # another address has its own bucket
    assert limiter.allow("a", now=0.1)  # 0.1 s × 10/s = one token back
    assert not limiter.allow("a", now=0.1)


def test_idle_sources_are_forgotten_and_a_zero_rate_means_no_limit():
    limiter = RateLimiter(rate=10, burst=5)
    limiter.allow("a", now=0)
    limiter.prune(now=1)
    assert limiter._buckets == {}
    unlimited = RateLimiter(rate=0, burst=0)
    assert all(unlimited.allow("a", now=0) for _ in range(1000))


def test_expiry_reads_from_the_old_end_and_a_restarted_transaction_is_the_newest():
    cache = ResponseCache(ttl=10)
    cache.begin("a", now=0)
    cache.begin("b", now=5)
    assert cache.begin("a", now=11) is None  # expired: new again, now the newest
    assert cache.expire(now=15.5) == 1  # b (until 15) goes, a (until 21) stays
    assert cache.begin("a", now=16) == IN_PROGRESS
    assert cache.begin("b", now=16) is None
