"""Who may watch which camera, the short-lived stream token, the alarm point's cameras,
and the audit of every view (issue #16 items 1, 4, 7)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.audit.services import record
from campus_safety.devices.models import Device
from campus_safety.video import media_control
from campus_safety.video.models import CameraLink, CameraPreset
from campus_safety.video.streams import Target

TOKEN_SALT = "campus_safety.video.stream"  # noqa: S105 - a signing salt, not a secret


class TokenError(Exception):
    """The stream token is forged, for someone else, or expired."""


def cameras_visible_to(user: Any) -> QuerySet[Device]:
    """The cameras in the user's scope (a school its own, a station its schools …)."""
    return Device.objects.visible_to(user).filter(kind=Device.Kind.CAMERA)


PLAYBACK_SECONDS = 600  # a playback INVITE asks for ten minutes from the chosen moment


def target_of(camera: Device, playback_from: int = 0, playback: str = "") -> Target:
    """A channel behind an NVR is INVITEd through the NVR's registration; with
    ``playback_from`` (Unix seconds) the recording from then (录像回放), ``playback``
    naming one viewer's own playback (see ``new_playback_id``)."""
    parent = camera.parent.device_id if camera.parent_id else camera.device_id
    if not playback_from:
        return Target(channel_id=camera.device_id, device_id=parent)
    end = playback_from + PLAYBACK_SECONDS
    return Target(camera.device_id, parent, playback_from, end, tag=playback)


def new_playback_id(user: Any) -> str:
    """A playback of one viewer: its own INVITE, so that viewer's pause, seek and speed
    (MANSRTSP in its dialog) change nobody else's picture. The user's key leads, so a
    command naming another user's playback is refused without a lookup."""
    return f"{user.pk}-{secrets.token_hex(6)}"


def owns_playback(user: Any, playback: str) -> bool:
    return bool(PLAYBACK_ID.fullmatch(playback)) and playback.split("-")[0] == str(user.pk)


PLAYBACK_ID = re.compile(r"[0-9]+-[0-9a-f]{12}")


def download_target(camera: Device, start: int, end: int, tag: str) -> Target:
    """录像下载: the span [start, end] (Unix seconds) sent VIDEO_DOWNLOAD_SPEED times
    faster (s=Download)."""
    parent = camera.parent.device_id if camera.parent_id else camera.device_id
    return Target(camera.device_id, parent, start, end, settings.VIDEO_DOWNLOAD_SPEED, tag)


# --- the stream token ------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    camera_pk: int
    user_pk: int
    expires: float
    playback_from: int = 0
    playback: str = ""  # the viewer's own playback (new_playback_id)


def issue_token(
    camera: Device,
    user: Any,
    seconds: int | None = None,
    playback_from: int = 0,
    playback: str = "",
) -> str:
    """A signed token that opens ``camera``'s stream (or the user's playback
    ``playback`` from ``playback_from``) for ``user`` until it expires (a copied URL
    stops working; the stream itself goes on once opened)."""
    expires = clock.timestamp() + (seconds or settings.VIDEO_TOKEN_SECONDS)
    return signing.dumps(
        [camera.pk, user.pk, round(expires, 3), int(playback_from), playback], salt=TOKEN_SALT
    )


def read_token(token: str, user: Any) -> Grant:
    try:
        camera_pk, user_pk, expires, playback_from, playback = signing.loads(
            token[:400], salt=TOKEN_SALT
        )
    except (signing.BadSignature, ValueError, TypeError):
        raise TokenError("bad token") from None
    if user_pk != getattr(user, "pk", None):
        raise TokenError("token of another user")
    if expires < clock.timestamp():
        raise TokenError("token expired")
    return Grant(int(camera_pk), int(user_pk), float(expires), int(playback_from), str(playback))


# --- audit -------------------------------------------------------------------------------


def audit_view_start(camera: Device, user: Any, why: str = "") -> None:
    record(
        "video.view_start",
        camera,
        user=user,
        detail={"device_id": camera.device_id, "why": why[:100]},
    )


def audit_view_stop(camera: Device, user: Any, seconds: float, sent: int, reason: str) -> None:
    record(
        "video.view_stop",
        camera,
        user=user,
        detail={
            "device_id": camera.device_id,
            "seconds": round(seconds, 1),
            "bytes": sent,
            "reason": reason[:100],
        },
    )


def audit_refused(camera: Device, user: Any, reason: str) -> None:
    record(
        "video.view_start",
        camera,
        user=user,
        outcome="failure",
        detail={"device_id": camera.device_id, "reason": reason[:200]},
    )


def audit_ptz(camera: Device, user: Any, action: str, code: str, status: int) -> None:
    record(
        "video.ptz",
        camera,
        user=user,
        outcome="success" if status == 200 else "failure",
        detail={"device_id": camera.device_id, "action": action[:20], "ptz_cmd": code,
                "status": status},
    )  # fmt: skip


def audit_download(
    camera: Device, user: Any, start: int, end: int, reason: str, refused: str = ""
) -> None:
    """Every download: who, which camera, which span, why (and a refusal's reason)."""
    detail = {
        "device_id": camera.device_id,
        "start": dt.datetime.fromtimestamp(start, tz=dt.UTC).isoformat(),
        "end": dt.datetime.fromtimestamp(end, tz=dt.UTC).isoformat(),
        "seconds": end - start,
        "why": reason[:200],
    }
    if refused:
        detail["refused"] = refused[:200]
    record(
        "video.download",
        camera,
        user=user,
        outcome="failure" if refused else "success",
        detail=detail,
    )


def audit_download_result(
    camera_pk: int, user_pk: int, start: int, end: int, state: dict[str, Any]
) -> None:
    """How a download ended (done with its size, or failed with the reason), written
    from the media loop's worker thread: the request that started it returned long ago."""
    try:
        camera = Device.objects.filter(pk=camera_pk).first()
        if camera is None:  # deleted meanwhile
            return
        user = get_user_model().objects.filter(pk=user_pk).first()
        record(
            "video.download_result",
            camera,
            user=user,
            outcome="success" if state["state"] == "done" else "failure",
            detail={
                "device_id": camera.device_id,
                "start": dt.datetime.fromtimestamp(start, tz=dt.UTC).isoformat(),
                "end": dt.datetime.fromtimestamp(end, tz=dt.UTC).isoformat(),
                "download": state["id"],
                "seconds": state["seconds"],
                "bytes": state["size"],
                "error": state["error"][:200],
            },
        )
    finally:
        connection.close()  # this worker thread keeps no database session


def audit_download_fetch(camera: Device, user: Any, download_id: str, size: int) -> None:
    record(
        "video.download_fetch",
        camera,
        user=user,
        detail={"device_id": camera.device_id, "download": download_id, "bytes": size},
    )


def audit_playback_control(
    camera: Device, user: Any, action: str, value: str, outcome: str
) -> None:
    record(
        "video.playback_control",
        camera,
        user=user,
        outcome=outcome,
        detail={"device_id": camera.device_id, "action": action, "value": value[:20]},
    )


# --- presets (预置位) ----------------------------------------------------------------------


def presets_of(camera: Device) -> list[dict[str, Any]]:
    return [
        {"number": p.number, "name": p.name}
        for p in CameraPreset.objects.filter(camera=camera).order_by("number")
    ]


def apply_preset(camera: Device, action: str, number: int, name: str) -> None:
    """After the camera took the command: a saved preset keeps its name (a new name
    replaces the old), a deleted one leaves the list; a call changes nothing."""
    if action == "preset_set":
        CameraPreset.objects.update_or_create(
            camera=camera, number=number, defaults={"name": name, "school_id": camera.school_id}
        )
    elif action == "preset_delete":
        CameraPreset.objects.filter(camera=camera, number=number).delete()


# GB/T 28181 PTZCmd carries a preset's number only: a camera names a preset set over it
# by a pattern of its own ("预置点3", "Preset 003") or not at all. Such a name says
# nothing, so the name people gave it on the platform stays.
_GENERIC_NAME = re.compile(
    r"(?:预置点|预置位|preset|point)?\s*[#_\-]?\s*0*([0-9]{1,3})", re.IGNORECASE
)


def is_generic_preset_name(name: str, number: int) -> bool:
    match = _GENERIC_NAME.fullmatch(name.strip())
    return not name.strip() or (match is not None and int(match.group(1)) == number)


@dataclass(frozen=True)
class PresetMerge:
    """What reading a camera's presets changed on the platform."""

    listed: int
    added: tuple[int, ...]
    renamed: tuple[int, ...]
    removed: tuple[tuple[int, str], ...]
    is_complete: bool


def merge_device_presets(
    camera: Device, listed: Sequence[tuple[int, str]], *, is_complete: bool, user: Any
) -> PresetMerge:
    """预置位查询的结果并入平台: the camera holds the positions, so its list is the truth.

    * a number the camera lists and the platform does not know is added, under the
      camera's name (or "预置位N" when the camera gives none);
    * for a number both know, the camera's name wins, unless it is empty or only the
      number in the camera's own pattern (``is_generic_preset_name``) — GB/T 28181 gives
      the platform no way to tell a camera a name, so that is no name at all;
    * a number the platform knows but the camera no longer lists is removed: calling it
      would move the camera nowhere (someone deleted it on the camera, or the camera was
      reset or replaced). Its name stays in the audit entry. Only a complete answer
      removes anything: a list whose parts did not all come proves nothing missing.

    Audited as ``video.preset`` (action ``preset_read``) with what changed."""
    added: list[int] = []
    renamed: list[int] = []
    removed: list[tuple[int, str]] = []
    by_number = {int(n): " ".join(str(name).split())[:40] for n, name in listed if 1 <= n <= 255}
    with transaction.atomic():
        known = {
            p.number: p for p in CameraPreset.objects.select_for_update().filter(camera=camera)
        }
        for number, name in sorted(by_number.items()):
            is_named = not is_generic_preset_name(name, number)
            preset = known.get(number)
            if preset is None:
                CameraPreset.objects.create(
                    camera=camera,
                    school_id=camera.school_id,
                    number=number,
                    name=name if is_named else f"预置位{number}",
                )
                added.append(number)
            elif is_named and preset.name != name:
                preset.name = name
                preset.save(update_fields=["name", "updated_at"])
                renamed.append(number)
        if is_complete:
            gone = [p for number, p in sorted(known.items()) if number not in by_number]
            removed = [(p.number, p.name) for p in gone]
            CameraPreset.objects.filter(pk__in=[p.pk for p in gone]).delete()
        record(
            "video.preset",
            camera,
            user=user,
            detail={
                "device_id": camera.device_id,
                "action": "preset_read",
                "listed": len(by_number),
                "complete": is_complete,
                "added": added,
                "renamed": renamed,
                "removed": [{"number": n, "name": name} for n, name in removed],
            },
        )
    return PresetMerge(len(by_number), tuple(added), tuple(renamed), tuple(removed), is_complete)


PRESET_QUERY_SECONDS = 10.0


class PresetReadError(Exception):
    """The camera's presets could not be read; ``status`` the HTTP answer that says why
    (503 no gateway here, 504 设备未应答, 502 an answer refused or unreadable)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def read_device_presets(
    camera: Device, user: Any, timeout: float | None = None
) -> PresetMerge:
    """从设备读取: PresetQuery to the camera through the gateway of this process (the
    caller routes to the process holding its registration first), merged into the
    platform's list (``merge_device_presets``). A failure is audited and raised as
    ``PresetReadError``."""
    control = media_control.current()
    if control is None:
        raise PresetReadError(
            _("Live video is not available: no GB/T 28181 gateway runs here."), 503
        )
    target = target_of(camera)
    try:
        answer = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(
                control.preset_query(
                    target.device_id, target.channel_id, timeout or PRESET_QUERY_SECONDS
                ),
                control.loop,
            )
        )
    except media_control.MediaError as exc:
        await sync_to_async(audit_preset_read_failed)(camera, user, str(exc))
        if exc.status or str(exc).startswith("unreadable"):
            raise PresetReadError(
                _("The camera's answer to the preset query was refused or could not be read."), 502
            ) from None
        raise PresetReadError(_("The camera did not answer the preset query."), 504) from None
    return await sync_to_async(merge_device_presets)(
        camera, answer.presets, is_complete=answer.is_complete, user=user
    )


def audit_preset_read_failed(camera: Device, user: Any, reason: str) -> None:
    record(
        "video.preset",
        camera,
        user=user,
        outcome="failure",
        detail={"device_id": camera.device_id, "action": "preset_read", "reason": reason[:200]},
    )


def audit_preset(
    camera: Device, user: Any, action: str, number: int, name: str, code: str, status: int
) -> None:
    record(
        "video.preset",
        camera,
        user=user,
        outcome="success" if status == 200 else "failure",
        detail={"device_id": camera.device_id, "action": action, "number": number,
                "name": name[:40], "ptz_cmd": code, "status": status},
    )  # fmt: skip


# --- the alarm point's cameras -----------------------------------------------------------


def _distance_m(a: Device, b: Device) -> float:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return math.inf
    lat = math.radians((a.latitude + b.latitude) / 2)
    dx = math.radians(b.longitude - a.longitude) * math.cos(lat) * 6_371_000
    dy = math.radians(b.latitude - a.latitude) * 6_371_000
    return math.hypot(dx, dy)


def linked_cameras(alarm_device: Device, user: Any, limit: int | None = None) -> list[Device]:
    """The cameras an alarm point's case opens live: the school's links for it, else the
    nearest cameras of the same school (same key area first, then by distance)."""
    limit = limit or settings.VIDEO_LINKED_CAMERAS
    visible = cameras_visible_to(user)
    if alarm_device.kind == Device.Kind.CAMERA:
        return [alarm_device] if visible.filter(pk=alarm_device.pk).exists() else []
    links = list(
        CameraLink.objects.filter(alarm_device=alarm_device, camera__in=visible)
        .select_related("camera", "camera__parent")
        .order_by("position", "pk")[:limit]
    )
    if links:
        return [link.camera for link in links]
    if alarm_device.school_id is None:
        return []
    candidates = list(visible.filter(school_id=alarm_device.school_id).select_related("parent"))
    candidates.sort(
        key=lambda c: (
            not (alarm_device.key_area and c.key_area == alarm_device.key_area),
            _distance_m(alarm_device, c),
            c.device_id,
        )
    )
    return candidates[:limit]


def set_links(alarm_device: Device, cameras: list[Device], *, user: Any) -> list[CameraLink]:
    """Replace an alarm point's linked cameras (each of its own school)."""
    if any(c.school_id != alarm_device.school_id or c.kind != Device.Kind.CAMERA for c in cameras):
        raise ValueError("linked cameras must be cameras of the alarm point's school")
    with transaction.atomic():
        CameraLink.objects.filter(alarm_device=alarm_device).delete()
        links = [
            CameraLink.objects.create(
                school_id=alarm_device.school_id,
                alarm_device=alarm_device,
                camera=camera,
                position=index,
            )
            for index, camera in enumerate(cameras)
        ]
        record(
            "video.camera_links",
            alarm_device,
            user=user,
            detail={"cameras": [c.device_id for c in cameras]},
        )
    return links
