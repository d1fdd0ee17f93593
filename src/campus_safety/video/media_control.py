"""How the video app asks for a device's stream without importing the gateway.

The video app sits below the gateway in the layers, yet a live view needs a SIP INVITE
to the camera. So the GB/T 28181 gateway, when it starts in this process, connects a
``MediaControl`` here (as devices/gateway_link.py does for queries); the video service
asks ``current()`` and says plainly when none runs in this process. The video app builds
the SDP (it knows where it receives RTP); the gateway only carries the dialog.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class MediaError(Exception):
    """The dialog could not be set up; ``status`` is the device's SIP answer if any."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class InviteAnswer:
    dialog_id: str  # the gateway's handle (the Call-ID) for bye()
    sdp: bytes  # the device's answer
    status: int = 200
    remote_host: str = ""  # where the device's SIP comes from (RTP may come from there too)


@dataclass(frozen=True)
class PresetAnswer:
    """A channel's presets as the device answered PresetQuery: (number, name) pairs;
    ``is_complete`` False when parts of a split answer never came (or one could not be
    read), ``invalid`` items without a usable number."""

    presets: tuple[tuple[int, str], ...]
    is_complete: bool = True
    invalid: int = 0


class MediaControl(Protocol):
    """What the running gateway offers the video app. Coroutines run on ``loop``."""

    loop: asyncio.AbstractEventLoop

    def is_registered(self, device_id: str) -> bool: ...

    async def invite(
        self, device_id: str, channel_id: str, sdp: bytes, *, subject: str, timeout: float
    ) -> InviteAnswer:
        """INVITE ``channel_id`` through registered ``device_id``; ACKed on 200.
        Raises MediaError."""
        ...

    async def bye(self, dialog_id: str) -> None:
        """End the dialog (never raises: a device that went away is gone)."""
        ...

    async def info(self, dialog_id: str, body: bytes, content_type: str) -> int:
        """An in-dialog INFO (MANSRTSP for playback control); the final status."""
        ...

    async def record_info(
        self,
        device_id: str,
        channel_id: str,
        start: dt.datetime,
        end: dt.datetime,
        timeout: float = 10.0,
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """RecordInfo: the channel's recordings in the span (every part collected).
        Raises MediaError."""
        ...

    async def control(self, device_id: str, body: bytes) -> int:
        """A MANSCDP Control MESSAGE (PTZ) to a registered device; its final status.
        Raises MediaError."""
        ...

    async def preset_query(
        self, device_id: str, channel_id: str, timeout: float = 10.0
    ) -> PresetAnswer:
        """PresetQuery: the channel's presets as the device keeps them (every part
        collected). Raises MediaError."""
        ...


_control: MediaControl | None = None
_lock = threading.Lock()
_bye_listeners: list[Callable[[str], None]] = []
_status_listeners: list[Callable[[str, str], None]] = []


def connect(control: MediaControl) -> None:
    global _control
    with _lock:
        _control = control


def disconnect(control: MediaControl | None = None) -> None:
    global _control
    with _lock:
        if control is None or _control is control:
            _control = None


def current() -> MediaControl | None:
    return _control


def on_remote_bye(listener: Callable[[str], None]) -> None:
    """Called with the dialog ID when a device ends a dialog itself (camera rebooted)."""
    if listener not in _bye_listeners:
        _bye_listeners.append(listener)


def remote_bye(dialog_id: str) -> None:
    """The gateway tells: the device sent BYE for this dialog."""
    for listener in list(_bye_listeners):
        listener(dialog_id)


def on_media_status(listener: Callable[[str, str], None]) -> None:
    """Called with the dialog ID and the NotifyType when a device sends MediaStatus
    (GB/T 28181 A.2.5: ``121`` = the playback or download reached the end of the file)."""
    if listener not in _status_listeners:
        _status_listeners.append(listener)


def media_status(dialog_id: str, notify_type: str) -> None:
    """The gateway tells: the device sent MediaStatus for this dialog."""
    for listener in list(_status_listeners):
        listener(dialog_id, notify_type)
