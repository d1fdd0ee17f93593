"""Server transactions (RFC 3261 17.2): a retransmitted request gets the same answer.

UDP peers resend a request until they hear a final response; the answer is kept for
Timer J (64 × T1 = 32 s) so a resend is answered from here and never processed twice.
Pure: time is passed in.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable

from campus_safety.gateway.gb28181.sip import BRANCH_COOKIE, SipRequest

IN_PROGRESS = b""  # the request is being handled; a resend is ignored until it is answered
# Answered with a plain 200 that is rebuilt byte for byte from the resent request (our To
# tag is derived from it): keepalives, the bulk of the traffic, then cost a few dozen
# bytes each in the cache instead of a whole response.
REBUILD_200 = b"200"


def transaction_key(request: SipRequest, source: tuple[str, int]) -> Hashable:
    """Top Via branch + sent-by + CSeq (RFC 3261 17.2.3), per source address; the
    RFC 2543 fallback (no magic cookie) uses Call-ID, From tag and the Via instead."""
    via = request.top_via
    cseq = request.cseq
    branch = via.branch or ""
    if branch.startswith(BRANCH_COOKIE):
        return (branch, via.sent_by, cseq.number, cseq.method, source)
    return (
        request.call_id,
        request.from_.tag,
        via.sent_by,
        branch,
        cseq.number,
        cseq.method,
        source,
    )


def to_tag(request: SipRequest) -> str:
    """Our To tag, derived from the request so a rebuilt answer is byte-identical."""
    return derive_to_tag(request.call_id, request.from_.tag, request.cseq.number)


def derive_to_tag(call_id: str, from_tag: str | None, cseq_number: int) -> str:
    """``to_tag`` from the three values it depends on (the keepalive fast path has no
    ``SipRequest``)."""
    seed = f"{call_id}|{from_tag}|{cseq_number}".encode()
    return hashlib.blake2s(seed, digest_size=5).hexdigest()


class ResponseCache:
    """Final responses by transaction key, expiring after ``ttl`` seconds.

    Oldest first (an ``OrderedDict``): expiry reads from the old end and a full cache
    drops its oldest entry, each in constant time. It once made room by listing every
    key on each insert, which above ``max_entries / ttl`` requests a second (~7,800/s
    for the transaction cache) cost a millisecond per message and turned a busy second
    into a resend storm (bench/keepalive.py at 10,000/s)."""

    def __init__(self, ttl: float = 32.0, max_entries: int = 250_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        # keyed by hash(key): 64 bits, collisions negligible at this size, far smaller
        self._entries: OrderedDict[int, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, key: Hashable, now: float) -> bytes | None:
        """None for a new request (now marked in progress), else the cached answer or
        ``IN_PROGRESS``."""
        return self.answer(key, IN_PROGRESS, now)

    def answer(self, key: Hashable, response: bytes, now: float) -> bytes | None:
        """``begin`` and ``finish`` at once, for a request answered as soon as it is
        read (the keepalive fast path): None when new (``response`` is kept), else what
        ``begin`` answers, and nothing is changed."""
        digest = hash(key)
        entry = self._entries.get(digest)
        if entry is not None:
            if entry[0] > now:
                return entry[1]
            self._entries.move_to_end(digest)  # expired: starts again as the newest
        self._put(digest, response, now)
        return None

    def finish(self, key: Hashable, response: bytes, now: float) -> None:
        self._put(hash(key), response, now)

    def _put(self, digest: int, response: bytes, now: float) -> None:
        entries = self._entries
        if digest not in entries:
            while len(entries) >= self.max_entries:
                entries.popitem(last=False)  # the oldest
        entries[digest] = (now + self.ttl, response)

    def get(self, key: Hashable, now: float) -> bytes | None:
        """The final answer kept for ``key``, if any (nothing is marked)."""
        entry = self._entries.get(hash(key))
        if entry is None or entry[0] <= now or entry[1] == IN_PROGRESS:
            return None
        return entry[1]

    def forget(self, key: Hashable) -> None:
        self._entries.pop(hash(key), None)

    def expire(self, now: float) -> int:
        """Drop expired entries from the old end (insertion order ≈ expiry order)."""
        entries = self._entries
        dropped = 0
        while entries:
            digest = next(iter(entries))
            if entries[digest][0] > now:
                break
            del entries[digest]
            dropped += 1
        return dropped
