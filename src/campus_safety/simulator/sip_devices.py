"""Emulated GB/T 28181 devices on UDP: NVRs, cameras and one-key alarm boxes.

Thousands of devices share a few sockets (the platform accepts a device's MESSAGE from
the address that registered it, and answers where each request came from), so one
asyncio process can drive a city. Each device behaves as a real one does:

* REGISTER → 401 Digest → REGISTER with Authorization (MD5, qop=auth) → 200;
* a keepalive MESSAGE every interval, resent on RFC 3261 timer E (0.5, 1, 2, 4, 4 … s)
  until a final answer or 32 s, so a datagram lost on the way costs nothing;
* answers the platform's Catalog query with 200 and its channels in Response parts of
  at most ``CATALOG_PART`` items (``SumNum`` in each), DeviceStatus and DeviceInfo too;
* an alarm box sends an Alarm Notify and waits for the platform's ``Result OK``
  Response, resending the same alarm (same SN and AlarmTime: stored once) if none comes.

The SIP and MANSCDP text comes from the gateway's pure builders and parsers (bytes in,
bytes out); the digest answer is computed here with hashlib, as a device would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import itertools
import logging
import re
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from campus_safety import clock
from campus_safety.gateway.gb28181 import manscdp, presets, sip
from campus_safety.simulator import video_camera
from campus_safety.video import ptz

log = logging.getLogger(__name__)

CATALOG_PART = 20  # items per Catalog Response message
PRESET_PART = 10  # presets per PresetQuery Response message (SumNum in each when split)
T1, T2, TIMER_F = 0.5, 4.0, 32.0
DEVICES_PER_SOCKET = 500
_NONCE = re.compile(r'nonce="([^"]*)"')
_REALM = re.compile(r'realm="([^"]*)"')
_QOP = re.compile(r'qop="?([^",]*)')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Channel:
    """One catalog item of an NVR (a camera or an alarm input behind it)."""

    device_id: str
    name: str
    manufacturer: str = ""
    model: str = ""
    address: str = ""
    status: str = "ON"


@dataclass
class SipDevice:
    """One emulated device; ``password`` empty = the platform-wide one."""

    device_id: str
    password: str
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    channels: list[Channel] = field(default_factory=list)
    civil_code: str = ""
    is_registered: bool = False
    is_powered: bool = True  # False while the simulator keeps it "offline"
    sn: itertools.count = field(default_factory=lambda: itertools.count(1))
    alarms_confirmed: int = 0


@dataclass(frozen=True)
class SipTarget:
    """The platform as devices are configured with it."""

    host: str
    port: int
    platform_id: str
    domain: str
    default_password: str


class _Pending:
    """A request of ours awaiting its final response (timer E resends, timer F ends)."""

    __slots__ = ("data", "deadline", "done", "interval", "next_send")

    def __init__(self, data: bytes, now: float, done: Callable[[bytes | None], None]) -> None:
        self.data = data
        self.done = done
        self.interval = T1
        self.next_send = now + T1
        self.deadline = now + TIMER_F


class SipSocket(asyncio.DatagramProtocol):
    """One UDP socket shared by many devices: sends their requests (with resends),
    matches responses by Call-ID, and hands the platform's requests to their device."""

    def __init__(self, fleet: SipFleet) -> None:
        self.fleet = fleet
        self.transport: asyncio.DatagramTransport | None = None
        self.local: tuple[str, int] = ("127.0.0.1", 0)
        self.pending: dict[str, _Pending] = {}
        self._timers: list[tuple[float, str]] = []
        self.devices: dict[str, SipDevice] = {}
        self._seen: dict[tuple[str, str], float] = {}  # platform requests already handled

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.local = transport.get_extra_info("sockname")[:2]
        sock = transport.get_extra_info("socket")
        if sock is not None:  # answers to a burst must not be dropped here either
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024 * 1024)

    def error_received(self, exc: Exception) -> None:
        log.debug("simulator UDP error: %s", exc)

    # --- our requests ---

    def send(self, key: str, data: bytes, done: Callable[[bytes | None], None]) -> None:
        """Send a request (``key`` = "Call-ID|CSeq number": a late answer to an earlier
        request of the same call is not taken for this one's); ``done(response)`` on its
        final answer, ``done(None)`` after timer F."""
        now = time.monotonic()
        entry = _Pending(data, now, done)
        self.pending[key] = entry
        heapq.heappush(self._timers, (entry.next_send, key))
        self.transport.sendto(data, self.fleet.server)
        self.fleet.stats["sent"] += 1

    def resend_due(self, now: float) -> None:
        """Timer E: resend what is still unanswered; timer F: give up."""
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, call_id = heapq.heappop(timers)
            entry = self.pending.get(call_id)
            if entry is None or entry.next_send > now:
                continue
            if now >= entry.deadline:
                del self.pending[call_id]
                self.fleet.stats["timeouts"] += 1
                entry.done(None)
                continue
            self.transport.sendto(entry.data, self.fleet.server)
            self.fleet.stats["resent"] += 1
            entry.interval = min(entry.interval * 2, T2)
            entry.next_send = now + entry.interval
            heapq.heappush(timers, (entry.next_send, call_id))

    def request(self, key: str, data: bytes) -> asyncio.Future:
        """``send`` as a future of the response bytes (None after timer F)."""
        future = asyncio.get_running_loop().create_future()

        def done(response: bytes | None) -> None:
            if not future.done():
                future.set_result(response)

        self.send(key, data, done)
        return future

    # --- what arrives ---

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if data.startswith(b"SIP/2.0 "):
            self._response(data)
        else:
            try:
                self._platform_request(data)
            except Exception:
                log.exception("simulator: could not handle a request from the platform")

    def _response(self, data: bytes) -> None:
        if data[8:9] == b"1":  # provisional: keep waiting
            return
        start, cseq = data.find(b"\nCall-ID: "), data.find(b"\nCSeq: ")
        if start < 0 or cseq < 0:
            try:
                response = sip.parse_message(data)
                key = f"{response.call_id}|{response.cseq.number}"
            except sip.SipParseError:
                return
        else:
            end = data.find(b"\r", start + 10)
            number = data[cseq + 7 : data.find(b" ", cseq + 7)].decode("ascii", "replace")
            key = f"{data[start + 10 : end].decode('ascii', 'replace')}|{number}"
        entry = self.pending.pop(key, None)
        if entry is not None:
            self.fleet.stats["answered"] += 1
            entry.done(data)

    def _platform_request(self, data: bytes) -> None:
        request = sip.parse_message(data)
        if not isinstance(request, sip.SipRequest):
            return
        if request.method in video_camera.METHODS:  # live video: the cameras' dialogs
            video_camera.handle(self, request)
            return
        target = request.to.uri.user
        device = self.devices.get(target)
        if device is None:
            self.transport.sendto(sip.build_response(request, 404, "Not Found"), self.fleet.server)
            return
        self.transport.sendto(
            sip.build_response(request, 200, "OK", to_tag=device.device_id[-6:]),
            self.fleet.server,
        )
        # a resent request (our 200 was late or lost) is answered again, not redone
        key = (request.call_id, request.header("CSeq") or "")
        now = time.monotonic()
        if key in self._seen:
            return
        self._seen[key] = now + TIMER_F
        if len(self._seen) > 10_000:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
        if request.method != "MESSAGE" or not request.body:
            return
        try:
            body = manscdp.parse(request.body)
        except manscdp.ManscdpError:
            return
        self.fleet.on_platform_message(self, device, body)


class SipFleet:
    """Every emulated GB/T 28181 device of a run, and the sockets they share."""

    def __init__(
        self,
        target: SipTarget,
        devices: Sequence[SipDevice],
        *,
        local_host: str | None = None,
        devices_per_socket: int = DEVICES_PER_SOCKET,
        expires: int = 3600,
    ) -> None:
        self.target = target
        self.server = (target.host, target.port)
        self.devices = list(devices)
        self.local_host = local_host
        self.devices_per_socket = max(1, devices_per_socket)
        self.expires = expires
        self.sockets: list[SipSocket] = []
        self.socket_of: dict[str, SipSocket] = {}
        self.stats: Counter[str] = Counter()
        self._alarm_waiters: dict[tuple[str, int], asyncio.Future] = {}
        self._call_ids = itertools.count(1)
        self._tag = secrets.token_hex(3)
        self._timer: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        # the cameras' presets: channel ID → number → name, as the cameras keep them
        self.presets: dict[str, dict[int, str]] = {}

    async def start(self) -> None:
        """Open the sockets and start the resend timer."""
        loop = asyncio.get_running_loop()
        for index, start in enumerate(range(0, len(self.devices), self.devices_per_socket)):
            _transport, endpoint = await loop.create_datagram_endpoint(
                lambda: SipSocket(self), local_addr=(self.socket_host(index), 0)
            )
            for device in self.devices[start : start + self.devices_per_socket]:
                endpoint.devices[device.device_id] = device
                self.socket_of[device.device_id] = endpoint
            self.sockets.append(endpoint)
        self._timer = asyncio.create_task(self._resend_forever())

    def socket_host(self, index: int) -> str:
        """Where socket ``index`` binds. Against a platform on loopback every socket gets
        its own 127.x address, as devices have their own addresses in the field (the
        platform rate-limits per source address); elsewhere, the given local address."""
        if self.local_host is not None:
            return self.local_host
        if self.target.host.startswith("127."):
            return f"127.0.{1 + index // 250}.{2 + index % 250}"
        return "0.0.0.0"  # noqa: S104 - the OS picks the address that routes to the platform

    async def _resend_forever(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            for endpoint in self.sockets:
                endpoint.resend_due(now)

    def close(self) -> None:
        video_camera.close(self)
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for endpoint in self.sockets:
            if endpoint.transport is not None:
                endpoint.transport.close()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- building requests ---

    def _call_id(self, device_id: str) -> str:
        return f"{device_id[-8:]}-{self._tag}-{next(self._call_ids)}"

    def _request(
        self,
        endpoint: SipSocket,
        method: str,
        device_id: str,
        call_id: str,
        cseq: int,
        *,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
    ) -> bytes:
        host, port = endpoint.local
        target = self.target
        to_user = device_id if method == "REGISTER" else target.platform_id
        return sip.build_request(
            method,
            f"sip:{target.platform_id}@{target.domain}",
            via=f"SIP/2.0/UDP {host}:{port};rport;branch={sip.BRANCH_COOKIE}{secrets.token_hex(6)}",
            from_=f"<sip:{device_id}@{target.domain}>;tag={device_id[-6:]}{self._tag}",
            to=f"<sip:{to_user}@{target.domain}>",
            call_id=call_id,
            cseq=cseq,
            headers=[("User-Agent", "CampusSafety-Simulator"), *headers],
            body=body,
            content_type=manscdp.CONTENT_TYPE if body else None,
        )

    # --- registration ---

    async def register(self, device: SipDevice, *, expires: int | None = None) -> int:
        """REGISTER with digest; returns the final status (0 = no answer)."""
        endpoint = self.socket_of[device.device_id]
        expires = self.expires if expires is None else expires
        host, port = endpoint.local
        base = [
            ("Contact", f"<sip:{device.device_id}@{host}:{port}>"),
            ("Expires", str(expires)),
        ]
        call_id = self._call_id(device.device_id)
        first = await endpoint.request(
            f"{call_id}|1",
            self._request(endpoint, "REGISTER", device.device_id, call_id, 1, headers=base),
        )
        if first is None:
            return 0
        response = sip.parse_message(first)
        if response.status == 401:
            challenge = response.header("WWW-Authenticate") or ""
            auth = self._authorization(device, challenge)
            second = await endpoint.request(
                f"{call_id}|2",
                self._request(
                    endpoint,
                    "REGISTER",
                    device.device_id,
                    call_id,
                    2,
                    headers=[*base, ("Authorization", auth)],
                ),
            )
            if second is None:
                return 0
            response = sip.parse_message(second)
        device.is_registered = response.status == 200 and expires > 0
        self.stats[f"register_{response.status}"] += 1
        return response.status

    def _authorization(self, device: SipDevice, challenge: str) -> str:
        nonce = (_NONCE.search(challenge) or [None, ""])[1]
        realm = (_REALM.search(challenge) or [None, self.target.domain])[1]
        qop = (_QOP.search(challenge) or [None, ""])[1]
        password = device.password or self.target.default_password
        uri = f"sip:{self.target.platform_id}@{self.target.domain}"
        ha1 = _md5(f"{device.device_id}:{realm}:{password}")
        ha2 = _md5(f"REGISTER:{uri}")
        value = (
            f'Digest username="{device.device_id}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", algorithm=MD5'
        )
        if "auth" in qop:
            cnonce = secrets.token_hex(4)
            answer = _md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
            return f'{value}, response="{answer}", qop=auth, nc=00000001, cnonce="{cnonce}"'
        return f'{value}, response="{_md5(f"{ha1}:{nonce}:{ha2}")}"'

    async def register_all(
        self, devices: Sequence[SipDevice] | None = None, *, concurrency: int = 200
    ) -> Counter[int]:
        """Register many devices, ``concurrency`` at a time; returns statuses counted."""
        statuses: Counter[int] = Counter()
        gate = asyncio.Semaphore(concurrency)

        async def one(device: SipDevice) -> None:
            async with gate:
                statuses[await self.register(device)] += 1

        await asyncio.gather(*(one(d) for d in (devices or self.devices)))
        return statuses

    # --- keepalives and alarms ---

    def send_keepalive(self, device: SipDevice, done: Callable[[bytes | None], None]) -> None:
        """One Keepalive MESSAGE (the hot path: no future, a callback)."""
        endpoint = self.socket_of[device.device_id]
        call_id = self._call_id(device.device_id)
        body = manscdp.build_keepalive(next(device.sn), device.device_id)
        endpoint.send(
            f"{call_id}|20",
            self._request(endpoint, "MESSAGE", device.device_id, call_id, 20, body=body),
            done,
        )
        self.stats["keepalives"] += 1

    async def keepalive(self, device: SipDevice) -> int:
        """One keepalive; returns the final status (0 = no answer)."""
        future = asyncio.get_running_loop().create_future()

        def done(response: bytes | None) -> None:
            if not future.done():
                future.set_result(int(response[8:11]) if response else 0)

        self.send_keepalive(device, done)
        return await future

    async def alarm(
        self,
        device: SipDevice,
        *,
        description: str = "一键报警",
        alarm_type: str | None = None,
        priority: int = 1,
        method: int = 2,
        channel_id: str | None = None,
        wait: float = 10.0,
        attempts: int = 3,
    ) -> bool:
        """Alarm Notify → 200 → the platform's ``Result OK`` Response. The same alarm
        (SN and AlarmTime) is resent until confirmed, up to ``attempts`` times."""
        endpoint = self.socket_of[device.device_id]
        sn = next(device.sn)
        alarm_time = clock.device_time().strftime("%Y-%m-%dT%H:%M:%S")
        subject = channel_id or device.device_id
        body = manscdp.build_alarm_notify(
            sn,
            subject,
            priority=priority,
            method=method,
            alarm_time=alarm_time,
            description=description,
            alarm_type=alarm_type,
        )
        waiter = asyncio.get_running_loop().create_future()
        self._alarm_waiters[(subject, sn)] = waiter
        self.stats["alarms"] += 1
        try:
            for _attempt in range(attempts):
                call_id = self._call_id(device.device_id)
                answer = await endpoint.request(
                    f"{call_id}|20",
                    self._request(endpoint, "MESSAGE", device.device_id, call_id, 20, body=body),
                )
                if answer is not None and answer[8:11] != b"200":
                    self.stats["alarms_refused"] += 1
                    return False
                try:
                    result = await asyncio.wait_for(asyncio.shield(waiter), wait)
                except TimeoutError:
                    self.stats["alarms_resent"] += 1
                    continue
                ok = result == "OK"
                self.stats["alarms_confirmed" if ok else "alarms_refused"] += 1
                device.alarms_confirmed += ok
                return ok
            return False
        finally:
            self._alarm_waiters.pop((subject, sn), None)

    # --- the platform's requests ---

    def on_platform_message(
        self, endpoint: SipSocket, device: SipDevice, body: manscdp.Message
    ) -> None:
        """A query or an alarm Response from the platform (already answered 200)."""
        cmd = body.cmd_type.lower()
        if body.root == "Response" and cmd == "alarm":
            waiter = self._alarm_waiters.get((body.device_id, body.sn))
            if waiter is not None and not waiter.done():
                waiter.set_result(body.fields.get("Result", ""))
            return
        if body.root == "Control":  # PTZ and presets of a camera channel
            self._keep_preset(body)
            video_camera.record_control(self, body)
            return
        if body.root != "Query":
            return
        self.stats[f"query_{cmd}"] += 1
        if cmd == "catalog":
            self._spawn(self._send_catalog(endpoint, device, body.sn))
        elif cmd == "devicestatus":
            self._spawn(self._answer(endpoint, device, self._status_body(device, body)))
        elif cmd == "deviceinfo":
            self._spawn(self._answer(endpoint, device, self._info_body(device, body)))
        elif cmd == "recordinfo":  # live video: a channel's recordings
            video_camera.answer_records(self, endpoint, body)
        elif cmd == "presetquery":
            self._spawn(self._send_presets(endpoint, device, body))

    # --- presets (预置位) ---

    def set_preset(self, channel_id: str, number: int, name: str = "") -> None:
        """A preset saved on the camera by other means (its web page, the vendor's
        client): the platform learns of it only by asking (PresetQuery)."""
        self.presets.setdefault(channel_id, {})[number] = name

    def _keep_preset(self, body: manscdp.Message) -> None:
        """PTZCmd 0x81 saves the current position under a number, 0x83 deletes it. The
        command carries no name, so a preset saved this way has none on the camera."""
        try:
            command = ptz.decode(body.fields.get("PTZCmd", ""))
        except ptz.PtzError:
            return
        number = command.tilt_speed
        if command.instruction == ptz.PRESETS["preset_set"] and 1 <= number <= 255:
            self.presets.setdefault(body.device_id, {}).setdefault(number, "")
        elif command.instruction == ptz.PRESETS["preset_delete"]:
            self.presets.get(body.device_id, {}).pop(number, None)

    async def _send_presets(
        self, endpoint: SipSocket, device: SipDevice, query: manscdp.Message
    ) -> None:
        """PresetQuery: the channel's presets, in parts of ``PRESET_PART`` with SumNum
        in each when there are more (one answer without SumNum, as most cameras send)."""
        kept = self.presets.get(query.device_id, {})
        items = [presets.Preset(n, name) for n, name in sorted(kept.items())]
        parts = [items[i : i + PRESET_PART] for i in range(0, len(items), PRESET_PART)] or [[]]
        total = len(items) if len(parts) > 1 else None
        for part in parts:
            await self._answer(
                endpoint, device, presets.build_response(query.sn, query.device_id, part, total)
            )
        self.stats["presets_sent"] += 1

    async def _answer(self, endpoint: SipSocket, device: SipDevice, body: bytes) -> None:
        call_id = self._call_id(device.device_id)
        await endpoint.request(
            f"{call_id}|20",
            self._request(endpoint, "MESSAGE", device.device_id, call_id, 20, body=body),
        )

    def _status_body(self, device: SipDevice, query: manscdp.Message) -> bytes:
        now = clock.device_time().strftime("%Y-%m-%dT%H:%M:%S")
        return manscdp.build(
            "Response",
            "DeviceStatus",
            query.sn,
            query.device_id or device.device_id,
            [
                ("Result", "OK"),
                ("Online", "ONLINE"),
                ("Status", "OK"),
                ("Encode", "ON"),
                ("Record", "ON"),
                ("DeviceTime", now),
            ],
        )

    def _info_body(self, device: SipDevice, query: manscdp.Message) -> bytes:
        return manscdp.build(
            "Response",
            "DeviceInfo",
            query.sn,
            query.device_id or device.device_id,
            [
                ("Result", "OK"),
                ("DeviceName", device.name or device.device_id),
                ("Manufacturer", device.manufacturer or "CampusSafety"),
                ("Model", device.model or "SIM-1"),
                ("Firmware", "V1.0.0 build 260301"),
                ("Channel", str(len(device.channels))),
            ],
        )

    async def _send_catalog(self, endpoint: SipSocket, device: SipDevice, sn: int) -> None:
        """The channels in parts of at most ``CATALOG_PART`` items, each answered 200
        before the next goes (SumNum = all of them in every part)."""
        items = [
            {
                "DeviceID": c.device_id,
                "Name": c.name,
                "Manufacturer": c.manufacturer,
                "Model": c.model,
                "Owner": "0",
                "CivilCode": device.civil_code or device.device_id[:6],
                "Address": c.address,
                "Parental": "0",
                "ParentID": device.device_id,
                "SafetyWay": "0",
                "RegisterWay": "1",
                "Secrecy": "0",
                "Status": c.status,
            }
            for c in device.channels
        ]
        total = len(items)
        parts = [items[i : i + CATALOG_PART] for i in range(0, total, CATALOG_PART)] or [[]]
        for part in parts:
            body = manscdp.build_catalog_response(sn, device.device_id, total, part)
            await self._answer(endpoint, device, body)
        self.stats["catalogs_sent"] += 1
