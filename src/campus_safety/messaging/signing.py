"""The SMS gateway contract's signature, on bytes alone (no Django): HMAC-SHA256 over
``<timestamp>.<body>`` with the shared secret, sent as ``X-Campus-Signature:
sha256=<hex>`` beside ``X-Campus-Timestamp: <Unix seconds>``. The timestamp is inside
the signed string so a gateway can refuse a replayed request (docs/deployment.md)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Campus-Signature"
TIMESTAMP_HEADER = "X-Campus-Timestamp"


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The header value: ``sha256=`` and the hex HMAC of ``timestamp.body``."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def is_valid(secret: bytes, timestamp: str, body: bytes, header: str) -> bool:
    """What a gateway checks (and the tests' gateway does): the header signs this body
    at this timestamp, compared in constant time."""
    return hmac.compare_digest(signature(secret, timestamp, body), header or "")
