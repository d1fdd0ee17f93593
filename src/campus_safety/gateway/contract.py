"""The device contract's pure parts (ARCHITECTURE.md §5), on strings and bytes alone:
the event kinds every protocol carries, the MQTT topic, the HTTP request signature.
No Django here, so a device maker's own code (and the simulator) can follow the same
lines, and these are tested on bytes."""

from __future__ import annotations

import hashlib
import hmac

KINDS = ("heartbeat", "alarm", "patrol", "status", "vehicle.plate")  # plate: gate ANPR (#17)
TOPIC_ROOT = "campus/v1"
MAX_DEVICE_ID = 20  # GB/T 28181 IDs are 20 digits


class ContractError(ValueError):
    """A message that breaks the contract; ``reason`` goes back to the device."""

    @property
    def reason(self) -> str:
        return str(self)


def topic(device_id: str, kind: str, root: str = TOPIC_ROOT) -> str:
    """``campus/v1/{device_id}/{kind}``: where a device publishes."""
    return f"{root}/{device_id}/{kind}"


def parse_topic(name: str, root: str = TOPIC_ROOT) -> tuple[str, str]:
    """``campus/v1/{device_id}/{kind}`` → (device_id, kind); raises ContractError."""
    prefix = root + "/"
    parts = name[len(prefix) :].split("/") if name.startswith(prefix) else []
    if len(parts) != 2 or not parts[0] or len(parts[0]) > MAX_DEVICE_ID:
        raise ContractError(f"topic must be {root}/<device_id>/<kind>")
    if parts[1] not in KINDS:
        raise ContractError(f"topic kind must be one of {', '.join(KINDS)}")
    return parts[0], parts[1]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Signature``: hex HMAC-SHA256 with the device's secret over
    ``timestamp + "\\n" + body`` (what a device sends, what the platform expects)."""
    message = timestamp.encode() + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(secret: str, timestamp: str, body: bytes, sent: str) -> bool:
    """Compared in constant time: the answer's timing tells an attacker nothing."""
    return hmac.compare_digest(signature(secret, timestamp, body), sent.strip().lower())
