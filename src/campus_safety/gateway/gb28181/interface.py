"""What the GB/T 28181 server and the platform exchange: the injected interface, the
server's settings and the errors its queries raise. Pure: no I/O, no Django."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from campus_safety.gateway.gb28181 import digest, manscdp, sip


def _local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def hostport(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class Remote:
    """Where a device talks from: transport, address, port."""

    transport: str  # "udp" | "tcp"
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport}:{hostport(self.host, self.port)}"

    @classmethod
    def parse(cls, text: str) -> Remote:
        """Back from ``str(remote)``: ``udp:10.0.0.2:5060``, ``tcp:[2001:db8::1]:5060``."""
        transport, _, rest = text.partition(":")
        host, _, port = rest.rpartition(":")
        if transport not in ("udp", "tcp") or not host or not port.isdigit():
            raise ValueError(f"not a remote address: {text!r}")
        return cls(transport, host.strip("[]"), int(port))


class SenderCheck(StrEnum):
    """Who vouches for the sender of an alarm. A MESSAGE carries no credentials, so it is
    the address the device registered from: its live registration's, or — when the
    server holds none (after a restart, or once it lapsed) — the last one the platform
    saved. An alarm is never lost for want of a live registration, but never taken
    from an address another registration contradicts."""

    REGISTERED = "registered"  # from the address of its live registration
    LAST_REGISTRATION = "last_registration"  # none live; from where it last registered
    UNVERIFIED = "unverified"  # known and approved, but no registration on record
    ELSEWHERE = "elsewhere"  # it last registered from another address: refused
    UNKNOWN = "unknown"  # unknown or unapproved device: refused

    @property
    def is_accepted(self) -> bool:
        return self not in (SenderCheck.ELSEWHERE, SenderCheck.UNKNOWN)


@dataclass(frozen=True)
class ReceivedAlarm:
    """An alarm as the server hands it over: who sent it (an NVR may report for its
    alarm-input channel, so ``sender_id`` may differ from ``notify.device_id``), the
    body as it came (kept with an alarm that had to be repaired to be read) and what
    vouched for the sender."""

    sender_id: str
    remote: Remote
    notify: manscdp.AlarmNotify
    raw: bytes = b""
    sender_check: SenderCheck = SenderCheck.REGISTERED


@dataclass(frozen=True)
class CatalogResult:
    device_id: str
    sum_num: int
    items: tuple[manscdp.CatalogItem, ...]
    is_complete: bool


@dataclass(frozen=True)
class PlatformInterface:
    """What the server needs from the platform. Each callable may be sync or async,
    except ``on_keepalive``, which is on the hot path and must be quick and sync."""

    device_credentials: Callable[[str], Any]  # -> (password | None, is_approved)
    on_registered: Callable[[str, int, Remote], Any]
    on_unregistered: Callable[[str], Any]
    on_keepalive: Callable[[str, Remote], None]
    on_alarm: Callable[[ReceivedAlarm], Any]  # -> result with .outcome (or the outcome)
    on_catalog: Callable[[str, list[manscdp.CatalogItem]], Any]
    on_pending: Callable[[str, Remote], Any]
    # (password, is_approved) from memory, or None to ask ``device_credentials``:
    # sync, on the event loop, so a REGISTER of a known device costs no thread or query.
    cached_credentials: Callable[[str], tuple[str, bool] | None] | None = None
    # -> SenderCheck for an alarm from a device the server holds no registration for
    # (may query: alarms are rare); None refuses such alarms
    sender_check: Callable[[str, Remote], Any] | None = None


@dataclass(frozen=True)
class ServerConfig:
    platform_id: str = "37140000002000000001"
    domain: str = "3714000000"
    auto_register: bool = False
    max_message_bytes: int = sip.MAX_MESSAGE_BYTES
    rate_per_second: float = 200.0  # per source address; 0 = unlimited
    rate_burst: float = 400.0
    register_default_expires: int = 86_400  # GB/T 28181-2022 default
    register_min_expires: int = 3_600  # GB/T 28181-2022 minimum
    register_max_expires: int = 86_400
    nonce_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    nonce_ttl: float = digest.NONCE_TTL_SECONDS
    offer_qop: bool = True
    t1: float = 0.5  # RFC 3261 timer T1; timer E doubles from it, timer F = 64 × T1
    t2: float = 4.0
    catalog_on_register: bool = True  # ask a newly registered device for its channels
    catalog_timeout: float = 30.0
    query_timeout: float = 10.0
    # SIP over TCP (listeners.py): connections in all (never more than the process's
    # descriptors allow, fd_limits.sip_tcp_share) and from one address; seconds a new
    # connection has to register a device, and a registered one may stay idle
    max_tcp_connections: int = 20_000
    max_tcp_connections_per_host: int = 64
    tcp_register_timeout: float = 10.0
    tcp_idle_timeout: float = 600.0
    advertised_host: str = ""  # our address in Via when bound to 0.0.0.0 behind NAT
    sweep_interval: float = 5.0
    user_agent: str = "CampusSafety-GB28181"
    clock: Callable[[], dt.datetime] = _local_now  # for the Date header (device clock sync)
    wall_time: Callable[[], float] = time.time  # nonce timestamps


class GatewayError(Exception):
    """A query or request to a device could not be completed."""


class DeviceNotRegistered(GatewayError, LookupError):
    pass


class DeviceUnreachable(GatewayError):
    pass


class TransactionTimeout(GatewayError, TimeoutError):
    """No final response to our request within timer F (64 × T1)."""


class QueryTimeout(GatewayError, TimeoutError):
    pass


class QueryFailed(GatewayError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"device answered {status} {reason}")
        self.status = status
