"""The platform as UAC of media dialogs (GB/T 28181 §9.2 实时视音频点播, §9.8 回放):
INVITE with the video app's SDP to a channel through its registered device, ACK the
2xx, BYE to end it, INFO (MANSRTSP) inside it; a device's own BYE is answered and
passed on. Connected to ``video.media_control`` when the server starts. Pure: no Django.

RFC 3261 as a camera needs it: the INVITE is resent on timer A over UDP until a
provisional or final answer, given up after timer B (64 × T1, or the caller's
timeout); a 2xx resent by the device (our ACK was lost) is ACKed again; non-2xx finals
are ACKed in the same transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from campus_safety.gateway.gb28181 import manscdp, presets, records, sip
from campus_safety.gateway.gb28181.interface import GatewayError, hostport
from campus_safety.video import media_control

if TYPE_CHECKING:
    from campus_safety.gateway.gb28181.listeners import Channel
    from campus_safety.gateway.gb28181.server import Gb28181Server

log = logging.getLogger(__name__)
MAX_DIALOGS = 10_000


@dataclass
class _PresetCollection:
    """A PresetQuery waiting for its parts: presets by number (a later part's name
    wins), the items that could not be read, and what went wrong with a part."""

    device_id: str
    future: asyncio.Future
    presets: dict[int, str] = field(default_factory=dict)
    invalid: int = 0
    sum_num: int | None = None
    error: str = ""


@dataclass
class Dialog:
    call_id: str
    device_id: str
    channel_id: str
    channel: Channel
    from_: str  # our From (with our tag)
    to: str  # the device's To (with its tag)
    request_uri: str  # the device's Contact, else the INVITE's URI
    via_host: str
    via_port: int
    cseq: int
    ack: bytes = b""


class MediaDialogs:
    """Dialogs of one server; ``media_control.MediaControl`` for the video app."""

    def __init__(self, server: Gb28181Server) -> None:
        self.server = server
        self.dialogs: dict[str, Dialog] = {}
        self._provisional: set[str] = set()
        self._records: dict[tuple[str, int], tuple[asyncio.Future, dict]] = {}
        self._presets: dict[tuple[str, int], _PresetCollection] = {}
        self._sn = itertools.count(secrets.randbelow(100_000) + 1)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self.server.loop is not None
        return self.server.loop

    def is_registered(self, device_id: str) -> bool:
        return self.server.registration(device_id) is not None

    # --- hooks the server calls -------------------------------------------------------

    def on_provisional(self, branch: str) -> None:
        self._provisional.add(branch)

    def on_stray_response(self, response: sip.SipResponse) -> None:
        """A 2xx to an INVITE whose transaction ended: our ACK was lost, send it again."""
        try:
            dialog = self.dialogs.get(response.call_id)
            is_invite = response.cseq.method == "INVITE"
        except sip.SipParseError:
            return
        if dialog is not None and is_invite and 200 <= response.status < 300 and dialog.ack:
            dialog.channel.send(dialog.ack)

    def on_bye(self, request: sip.SipRequest) -> int:
        """The device ends a dialog: 200 if we knew it (481 if not)."""
        dialog = self.dialogs.pop(request.call_id, None)
        if dialog is None:
            return 481
        log.info("GB28181: %s ended the media dialog %s", dialog.channel_id, dialog.call_id)
        media_control.remote_bye(dialog.call_id)
        return 200

    def on_media_status(self, sender: str, call_id: str, message: manscdp.Message) -> bool:
        """MediaStatus (NotifyType 121: end of file) for a playback or download: found by
        the MESSAGE's Call-ID (sent inside the dialog), else by the channel it names when
        only one dialog of that channel runs from this device. False if none matches."""
        dialog = self.dialogs.get(call_id)
        if dialog is None or sender not in (dialog.device_id, dialog.channel_id):
            named = message.device_id or sender
            matches = [
                d
                for d in self.dialogs.values()
                if d.channel_id == named and sender in (d.device_id, d.channel_id)
            ]
            dialog = matches[0] if len(matches) == 1 else None
        if dialog is None:
            return False
        notify_type = message.fields.get("NotifyType", "")
        log.info("GB28181: MediaStatus %s for %s", notify_type, dialog.channel_id)
        media_control.media_status(dialog.call_id, notify_type)
        return True

    # --- our requests -----------------------------------------------------------------

    async def _transact(
        self, channel: Channel, data: bytes, branch: str, timeout: float, *, invite: bool
    ) -> sip.SipResponse:
        server = self.server
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        server._client[branch] = future
        deadline = loop.time() + timeout
        interval = server.config.t1
        try:
            channel.send(data)
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise media_control.MediaError("no answer from the device")
                resend = channel.remote.transport == "udp" and branch not in self._provisional
                wait = min(interval, remaining) if resend else remaining
                try:
                    return await asyncio.wait_for(asyncio.shield(future), wait)
                except TimeoutError:
                    if channel.remote.transport == "udp" and branch not in self._provisional:
                        channel.send(data)
                        server.stats["retransmitted"] += 1
                        interval = interval * 2 if invite else min(interval * 2, server.config.t2)
        finally:
            server._client.pop(branch, None)
            self._provisional.discard(branch)
            if not future.done():
                future.cancel()

    def _request(self, method: str, dialog: Dialog, cseq: int, branch: str, **kwargs) -> bytes:
        transport = dialog.channel.remote.transport.upper()
        return sip.build_request(
            method,
            dialog.request_uri,
            via=f"SIP/2.0/{transport} {hostport(dialog.via_host, dialog.via_port)}"
            f";rport;branch={branch}",
            from_=dialog.from_,
            to=dialog.to,
            call_id=dialog.call_id,
            cseq=cseq,
            headers=[("User-Agent", self.server.config.user_agent), *kwargs.pop("headers", [])],
            **kwargs,
        )

    async def invite(
        self, device_id: str, channel_id: str, sdp: bytes, *, subject: str, timeout: float = 8.0
    ) -> media_control.InviteAnswer:
        server = self.server
        registration = server.registration(device_id)
        if registration is None:
            raise media_control.MediaError("the device is not registered")
        if len(self.dialogs) >= MAX_DIALOGS:
            raise media_control.MediaError("too many media dialogs")
        channel = registration.channel
        if not channel.is_open():
            raise media_control.MediaError("the device's connection is closed")
        remote = channel.remote
        local_host, local_port = server._local_address(channel)
        config = server.config
        call_id = f"{secrets.token_hex(10)}@{local_host}"
        branch = sip.BRANCH_COOKIE + secrets.token_hex(8)
        cseq = 1
        uri = f"sip:{channel_id}@{hostport(remote.host, remote.port)}"
        from_ = f"<sip:{config.platform_id}@{config.domain}>;tag={secrets.token_hex(5)}"
        to = f"<sip:{channel_id}@{channel_id[:10]}>"
        via = f"SIP/2.0/{remote.transport.upper()} {hostport(local_host, local_port)}"
        data = sip.build_request(
            "INVITE",
            uri,
            via=f"{via};rport;branch={branch}",
            from_=from_,
            to=to,
            call_id=call_id,
            cseq=cseq,
            headers=[
                ("Contact", f"<sip:{config.platform_id}@{hostport(local_host, local_port)}>"),
                ("Subject", subject),
                ("User-Agent", config.user_agent),
            ],
            body=sdp,
            content_type="application/sdp",
        )
        response = await self._transact(
            channel, data, branch, min(timeout, 64 * config.t1), invite=True
        )
        to_value = response.header("To") or to
        if not 200 <= response.status < 300:
            # non-2xx: ACK in the INVITE's transaction (same branch, RFC 3261 17.1.1.3)
            ack = sip.build_request(
                "ACK",
                uri,
                via=f"{via};rport;branch={branch}",
                from_=from_,
                to=to_value,
                call_id=call_id,
                cseq=cseq,
            )
            channel.send(ack)
            raise media_control.MediaError(
                f"device answered {response.status} {response.reason}", response.status
            )
        target = uri
        contact = response.header("Contact")
        if contact:
            try:
                parsed = sip.parse_name_addr(contact).uri
                if parsed.user and parsed.host:
                    target = f"sip:{parsed.user}@{hostport(parsed.host, parsed.port or 5060)}"
            except sip.SipParseError:
                pass
        dialog = Dialog(
            call_id,
            device_id,
            channel_id,
            channel,
            from_,
            to_value,
            target,
            local_host,
            local_port,
            cseq,
        )
        dialog.ack = self._request("ACK", dialog, cseq, sip.BRANCH_COOKIE + secrets.token_hex(8))
        self.dialogs[call_id] = dialog
        channel.send(dialog.ack)
        server.stats["media_dialogs"] += 1
        return media_control.InviteAnswer(call_id, response.body, response.status, remote.host)

    async def bye(self, dialog_id: str) -> None:
        dialog = self.dialogs.pop(dialog_id, None)
        if dialog is None:
            return
        dialog.cseq += 1
        branch = sip.BRANCH_COOKIE + secrets.token_hex(8)
        data = self._request("BYE", dialog, dialog.cseq, branch)
        try:
            await self._transact(dialog.channel, data, branch, 4.0, invite=False)
        except media_control.MediaError:
            log.info("GB28181: no answer to BYE from %s", dialog.channel_id)

    async def info(self, dialog_id: str, body: bytes, content_type: str) -> int:
        dialog = self.dialogs.get(dialog_id)
        if dialog is None:
            raise media_control.MediaError("no such dialog")
        dialog.cseq += 1
        branch = sip.BRANCH_COOKIE + secrets.token_hex(8)
        data = self._request(
            "INFO", dialog, dialog.cseq, branch, body=body, content_type=content_type
        )
        response = await self._transact(dialog.channel, data, branch, 4.0, invite=False)
        return response.status

    async def control(self, device_id: str, body: bytes) -> int:
        """DeviceControl (PTZ) as a MESSAGE to the registered device."""
        try:
            response = await self.server.send_message(device_id, body)
        except GatewayError as exc:
            raise media_control.MediaError(str(exc) or "the device did not answer") from None
        return response.status

    def on_record_info(self, sender: str, message: manscdp.Message) -> None:
        """A part of a RecordInfo answer: collected until SumNum items came."""
        entry = self._records.get((message.device_id, message.sn)) or next(
            (e for (c, _), e in self._records.items() if c == message.device_id), None
        )
        if entry is None:
            return
        future, collected = entry
        try:
            total, items = records.parse_response(message)
        except manscdp.ManscdpError:
            return
        collected["total"] = total
        collected["items"].extend(items)
        if len(collected["items"]) >= total and not future.done():
            future.set_result(None)

    async def record_info(
        self,
        device_id: str,
        channel_id: str,
        start: dt.datetime,
        end: dt.datetime,
        timeout: float = 10.0,
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """A channel's recordings in [start, end] (local times made aware); parts that
        did not come in ``timeout`` are missing from the answer."""
        sn = next(self._sn)
        future = asyncio.get_running_loop().create_future()
        collected: dict = {"items": [], "total": None}
        self._records[(channel_id, sn)] = (future, collected)
        try:
            async with asyncio.timeout(timeout):
                response = await self.server.send_message(
                    device_id, records.build_query(sn, channel_id, start, end)
                )
                if not 200 <= response.status < 300:
                    raise media_control.MediaError(f"device answered {response.status}")
                await future
        except TimeoutError:
            if not collected["items"]:
                raise media_control.MediaError("no RecordInfo answer") from None
        except GatewayError as exc:
            raise media_control.MediaError(str(exc)) from None
        finally:
            self._records.pop((channel_id, sn), None)
        return sorted((r.start.astimezone(), r.end.astimezone()) for r in collected["items"])

    def on_preset_list(self, sender: str, message: manscdp.Message) -> None:
        """A part of a PresetQuery answer (GB/T 28181-2022), found by channel and SN,
        else by channel (devices that answer with their own SN), else by the device
        that was asked; collected until SumNum presets came. An unreadable part ends
        the wait: the caller says so rather than wait for the timeout."""
        collection = self._presets.get((message.device_id, message.sn))
        if collection is None:
            named = message.device_id
            waiting = [c for (channel, _), c in self._presets.items() if channel == named]
            waiting = waiting or [c for c in self._presets.values() if c.device_id == sender]
            collection = waiting[0] if len(waiting) == 1 else None
        if collection is None or collection.future.done():
            return
        try:
            part = presets.parse_response(message)
        except manscdp.ManscdpError as exc:
            collection.error = str(exc)
            collection.future.set_result(None)
            return
        collection.sum_num = part.sum_num
        collection.invalid += part.invalid
        collection.presets.update((p.number, p.name) for p in part.presets)
        if len(collection.presets) + collection.invalid >= part.sum_num:
            collection.future.set_result(None)

    async def preset_query(
        self, device_id: str, channel_id: str, timeout: float = 10.0
    ) -> media_control.PresetAnswer:
        """设备预置位查询: the channel's presets as the device keeps them. Parts that did
        not come in ``timeout`` are missing (``is_complete`` False); no answer at all,
        or an unreadable one, raises MediaError."""
        sn = next(self._sn)
        collection = _PresetCollection(device_id, asyncio.get_running_loop().create_future())
        self._presets[(channel_id, sn)] = collection
        try:
            async with asyncio.timeout(timeout):
                response = await self.server.send_message(
                    device_id, presets.build_query(sn, channel_id)
                )
                if not 200 <= response.status < 300:
                    raise media_control.MediaError(
                        f"device answered {response.status}", response.status
                    )
                await collection.future
        except TimeoutError:
            if collection.sum_num is None and not collection.error:
                raise media_control.MediaError("no PresetQuery answer") from None
        except GatewayError as exc:
            raise media_control.MediaError(str(exc) or "the device did not answer") from None
        finally:
            self._presets.pop((channel_id, sn), None)
        if collection.error and collection.sum_num is None:
            raise media_control.MediaError(f"unreadable PresetQuery answer ({collection.error})")
        received = len(collection.presets) + collection.invalid
        return media_control.PresetAnswer(
            tuple(sorted(collection.presets.items())),
            is_complete=not collection.error and received >= (collection.sum_num or 0),
            invalid=collection.invalid,
        )

    def close_all(self) -> None:
        """Server stopping: the devices' dialogs end with their registrations' socket."""
        for dialog_id in list(self.dialogs):
            dialog = self.dialogs.pop(dialog_id)
            dialog.cseq += 1
            dialog.channel.send(
                self._request("BYE", dialog, dialog.cseq, sip.BRANCH_COOKIE + secrets.token_hex(8))
            )
