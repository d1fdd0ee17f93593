"""The GB/T 28181 SIP server (asyncio), fed by the UDP and TCP sockets of listeners.py.

It registers devices (digest), answers keepalives, collects catalogs, runs queries and
acknowledges alarms only after the platform has committed them (ARCHITECTURE.md §3.1).
It imports no Django: the platform is reached through ``PlatformInterface``, a handful
of callables injected at start (``platform.py`` binds them to the apps).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from campus_safety.devices.identifiers import InvalidDeviceId, validate_device_id
from campus_safety.gateway.gb28181 import digest, manscdp, plain_message, sip
from campus_safety.gateway.gb28181.dialogs import MediaDialogs
from campus_safety.gateway.gb28181.interface import (
    CatalogResult,
    DeviceNotRegistered,
    DeviceUnreachable,
    GatewayError,
    PlatformInterface,
    QueryFailed,
    QueryTimeout,
    ReceivedAlarm,
    Remote,
    SenderCheck,
    ServerConfig,
    TransactionTimeout,
    hostport,
)
from campus_safety.gateway.gb28181.keepalive_memo import KeepaliveMemo
from campus_safety.gateway.gb28181.listeners import (
    Channel,
    TcpListener,
    UdpProtocol,
    listen_tcp,
    udp_channel,
)
from campus_safety.gateway.gb28181.ratelimit import RateLimiter
from campus_safety.gateway.gb28181.transactions import (
    IN_PROGRESS,
    REBUILD_200,
    ResponseCache,
    derive_to_tag,
    to_tag,
    transaction_key,
)
from campus_safety.video import media_control

__all__ = [  # the contract types are re-exported: callers need one import
    "CatalogResult",
    "DeviceNotRegistered",
    "DeviceUnreachable",
    "GatewayError",
    "Gb28181Server",
    "PlatformInterface",
    "QueryFailed",
    "QueryTimeout",
    "ReceivedAlarm",
    "Remote",
    "SenderCheck",
    "ServerConfig",
    "TransactionTimeout",
    "query_catalog",
    "query_device_info",
    "query_device_status",
    "start_gb28181",
]

log = logging.getLogger(__name__)

ALLOW = "REGISTER, MESSAGE, OPTIONS, ACK, CANCEL, BYE"
ACCEPTED_OUTCOMES = ("accepted", "duplicate")
MAX_AUTH_FAILURES = 5  # per device and source address, then locked for AUTH_LOCK_SECONDS
AUTH_LOCK_SECONDS = 60.0  # GB/T 28181-2022: a device retries registration after ≥ 60 s


@dataclass(slots=True)
class _Registration:
    device_id: str
    channel: Channel
    expires_at: float  # time.monotonic()
    granted: int

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "channel":  # the TCP connection it answers on is kept open (listeners.py)
            value.carries_registration = True
        object.__setattr__(self, name, value)


@dataclass
class _CatalogCollection:
    future: asyncio.Future
    sum_num: int | None = None
    items: dict[str, manscdp.CatalogItem] = field(default_factory=dict)
    invalid: int = 0


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    result = function(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


class Gb28181Server:
    """One running SIP endpoint (UDP + TCP on the same port)."""

    def __init__(self, interface: PlatformInterface, config: ServerConfig | None = None) -> None:
        self.interface = interface
        self.config = config or ServerConfig()
        self.registrations: dict[str, _Registration] = {}
        self.stats: Counter[str] = Counter()
        self.host = ""
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._responses = ResponseCache(ttl=64 * self.config.t1)
        # Final answers by the exact bytes of the request and its source: a resent request
        # is the same datagram, so it is answered before any parsing. Under overload the
        # devices resend every unanswered keepalive at T1, 2·T1, 4·T1 …; each resend that
        # had to be parsed again would add to the very backlog that caused it. Kept for
        # the first resends only (16 × T1 = 8 s; later ones take the parsing path and the
        # transaction cache), whole responses but bounded.
        self._replies = ResponseCache(ttl=16 * self.config.t1, max_entries=100_000)
        self.keepalive_bodies = KeepaliveMemo()  # one shape per device (keepalive_memo.py)
        # the keepalive fast path (_keepalive) adds the User-Agent line to its answers;
        # one the general path would refuse to send turns the fast path off
        user_agent = f"User-Agent: {self.config.user_agent}"
        self._fast_extra = None if sip._CONTROL.search(user_agent) else user_agent + "\r\n"
        self._limiter = RateLimiter(self.config.rate_per_second, self.config.rate_burst)
        self._limited = self.config.rate_per_second > 0
        self._client: dict[str, asyncio.Future] = {}
        self._catalogs: dict[tuple[str, int], _CatalogCollection] = {}
        self._waiting: dict[tuple[str, str, int], asyncio.Future] = {}
        self._auth_failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._sn = itertools.count(secrets.randbelow(1_000_000) + 1)
        self._cseq = itertools.count(1)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: TcpListener | None = None
        self._local_hosts: dict[str, str] = {}
        self._drop_window = 0.0
        self._drops_logged = 0
        self._drops_suppressed = 0
        self.dialogs = MediaDialogs(self)  # live video: INVITE/ACK/BYE (video app)

    # --- lifecycle -------------------------------------------------------------------

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Bind UDP and TCP on one port (port 0: any free port, the same for both).

        ``reuse_port``: the gateway processes of one host share the port (SO_REUSEPORT).
        The kernel gives each device's datagrams, by source address and port, to one of
        them, and the instant one dies (its socket closed with it) the survivors get its
        share: the device's next retransmission of an unanswered alarm (timer E, 0.5 s)
        reaches a live gateway at the same address, which takes it without waiting for a
        new registration (``_unregistered_alarm``). A UDP load balancer does the same
        across hosts (docs/deployment.md, "Failover")."""
        self.loop = asyncio.get_running_loop()
        for attempt in range(20):
            transport, _ = await self.loop.create_datagram_endpoint(
                lambda: UdpProtocol(self), local_addr=(host, port), reuse_port=reuse_port
            )
            bound_port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = listen_tcp(self, host, bound_port, reuse_port=reuse_port)
            except OSError:
                transport.close()
                if port or attempt == 19:
                    raise
                continue
            self._udp = transport
            break
        self.host, self.port = host, bound_port
        self._spawn(self._sweep())
        log.info(
            "GB/T 28181 SIP server on %s (UDP and TCP: at most %d connections, %d from one "
            "address), platform %s, domain %s",
            hostport(host, bound_port),
            self._tcp.limit,
            self._tcp.per_host,
            self.config.platform_id,
            self.config.domain,
        )

    def close(self) -> None:
        """Stop listening and cancel work in flight (unacknowledged alarms are resent by
        their devices and deduplicated, so nothing is lost)."""
        self.dialogs.close_all()
        media_control.disconnect(self.dialogs)
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()  # and its connections
        for task in list(self._tasks):
            task.cancel()
        for future in [
            *self._client.values(),
            *self._waiting.values(),
            *(c.future for c in self._catalogs.values()),
        ]:
            if not future.done():
                future.cancel()
        global _running
        if _running is self:
            _running = None

    async def wait_closed(self) -> None:
        if self._tcp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 2)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("GB28181 task failed", exc_info=task.exception())

    async def _sweep(self) -> None:
        """Registration expiry (the device did not refresh in time) and cache upkeep."""
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            self.expire_registrations()
            now = time.monotonic()
            self._responses.expire(now)
            self._replies.expire(now)
            self._limiter.prune(now)
            for key, (_, since) in list(self._auth_failures.items()):
                if now - since > AUTH_LOCK_SECONDS:
                    del self._auth_failures[key]

    def expire_registrations(self) -> list[str]:
        now = time.monotonic()
        expired = [d for d, r in self.registrations.items() if r.expires_at <= now]
        for device_id in expired:
            del self.registrations[device_id]
            log.info("registration of %s expired", device_id)
            self._spawn(self._notify(self.interface.on_unregistered, device_id))
        return expired

    async def _notify(self, function: Callable[..., Any], *args: Any) -> None:
        try:
            await _call(function, *args)
        except Exception:
            log.exception("GB28181 platform callback %s failed", getattr(function, "__name__", ""))

    # --- receiving -------------------------------------------------------------------

    def log_drop(self, what: str, remote: Remote) -> None:
        """At most ten lines a second: a flood must not become a log flood."""
        now = time.monotonic()
        if now - self._drop_window >= 1.0:
            if self._drops_suppressed:
                log.warning("GB28181: %d more dropped messages not logged", self._drops_suppressed)
            self._drop_window, self._drops_logged, self._drops_suppressed = now, 0, 0
        if self._drops_logged < 10:
            self._drops_logged += 1
            log.warning("GB28181: %s from %s", what, remote)
        else:
            self._drops_suppressed += 1

    def receive(self, data: bytes, channel: Channel) -> None:
        """Entry point for every message from the wire; never raises."""
        try:
            self._receive(data, channel)
        except Exception:
            self.stats["errors"] += 1
            log.exception("GB28181: failed handling a message from %s", channel.remote)

    def _receive(self, data: bytes, channel: Channel) -> None:
        self.stats["received"] += 1
        remote = channel.remote
        if self._limited and not self._limiter.allow(remote.host, time.monotonic()):
            self.stats["rate_limited"] += 1
            self.log_drop("rate limit exceeded, message dropped", remote)
            return
        if remote.transport == "udp" and isinstance(data, bytes):
            reply = self._replies.get((data, remote.host, remote.port), time.monotonic())
            if reply is not None:
                self.stats["retransmissions"] += 1
                channel.send(reply)
                return
        if type(data) is bytes and self._fast_extra is not None and self._keepalive(data, channel):
            return
        try:
            message = sip.parse_message(data, max_size=self.config.max_message_bytes)
        except sip.SipParseError as exc:
            self.stats["malformed"] += 1
            if exc.partial is None and remote.transport == "udp":
                self.log_drop(f"unparseable datagram dropped ({exc.reason})", remote)
                return
            request = exc.partial or sip.SipRequest(headers=(), body=b"")
            self.log_drop(f"malformed request answered 400 ({exc.reason})", remote)
            channel.send(
                sip.build_response(
                    request,
                    400,
                    sip.reason_phrase(400, exc.reason),
                    received=(remote.host, remote.port),
                )
            )
            return
        if isinstance(message, sip.SipResponse):
            self._on_response(message)
        else:
            self._on_request(message, channel, data)

    def _keepalive(self, data: bytes, channel: Channel) -> bool:
        """The fast path of a registered device's keepalive: what ``_on_request`` and
        ``_message`` do with it, without a ``SipRequest`` or a ``manscdp.Message``.
        False, having changed nothing, for anything else (the general path takes it):
        a message that is not plain (``plain_message.read``), a sender without a live
        registration from this address, a Content-Type without xml, a body that is not
        the sender's keepalive of the shape before (``KeepaliveMemo.is_keepalive``)."""
        message = plain_message.read(data, self.config.max_message_bytes)
        if message is None:
            return False
        remote = channel.remote
        sender = message.sender
        registration = self.registration(sender)
        if registration is None or registration.channel.remote.host != remote.host:
            return False
        if message.content_type and "xml" not in message.content_type:
            return False
        if not self.keepalive_bodies.is_keepalive(message.body, sender):
            return False
        key = message.transaction_key((remote.host, remote.port))
        # begin() and finish(REBUILD_200) of _on_request at once: answered right here
        cached = self._responses.answer(key, REBUILD_200, time.monotonic())
        if cached is not None:  # as _on_request: a resend of a transaction answered
            self.stats["retransmissions"] += 1
            if cached == REBUILD_200:
                self._keepalive_ok(message, data, channel, key)
            elif cached != IN_PROGRESS:
                channel.send(cached)
            return True
        self.keepalive_bodies.hits += 1
        if registration.channel.remote != remote or not registration.channel.is_open():
            registration.channel = channel  # NAT rebinding or a new TCP connection
        self.stats["keepalives"] += 1
        self.stats["keepalives_fast"] += 1  # (of them, how many took this path)
        try:
            self.interface.on_keepalive(sender, remote)
        except Exception:
            log.exception("GB28181: on_keepalive failed for %s", sender)
        self._keepalive_ok(message, data, channel, None)  # (kept by answer())
        return True

    def _keepalive_ok(
        self, message: plain_message.PlainMessage, raw: bytes, channel: Channel, key: Any
    ) -> None:
        """``respond(200)`` of ``_on_request`` for the fast path (``key``: the
        transaction to keep the answer for, None when already kept)."""
        remote = channel.remote
        source = (remote.host, remote.port)
        tag = derive_to_tag(message.call_id, message.from_tag, message.cseq_number)
        data = message.ok(tag, source, self._fast_extra or "")
        if key is not None:  # a resend: kept again, as respond() does
            self._responses.finish(key, REBUILD_200, time.monotonic())
        if remote.transport == "udp":
            self._replies.finish((raw, remote.host, remote.port), data, time.monotonic())
        channel.send(data)

    def _on_response(self, response: sip.SipResponse) -> None:
        try:
            branch = response.top_via.branch or ""
        except sip.SipParseError:
            return
        future = self._client.get(branch)
        if future is None:
            self.dialogs.on_stray_response(response)  # a 2xx resent: ACK it again
        elif response.status < 200:
            self.dialogs.on_provisional(branch)  # an INVITE stops resending
        elif not future.done():
            future.set_result(response)

    def _on_request(
        self, request: sip.SipRequest, channel: Channel, raw: bytes | None = None
    ) -> None:
        if request.method == "ACK":
            return
        remote = channel.remote
        key = transaction_key(request, (remote.host, remote.port))
        now = time.monotonic()
        cached = self._responses.begin(key, now)

        def respond(
            status: int, detail: str | None = None, headers: list[tuple[str, str]] | None = None
        ) -> None:
            data = sip.build_response(
                request,
                status,
                sip.reason_phrase(status, detail),
                to_tag=to_tag(request),
                received=(remote.host, remote.port),
                headers=[("User-Agent", self.config.user_agent), *(headers or [])],
            )
            plain_ok = status == 200 and not headers
            now = time.monotonic()
            self._responses.finish(key, REBUILD_200 if plain_ok else data, now)
            if remote.transport == "udp" and isinstance(raw, bytes):
                self._replies.finish((raw, remote.host, remote.port), data, now)
            channel.send(data)

        if cached is not None:
            self.stats["retransmissions"] += 1
            if cached == REBUILD_200:
                respond(200)
            elif cached != IN_PROGRESS:
                channel.send(cached)
            return

        if request.method == "REGISTER":
            self._spawn(self._register(request, channel, respond))
        elif request.method == "MESSAGE":
            self._message(request, channel, respond)
        elif request.method == "OPTIONS":
            respond(200, headers=[("Allow", ALLOW)])
        elif request.method == "CANCEL":
            respond(481)
        elif request.method == "BYE":
            respond(self.dialogs.on_bye(request))
        else:
            respond(405, headers=[("Allow", ALLOW)])

    # --- REGISTER --------------------------------------------------------------------

    async def _register(
        self, request: sip.SipRequest, channel: Channel, respond: Callable[..., None]
    ) -> None:
        def answer(status: int, *args: Any, **kwargs: Any) -> None:
            respond(status, *args, **kwargs)
            # a failed registration keeps no TCP connection open (issue #13)
            failed = status >= 300 and status != 401
            if failed and channel.hang_up is not None and not channel.carries_registration:
                channel.hang_up()

        try:
            await self._register_checked(request, channel, answer)
        except Exception:
            log.exception("GB28181: REGISTER from %s failed", channel.remote)
            answer(500)

    def _challenge(self, respond: Callable[..., None], *, stale: bool = False) -> None:
        nonce = digest.make_nonce(
            self.config.nonce_key, self.config.domain, self.config.wall_time()
        )
        value = digest.challenge(
            self.config.domain, nonce, stale=stale, offer_qop=self.config.offer_qop
        )
        respond(401, headers=[("WWW-Authenticate", value)])

    def _date_header(self) -> tuple[str, str]:
        """``Date: 2024-03-01T08:00:00.000`` in the 200 to REGISTER: devices set their
        clock from it (GB/T 28181 校时)."""
        now = self.config.clock()
        return ("Date", now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}")

    async def _register_checked(
        self, request: sip.SipRequest, channel: Channel, respond: Callable[..., None]
    ) -> None:
        remote = channel.remote
        device_id = request.to.uri.user or request.from_.uri.user
        try:
            validate_device_id(device_id)
        except InvalidDeviceId:
            respond(400, "invalid device ID")
            return
        if request.from_.uri.user not in ("", device_id):
            respond(403, "third-party registration")
            return
        lookup = self.interface.cached_credentials
        known = lookup(device_id) if lookup is not None else None
        if known is None:
            known = await _call(self.interface.device_credentials, device_id)
        password, is_approved = known
        if password is None:
            if self.config.auto_register:
                await _call(self.interface.on_pending, device_id, remote)
                log.info(
                    "GB28181: unknown device %s from %s is waiting for approval", device_id, remote
                )
                respond(403, "pending approval")
            else:
                self.log_drop(f"REGISTER from unknown device {device_id}", remote)
                respond(404, "unknown device")
            return
        if not is_approved:
            respond(403, "pending approval")
            return
        header = request.header("Authorization")
        if header is None:
            self._challenge(respond)
            return
        try:
            credentials = digest.parse_authorization(header)
        except digest.DigestError as exc:
            respond(400, str(exc))
            return
        if credentials.username != device_id:
            respond(403, "username is not the device ID")
            return
        failure_key = (device_id, remote.host)
        failures, since = self._auth_failures.get(failure_key, (0, 0.0))
        if failures >= MAX_AUTH_FAILURES and time.monotonic() - since < AUTH_LOCK_SECONDS:
            respond(403, "too many failures, retry later")
            return
        verdict = digest.verify(
            credentials,
            method="REGISTER",
            password=password,
            realm=self.config.domain,
            key=self.config.nonce_key,
            now=self.config.wall_time(),
            nonce_ttl=self.config.nonce_ttl,
        )
        if verdict in (digest.Verdict.STALE_NONCE, digest.Verdict.BAD_NONCE):
            self._challenge(respond, stale=verdict is digest.Verdict.STALE_NONCE)
            return
        if verdict is not digest.Verdict.OK:
            self._auth_failures[failure_key] = (failures + 1, time.monotonic())
            self.log_drop(f"REGISTER of {device_id} refused: {verdict.value}", remote)
            respond(403, verdict.value)
            return
        self._auth_failures.pop(failure_key, None)
        await self._bind(request, channel, respond, device_id)

    async def _bind(
        self,
        request: sip.SipRequest,
        channel: Channel,
        respond: Callable[..., None],
        device_id: str,
    ) -> None:
        config = self.config
        requested = request.expires
        if requested == 0:  # unregister
            self.registrations.pop(device_id, None)
            await self._notify(self.interface.on_unregistered, device_id)
            respond(200, headers=[self._date_header(), ("Expires", "0")])
            log.info("GB28181: %s unregistered", device_id)
            return
        granted = config.register_default_expires if requested is None else requested
        granted = max(config.register_min_expires, min(config.register_max_expires, granted))
        previous = self.registrations.get(device_id)
        now = time.monotonic()
        is_refresh = (
            previous is not None
            and previous.expires_at > now
            and previous.channel.remote == channel.remote
        )
        self.registrations[device_id] = _Registration(device_id, channel, now + granted, granted)
        try:
            await _call(self.interface.on_registered, device_id, granted, channel.remote)
        except Exception:
            log.exception("GB28181: on_registered failed for %s", device_id)
            if previous is None:
                self.registrations.pop(device_id, None)
            else:
                self.registrations[device_id] = previous
            respond(500)
            return
        headers = [self._date_header(), ("Expires", str(granted))]
        contact = request.header("Contact")
        if contact and contact.strip() != "*":
            headers.insert(0, ("Contact", f"{sip.split_list(contact)[0]};expires={granted}"))
        respond(200, headers=headers)
        self.stats["registrations"] += 1
        log.debug("GB28181: %s registered from %s for %d s", device_id, channel.remote, granted)
        if not is_refresh and config.catalog_on_register:
            self._spawn(self._initial_catalog(device_id))

    def restore_registration(self, device_id: str, remote: Remote, expires_in: float) -> bool:
        """Take back a UDP registration from before a restart (the platform kept it), so
        devices go on without re-registering. TCP ones cannot: their connection is gone."""
        if remote.transport != "udp" or self._udp is None or expires_in <= 0:
            return False
        self.registrations[device_id] = _Registration(
            device_id,
            udp_channel(self._udp, remote),
            time.monotonic() + expires_in,
            int(expires_in),
        )
        return True

    def registration(self, device_id: str) -> _Registration | None:
        """The device's live registration, if any."""
        registration = self.registrations.get(device_id)
        if registration is None or registration.expires_at <= time.monotonic():
            return None
        return registration

    # --- MESSAGE ---------------------------------------------------------------------

    def _message(
        self, request: sip.SipRequest, channel: Channel, respond: Callable[..., None]
    ) -> None:
        content_type = request.content_type
        if content_type and "xml" not in content_type:
            respond(415)
            return
        sender = request.from_.uri.user
        registration = self.registration(sender)
        # MESSAGE carries no credentials: only the address that registered may speak for
        # the device (a device that moved re-registers first), and only its keepalive
        # shape is kept
        speaks_for = (
            registration is not None and registration.channel.remote.host == channel.remote.host
        )
        try:
            body = self.keepalive_bodies.parse(request.body, sender if speaks_for else None)
        except manscdp.ManscdpError as exc:
            self.log_drop(f"bad MANSCDP body answered 400 ({exc})", channel.remote)
            respond(400, str(exc))
            return
        if not speaks_for:
            if registration is None and isinstance(body, manscdp.AlarmNotify):
                self._spawn(self._unregistered_alarm(request, channel, respond, body))
            elif registration is None:
                respond(403, "not registered")  # devices register again (docs/devices.md)
            else:
                respond(403, "not registered from this address")
            return
        if registration.channel.remote != channel.remote or not registration.channel.is_open():
            registration.channel = channel  # NAT rebinding or a new TCP connection
        if isinstance(body, manscdp.Keepalive):
            self.stats["keepalives"] += 1
            try:
                self.interface.on_keepalive(sender, channel.remote)
            except Exception:
                log.exception("GB28181: on_keepalive failed for %s", sender)
        respond(200)
        if isinstance(body, manscdp.AlarmNotify):
            self.stats["alarms"] += 1
            alarm = ReceivedAlarm(sender, channel.remote, body, request.body)
            self._spawn(self._deliver_alarm(alarm, channel))
        elif isinstance(body, manscdp.CatalogResponse):
            self._collect_catalog(sender, body)
        elif isinstance(body, manscdp.DeviceStatusResponse | manscdp.DeviceInfoResponse):
            self._resolve_query(sender, body)
        elif body.root == "Response" and body.cmd_type.lower() == "recordinfo":
            self.dialogs.on_record_info(sender, body)  # video: recordings of a channel
        elif body.root == "Response" and body.cmd_type.lower() == "presetquery":
            self.dialogs.on_preset_list(sender, body)  # video: a channel's presets
        elif body.root == "Notify" and body.cmd_type.lower() == "mediastatus":
            self.dialogs.on_media_status(sender, request.call_id, body)  # video: end of file
        elif not isinstance(body, manscdp.Keepalive):
            log.debug("GB28181: %s %s from %s ignored", body.root, body.cmd_type, sender)

    async def _unregistered_alarm(
        self,
        request: sip.SipRequest,
        channel: Channel,
        respond: Callable[..., None],
        notify: manscdp.AlarmNotify,
    ) -> None:
        """An alarm from a device we hold no registration for — after a restart, or once
        its registration lapsed — is not refused for that (GB 50394 5.2.2): the platform
        says who vouches for the sender (``SenderCheck``). Taken, it is answered here and
        its Response goes back where it came from; the device's next keepalive is refused
        (403), which makes it register again."""
        sender = request.from_.uri.user
        check = SenderCheck.UNKNOWN
        if self.interface.sender_check is not None:
            try:
                check = SenderCheck(
                    await _call(self.interface.sender_check, sender, channel.remote)
                )
            except Exception:
                log.exception("GB28181: sender check of %s failed", sender)
                respond(500)  # not taken: the device may send it again
                return
        if not check.is_accepted:
            elsewhere = check is SenderCheck.ELSEWHERE
            respond(403, "not registered from this address" if elsewhere else "not registered")
            return
        respond(200)
        self.stats["alarms"] += 1
        self.stats["alarms_unregistered"] += 1
        log.info(
            "GB28181: alarm %s/%s from %s without a registration taken (%s)",
            notify.device_id,
            notify.sn_text or notify.sn,
            channel.remote,
            check.value,
        )
        alarm = ReceivedAlarm(sender, channel.remote, notify, request.body, check)
        await self._deliver_alarm(alarm, channel)

    async def _deliver_alarm(self, alarm: ReceivedAlarm, channel: Channel) -> None:
        """Hand over, and only once committed send the Response (nothing acknowledged
        before it is committed, ARCHITECTURE.md §3.1): to the device's registration, or
        without one, back where the alarm came from."""
        try:
            result = await _call(self.interface.on_alarm, alarm)
        except Exception:
            log.exception(
                "GB28181: alarm %s/%s not committed; no Response sent, the device will resend it",
                alarm.notify.device_id,
                alarm.notify.sn,
            )
            return
        outcome = getattr(result, "outcome", result)
        answer = "OK" if outcome in ACCEPTED_OUTCOMES else "ERROR"
        if answer != "OK":
            log.warning(
                "GB28181: alarm %s/%s rejected: %s",
                alarm.notify.device_id,
                alarm.notify.sn,
                getattr(result, "reason", outcome),
            )
        notify = alarm.notify
        body = manscdp.build_alarm_response(notify.sn_text or notify.sn, notify.device_id, answer)
        via = channel if self.registration(alarm.sender_id) is None else None
        try:
            await self.send_message(alarm.sender_id, body, channel=via)
        except GatewayError as exc:
            log.warning("GB28181: alarm Response to %s not delivered: %s", alarm.sender_id, exc)

    # --- our requests ----------------------------------------------------------------

    def _local_address(self, channel: Channel) -> tuple[str, int]:
        """Our address as the device should see it, for Via (responses come back there)."""
        if channel.local is not None:
            return channel.local
        host = self.config.advertised_host or self.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - a bind-all address, not a bind
            remote_host = channel.remote.host
            host = self._local_hosts.get(remote_host, "")
            if not host:
                family = socket.AF_INET6 if ":" in remote_host else socket.AF_INET
                with socket.socket(family, socket.SOCK_DGRAM) as probe:
                    probe.connect((remote_host, channel.remote.port or 5060))
                    host = probe.getsockname()[0]
                self._local_hosts[remote_host] = host
        return host, self.port

    async def send_message(
        self,
        device_id: str,
        body: bytes,
        content_type: str = manscdp.CONTENT_TYPE,
        *,
        channel: Channel | None = None,
    ) -> sip.SipResponse:
        """Send a MESSAGE to a registered device (or through ``channel``, the way back
        to one that is not) and wait for its final response; over UDP resend at T1,
        2·T1, 4·T1 … (≤ T2) until then or timer F (RFC 3261 17.1.2)."""
        if channel is None:
            registration = self.registration(device_id)
            if registration is None:
                raise DeviceNotRegistered(device_id)
            channel = registration.channel
        if not channel.is_open():
            raise DeviceUnreachable(f"{device_id}: connection closed")
        remote = channel.remote
        local_host, local_port = self._local_address(channel)
        branch = sip.BRANCH_COOKIE + secrets.token_hex(8)
        data = sip.build_request(
            "MESSAGE",
            f"sip:{device_id}@{hostport(remote.host, remote.port)}",
            via=f"SIP/2.0/{remote.transport.upper()} {hostport(local_host, local_port)}"
            f";rport;branch={branch}",
            from_=f"<sip:{self.config.platform_id}@{self.config.domain}>;tag={secrets.token_hex(5)}",
            to=f"<sip:{device_id}@{device_id[:10]}>",
            call_id=f"{secrets.token_hex(10)}@{local_host}",
            cseq=next(self._cseq),
            headers=[("User-Agent", self.config.user_agent)],
            body=body,
            content_type=content_type,
        )
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._client[branch] = future
        deadline = loop.time() + 64 * self.config.t1
        interval = self.config.t1
        try:
            channel.send(data)
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TransactionTimeout(f"no answer from {device_id}")
                wait = remaining if remote.transport == "tcp" else min(interval, remaining)
                try:
                    return await asyncio.wait_for(asyncio.shield(future), wait)
                except TimeoutError:
                    if remote.transport == "udp" and deadline - loop.time() > 0:
                        channel.send(data)
                        self.stats["retransmitted"] += 1
                        interval = min(interval * 2, self.config.t2)
        finally:
            self._client.pop(branch, None)
            if not future.done():
                future.cancel()

    async def _send_query(self, device_id: str, cmd_type: str, target_id: str, sn: int) -> None:
        response = await self.send_message(device_id, manscdp.build_query(cmd_type, sn, target_id))
        if not 200 <= response.status < 300:
            raise QueryFailed(response.status, response.reason)

    async def query_catalog(self, device_id: str, *, timeout: float | None = None) -> CatalogResult:
        """Ask for the catalog and collect Response parts until SumNum items arrive.

        On timeout, the items received so far come back with ``is_complete=False``.
        """
        sn = next(self._sn)
        collection = _CatalogCollection(asyncio.get_running_loop().create_future())
        self._catalogs[(device_id, sn)] = collection
        try:
            async with asyncio.timeout(timeout or self.config.catalog_timeout):
                await self._send_query(device_id, "Catalog", device_id, sn)
                await collection.future
        except TimeoutError:
            if not collection.items:
                raise QueryTimeout(f"no catalog from {device_id}") from None
            log.warning(
                "GB28181: catalog of %s incomplete: %d of %s items",
                device_id,
                len(collection.items),
                collection.sum_num,
            )
        finally:
            self._catalogs.pop((device_id, sn), None)
        items = tuple(collection.items.values())
        sum_num = collection.sum_num if collection.sum_num is not None else len(items)
        return CatalogResult(
            device_id, sum_num, items, is_complete=len(items) + collection.invalid >= sum_num
        )

    def _collect_catalog(self, sender: str, body: manscdp.CatalogResponse) -> None:
        collection = self._catalogs.get((sender, body.sn))
        if collection is None:  # some devices answer with their own SN
            candidates = [c for (d, _), c in self._catalogs.items() if d == sender]
            collection = candidates[-1] if candidates else None
        if collection is None:
            log.debug("GB28181: unsolicited catalog part from %s ignored", sender)
            return
        collection.sum_num = body.sum_num
        for item in body.items:
            collection.items[item.device_id] = item
        collection.invalid += body.invalid_items
        received = len(collection.items) + collection.invalid
        if received >= body.sum_num and not collection.future.done():
            collection.future.set_result(None)

    async def _initial_catalog(self, device_id: str) -> None:
        """After a (new) registration: fetch the channels and hand them over."""
        try:
            result = await self.query_catalog(device_id)
        except GatewayError as exc:
            log.info("GB28181: catalog of %s not received: %s", device_id, exc)
            return
        await self._notify(self.interface.on_catalog, device_id, list(result.items))

    async def _query(
        self, device_id: str, cmd_type: str, target_id: str | None, timeout: float | None
    ) -> manscdp.Message:
        sn = next(self._sn)
        key = (device_id, cmd_type.lower(), sn)
        future = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        try:
            async with asyncio.timeout(timeout or self.config.query_timeout):
                await self._send_query(device_id, cmd_type, target_id or device_id, sn)
                return await future
        except TimeoutError:
            raise QueryTimeout(f"no {cmd_type} answer from {device_id}") from None
        finally:
            self._waiting.pop(key, None)

    def _resolve_query(self, sender: str, body: manscdp.Message) -> None:
        key = (sender, body.cmd_type.lower(), body.sn)
        future = self._waiting.get(key)
        if future is None:  # answered with another SN: the oldest query of that kind
            future = next(
                (
                    f
                    for (d, c, _), f in self._waiting.items()
                    if d == sender and c == key[1] and not f.done()
                ),
                None,
            )
        if future is not None and not future.done():
            future.set_result(body)

    async def query_device_status(
        self, device_id: str, *, channel_id: str | None = None, timeout: float | None = None
    ) -> manscdp.DeviceStatusResponse:
        """DeviceStatus of a registered device (or of one of its channels)."""
        result = await self._query(device_id, "DeviceStatus", channel_id, timeout)
        if not isinstance(result, manscdp.DeviceStatusResponse):
            raise GatewayError(f"unexpected answer from {device_id}")
        return result

    async def query_device_info(
        self, device_id: str, *, channel_id: str | None = None, timeout: float | None = None
    ) -> manscdp.DeviceInfoResponse:
        """DeviceInfo (manufacturer, model, firmware, channel count)."""
        result = await self._query(device_id, "DeviceInfo", channel_id, timeout)
        if not isinstance(result, manscdp.DeviceInfoResponse):
            raise GatewayError(f"unexpected answer from {device_id}")
        return result


# --- module API: what the serve command and the UI call ------------------------------------

_running: Gb28181Server | None = None


async def start_gb28181(
    interface: PlatformInterface,
    host: str = "0.0.0.0",  # noqa: S104
    port: int = 5060,
    *,
    config: ServerConfig | None = None,
    reuse_port: bool = False,
) -> Gb28181Server:
    """Start the SIP server; returns the running handle (``close()``, queries, stats)."""
    global _running
    server = Gb28181Server(interface, config)
    await server.start(host, port, reuse_port=reuse_port)
    _running = server
    return server


async def _in_server_loop(method: str, *args: Any, **kwargs: Any) -> Any:
    """Run a server coroutine on the server's loop, from whatever loop calls us (the UI
    may call through ``async_to_sync`` on another thread)."""
    server = _running
    if server is None or server.loop is None:
        raise GatewayError("the GB/T 28181 server is not running")
    coroutine = getattr(server, method)(*args, **kwargs)
    if asyncio.get_running_loop() is server.loop:
        return await coroutine
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, server.loop))


async def query_device_status(device_id: str, **kwargs: Any) -> manscdp.DeviceStatusResponse:
    """DeviceStatus of a registered device; raises QueryTimeout, DeviceNotRegistered…"""
    return await _in_server_loop("query_device_status", device_id, **kwargs)


async def query_device_info(device_id: str, **kwargs: Any) -> manscdp.DeviceInfoResponse:
    """DeviceInfo of a registered device; raises QueryTimeout, DeviceNotRegistered…"""
    return await _in_server_loop("query_device_info", device_id, **kwargs)


async def query_catalog(device_id: str, **kwargs: Any) -> CatalogResult:
    """Fetch a device's catalog again (e.g. a "refresh channels" button)."""
    return await _in_server_loop("query_catalog", device_id, **kwargs)
