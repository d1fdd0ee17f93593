"""Video pages: a camera live, the video wall (1/4/9/16, 轮巡), the alarm case's
cameras (templatetags/video.py), and the two calls their player makes: ``start``
(INVITE if no stream runs, a short-lived token back) and ``stream`` (MPEG-TS while
the viewer watches; view start and stop audited).

``start`` and ``stream`` are async: setting a stream up waits seconds for the camera,
and a stream lasts as long as it is watched — neither may hold the thread Django runs
sync views on under ASGI.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import EXPORT, READ, WRITE, can
from campus_safety.devices.models import Device
from campus_safety.orgs.models import School
from campus_safety.scoping import get_visible_or_404
from campus_safety.video import downloads, media_control, ptz, routing, services, streams
from campus_safety.web.widgets import SchoolPicker

log = logging.getLogger(__name__)
T = TypeVar("T")
GRIDS = (1, 4, 9, 16)
STATUS = {"limit": 429, "no_media": 504, "unavailable": 503, "gone": 409, "refused": 502}


async def _read(function: Callable[..., T], *args: Any) -> T:
    """A query on a worker thread whose connection is given back at once (a stream
    stays open for minutes; see live/views.py)."""

    def run() -> T:
        try:
            return function(*args)
        finally:
            if not connection.in_atomic_block:
                connection.close()

    return await sync_to_async(run)()


def tile(camera: Device) -> dict[str, Any]:
    """What the player needs for one camera."""
    return {
        "id": camera.pk,
        "name": camera.name,
        "device_id": camera.device_id,
        "start": reverse("video:start", args=[camera.pk]),
        "page": reverse("video:camera", args=[camera.pk]),
    }


@login_required
@role_required("video")
@require_GET
def camera_live(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_visible_or_404(
        services.cameras_visible_to(request.user).select_related("school", "parent"),
        request.user,
        pk=pk,
    )
    return render(
        request,
        "video/camera.html",
        {
            "camera": camera,
            "tile": tile(camera),
            "may_ptz": can(request.user, WRITE, "ptz"),
            "presets": services.presets_of(camera) if can(request.user, WRITE, "ptz") else [],
            "may_replay": can(request.user, READ, "video_playback"),
            "may_download": can(request.user, EXPORT, "video_playback"),
            "speeds": ["0.5", "1", "2", "4"],
            "playback_seconds": services.PLAYBACK_SECONDS,
            "download_lengths": _download_lengths(),
            "today": timezone.localdate(clock.now()),
            "moves": [
                ("up", "▲"), ("left", "◀"), ("stop", "■"), ("right", "▶"), ("down", "▼"),
                ("zoom_in", "+"), ("zoom_out", "−"),
            ],
        },
    )  # fmt: skip


def _download_lengths() -> list[tuple[int, str]]:
    """The clip lengths offered, up to VIDEO_DOWNLOAD_MAX_SECONDS."""
    longest = settings.VIDEO_DOWNLOAD_MAX_SECONDS
    lengths = [s for s in (30, 60, 120, 300, 600, 1800) if s <= longest] or [longest]
    return [
        (s, _("%(n)d s") % {"n": s} if s < 60 else _("%(n)d min") % {"n": s // 60}) for s in lengths
    ]


class WallForm(forms.Form):
    school = forms.ModelChoiceField(
        label=gettext_lazy("School"),
        queryset=School.objects.none(),
        required=False,
        widget=SchoolPicker,
    )
    grid = forms.TypedChoiceField(
        label=gettext_lazy("Grid"),
        choices=[(n, n) for n in GRIDS],
        coerce=int,
        required=False,
    )
    tour = forms.BooleanField(label=gettext_lazy("Tour (轮巡)"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = School.objects.visible_to(user).order_by("code")


@login_required
@role_required("video")
@require_GET
def wall(request: HttpRequest) -> HttpResponse:
    """视频墙: a school's cameras in a 1/4/9/16 grid; with 轮巡 the grid steps through
    them every VIDEO_TOUR_SECONDS (the script does, so no page reload)."""
    form = WallForm(request.GET or None, user=request.user)
    school = None
    grid = 4
    touring = False
    if form.is_valid():
        school = form.cleaned_data["school"]
        grid = form.cleaned_data["grid"] or 4
        touring = form.cleaned_data["tour"]
    cameras = services.cameras_visible_to(request.user).select_related("parent")
    if school is None:  # the first school in scope that has a camera
        first = cameras.exclude(school=None).order_by("school__code").first()
        school = first.school if first else None
        if school is not None:
            form = WallForm(initial={"school": school.pk, "grid": grid}, user=request.user)
    cameras = list(cameras.filter(school=school).order_by("key_area", "device_id")[:256])
    return render(
        request,
        "video/wall.html",
        {
            "form": form,
            "school": school,
            "grid": grid,
            "grids": GRIDS,
            "touring": touring,
            "tour_seconds": settings.VIDEO_TOUR_SECONDS,
            "tiles": [tile(c) for c in cameras],
            "first_tiles": [tile(c) for c in cameras[:grid]],
        },
    )


def _camera_for(user: Any, pk: int) -> Device:
    return get_visible_or_404(
        services.cameras_visible_to(user).select_related("parent"), user, pk=pk
    )


async def _guard(
    request: HttpRequest,
    pk: int,
    methods: tuple[str, ...],
    action: str,
    resource: str,
    refusal: str,
) -> tuple[Any, Device] | HttpResponse:
    """The checks every camera endpoint makes, in the order a client can act on them:
    the method, a sign-in, the role, then the camera within the user's scope."""
    if request.method not in methods:
        return HttpResponse(status=405, headers={"Allow": ", ".join(methods)})
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": _("Sign in first.")}, status=401)
    if not await _read(can, user, action, resource):
        return JsonResponse({"error": refusal}, status=403)
    try:
        camera = await _read(_camera_for, user, pk)
    except Http404:
        return JsonResponse({"error": _("No such camera.")}, status=404)
    routed = await routing.route(request, services.target_of(camera).device_id)
    if routed is not None:  # another SIP process holds the camera's registration
        return routed
    return user, camera


async def start(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: the camera's stream set up (or joined); JSON with the stream's URL, or the
    reason it cannot be watched (设备未推流, limits, not registered)."""
    guarded = await _guard(
        request, pk, ("POST",), READ, "video", _("Your role may not watch live video.")
    )
    if isinstance(guarded, HttpResponse):
        return guarded
    user, camera = guarded
    playback_from = 0
    if request.POST.get("from"):
        if not await _read(can, user, READ, "video_playback"):
            return JsonResponse({"error": _("Your role may not watch recordings.")}, status=403)
        try:
            playback_from = int(request.POST["from"])
        except ValueError:
            return JsonResponse({"error": _("Unknown playback time.")}, status=400)
        if not 0 < playback_from <= clock.timestamp():
            return JsonResponse({"error": _("Unknown playback time.")}, status=400)
    began = time.monotonic()
    # a playback is the viewer's own (its pause and speed are nobody else's); live is shared
    playback = services.new_playback_id(user) if playback_from else ""
    try:
        session = await streams.hub.acall(
            streams.hub.open(services.target_of(camera, playback_from, playback))
        )
    except streams.StreamError as exc:
        await _read(services.audit_refused, camera, user, str(exc))
        return JsonResponse({"error": str(exc), "code": exc.code}, status=STATUS.get(exc.code, 503))
    token = services.issue_token(camera, user, playback_from=playback_from, playback=playback)
    return JsonResponse(
        {
            "url": reverse("video:stream", args=[token]),
            "codec": session.codec,
            "setup_ms": round((time.monotonic() - began) * 1000),
            "playback": playback,
        }
    )


async def stream(request: HttpRequest, token: str) -> HttpResponse:
    """The MPEG-TS of a running stream for the token's user, from the last key frame."""
    user = await request.auser()
    try:
        grant = services.read_token(token, user)
    except services.TokenError as exc:
        return HttpResponse(f"{exc}\n", status=403, content_type="text/plain")
    try:
        camera = await _read(_camera_for, user, grant.camera_pk)
    except Http404:
        return HttpResponse(status=404)
    routed = await routing.route(request, services.target_of(camera).device_id)
    if routed is not None:
        return routed
    viewer = streams.Viewer(loop=asyncio.get_running_loop())
    target = services.target_of(camera, grant.playback_from, grant.playback)
    try:
        await streams.hub.acall(streams.hub.attach(target, viewer))
    except streams.StreamError as exc:
        return HttpResponse(
            f"{exc}\n", status=STATUS.get(exc.code, 503), content_type="text/plain; charset=utf-8"
        )
    why = request.GET.get("why", "")[:80]
    if grant.playback_from:
        why = f"{why} playback from {grant.playback_from}".strip()
    await _read(services.audit_view_start, camera, user, why)
    response = StreamingHttpResponse(
        _body(viewer, camera, user, target.key), content_type="video/mp2t"
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"
    return response


async def _body(
    viewer: streams.Viewer, camera: Device, user: Any, key: str
) -> AsyncIterator[bytes]:
    began = time.monotonic()
    reason = "viewer left"
    try:
        while True:
            data = await viewer.aget(5.0)
            if data is None:
                reason = viewer.closed_reason or "ended"
                return
            if data:
                yield data
    finally:
        with contextlib.suppress(Exception):
            await streams.hub.acall(streams.hub.detach(key, viewer))
        try:
            await _read(
                services.audit_view_stop,
                camera,
                user,
                time.monotonic() - began,
                viewer.sent,
                reason,
            )
        except Exception:
            log.exception("video: the end of a view could not be audited")


async def _send_ptz(camera: Device, code: str) -> int:
    """A DeviceControl PTZCmd to the camera through the gateway; its SIP status (0: no
    gateway here, or no answer)."""
    control = media_control.current()
    if control is None:
        return 0
    target = services.target_of(camera)
    body = ptz.device_control(target.channel_id, int(time.time()) % 100_000, code)
    try:
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(control.control(target.device_id, body), control.loop)
        )
    except media_control.MediaError:
        return 0


async def presets(request: HttpRequest, pk: int) -> HttpResponse:
    """A camera's presets with their names (预置位). GET the list; POST ``action``
    preset_set (``number`` 1–255 and ``name``), preset_call or preset_delete
    (``number``): the PTZCmd goes to the camera and, once it took it, the named list is
    updated. Roles that may steer (``ptz`` write); every command audited (video.preset)."""
    guarded = await _guard(
        request, pk, ("GET", "POST"), WRITE, "ptz", _("Your role may not steer cameras.")
    )
    if isinstance(guarded, HttpResponse):
        return guarded
    user, camera = guarded
    if request.method == "GET":
        return JsonResponse({"presets": await _read(services.presets_of, camera)})
    action = request.POST.get("action", "")
    name = " ".join(request.POST.get("name", "").split())
    try:
        number = int(request.POST.get("number", ""))
        if action not in ptz.PRESETS:
            raise ptz.PtzError(action)
        code = ptz.encode(ptz.command(action, preset=number))
    except (ValueError, ptz.PtzError):
        return JsonResponse({"error": _("Unknown preset command.")}, status=400)
    if action == "preset_set" and not 1 <= len(name) <= 40:
        return JsonResponse({"error": _("Name the preset (at most 40 characters).")}, status=400)
    status = await _send_ptz(camera, code)
    await _read(services.audit_preset, camera, user, action, number, name, code, status)
    if status != 200:
        return JsonResponse({"error": _("The camera did not take the command.")}, status=502)
    await _read(services.apply_preset, camera, action, number, name)
    return JsonResponse({"presets": await _read(services.presets_of, camera)})


def _preset_summary(merge: services.PresetMerge) -> str:
    text = _("The camera lists %(listed)d presets: %(added)d added, %(renamed)d renamed, "
             "%(removed)d removed.") % {"listed": merge.listed, "added": len(merge.added),
                                       "renamed": len(merge.renamed),
                                       "removed": len(merge.removed)}  # fmt: skip
    if not merge.is_complete:
        text += " " + _("Part of the list did not come: nothing was removed.")
    return text


async def presets_read(request: HttpRequest, pk: int) -> HttpResponse:
    """POST 从设备读取: the camera's presets as it keeps them (GB/T 28181-2022
    PresetQuery, every part of a long list collected), merged into the named list
    (``services.merge_device_presets``: the camera's names win, numbers it no longer
    has are removed). JSON with the list and what changed; from the camera page's form
    (no ``Accept: application/json``) back to the page with that said. 504 when the
    camera does not answer (设备未应答), 502 when its answer is refused or unreadable.
    Roles that may steer (``ptz`` write); audited (video.preset, preset_read)."""
    guarded = await _guard(
        request, pk, ("POST",), WRITE, "ptz", _("Your role may not steer cameras.")
    )
    if isinstance(guarded, HttpResponse):
        return guarded
    user, camera = guarded
    wants_page = "application/json" not in request.headers.get("Accept", "")
    try:
        merge = await services.read_device_presets(camera, user)
    except services.PresetReadError as exc:
        if wants_page:
            await sync_to_async(messages.error)(request, str(exc))
            return redirect("video:camera", pk=camera.pk)
        return JsonResponse({"error": str(exc)}, status=exc.status)
    if wants_page:
        await sync_to_async(messages.success)(request, _preset_summary(merge))
        return redirect("video:camera", pk=camera.pk)
    return JsonResponse(
        {
            "presets": await _read(services.presets_of, camera),
            "listed": merge.listed,
            "complete": merge.is_complete,
            "added": list(merge.added),
            "renamed": list(merge.renamed),
            "removed": [{"number": n, "name": name} for n, name in merge.removed],
            "summary": _preset_summary(merge),
        }
    )


async def ptz_control(request: HttpRequest, pk: int) -> HttpResponse:
    """POST ``action`` (up, down, left, right, zoom_in, zoom_out, stop, preset_set,
    preset_call, preset_delete), ``speed`` (0–255), ``preset`` (1–255): a DeviceControl
    PTZCmd to the camera, for roles that may; every command audited."""
    guarded = await _guard(
        request, pk, ("POST",), WRITE, "ptz", _("Your role may not steer cameras.")
    )
    if isinstance(guarded, HttpResponse):
        return guarded
    user, camera = guarded
    try:
        speed = int(request.POST.get("speed", "128"))
        preset = int(request.POST.get("preset", "1"))
        command = ptz.command(request.POST.get("action", ""), speed, preset)
    except (ValueError, ptz.PtzError):
        return JsonResponse({"error": _("Unknown PTZ command.")}, status=400)
    code = ptz.encode(command)
    status = await _send_ptz(camera, code)
    await _read(services.audit_ptz, camera, user, request.POST.get("action", ""), code, status)
    if status != 200:
        return JsonResponse({"error": _("The camera did not take the command.")}, status=502)
    return JsonResponse({"ptz_cmd": code})


async def recordings(request: HttpRequest, pk: int) -> HttpResponse:
    """GET ``?date=YYYY-MM-DD`` (default today): the camera's recordings that day, asked
    of the device (RecordInfo, every part collected), as JSON spans for the timeline."""
    guarded = await _guard(
        request,
        pk,
        ("GET", "HEAD"),
        READ,
        "video_playback",
        _("Your role may not watch recordings."),
    )
    if isinstance(guarded, HttpResponse):
        return guarded
    _user, camera = guarded
    today = timezone.localdate(clock.now())
    try:
        day = dt.date.fromisoformat(request.GET.get("date") or today.isoformat())
    except ValueError:
        return JsonResponse({"error": _("Dates are written YYYY-MM-DD.")}, status=400)
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1) - dt.timedelta(seconds=1)
    control = media_control.current()
    if control is None:
        return JsonResponse(
            {"error": _("Live video is not available: no GB/T 28181 gateway runs here.")},
            status=503,
        )
    target = services.target_of(camera)
    try:
        spans = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(
                control.record_info(target.device_id, target.channel_id, start, end),
                control.loop,
            )
        )
    except media_control.MediaError:
        return JsonResponse({"error": _("The camera did not list its recordings.")}, status=504)
    return JsonResponse(
        {
            "date": day.isoformat(),
            "day_start": int(start.timestamp()),
            "recordings": [[int(a.timestamp()), int(b.timestamp())] for a, b in spans],
        }
    )


# --- playback controls (MANSRTSP) ----------------------------------------------------------


async def playback_control(request: HttpRequest, pk: int) -> HttpResponse:
    """The user's own running playback of the camera (``from`` and ``playback``, as
    ``start`` gave them): GET its state (``ended`` with the reason once the device said
    end of file); POST ``action`` pause, resume, seek (``position``: seconds from
    ``from``) or speed (``scale``: 0.5, 1, 2, 4), sent to the device as MANSRTSP in a
    SIP INFO inside that playback's dialog only; each command audited."""
    guarded = await _guard(
        request,
        pk,
        ("GET", "POST"),
        READ,
        "video_playback",
        _("Your role may not watch recordings."),
    )
    if isinstance(guarded, HttpResponse):
        return guarded
    user, camera = guarded
    data = request.POST if request.method == "POST" else request.GET
    try:
        playback_from = int(data.get("from", ""))
    except ValueError:
        return JsonResponse({"error": _("Unknown playback time.")}, status=400)
    if not 0 < playback_from <= clock.timestamp():
        return JsonResponse({"error": _("Unknown playback time.")}, status=400)
    playback = data.get("playback", "")
    if not services.owns_playback(user, playback):  # another viewer's: not to be steered
        return JsonResponse({"error": _("This playback is no longer running.")}, status=409)
    key = services.target_of(camera, playback_from, playback).key
    if request.method == "GET":
        try:
            return JsonResponse(await streams.hub.acall(_state(key)))
        except streams.StreamError as exc:
            return JsonResponse({"error": str(exc)}, status=503)
    action = request.POST.get("action", "")
    position = scale = None
    value = ""
    try:
        if action == "seek":
            position = float(request.POST.get("position", ""))
            if not 0 <= position <= services.PLAYBACK_SECONDS:
                raise ValueError
            value = f"{position:g}"
        elif action == "speed":
            scale = float(request.POST.get("scale", ""))
            if scale not in PLAYBACK_SPEEDS:
                raise ValueError
            value = f"{scale:g}"
        elif action not in ("pause", "resume"):
            raise ValueError
    except ValueError:
        return JsonResponse({"error": _("Unknown playback command.")}, status=400)
    try:
        session = await streams.hub.acall(
            streams.hub.control(key, action, position=position, scale=scale)
        )
    except streams.StreamError as exc:
        await _read(services.audit_playback_control, camera, user, action, value, "failure")
        return JsonResponse({"error": str(exc)}, status=STATUS.get(exc.code, 503))
    await _read(services.audit_playback_control, camera, user, action, value, "success")
    return JsonResponse({"state": "paused" if session.paused else "live", "scale": session.scale})


PLAYBACK_SPEEDS = (0.5, 1.0, 2.0, 4.0)


async def _state(key: str) -> dict[str, Any]:
    return streams.hub.state_of(key)


# --- downloads (s=Download → MP4) ----------------------------------------------------------


async def download_start(request: HttpRequest, pk: int) -> HttpResponse:
    """POST ``from`` and ``to`` (Unix seconds) and ``reason``: the clip is fetched from
    the device (s=Download) and remuxed into MP4; JSON with the job's state URL. Every
    request is audited with who, which camera, which span and why."""
    guarded = await _guard(
        request,
        pk,
        ("POST",),
        EXPORT,
        "video_playback",
        _("Your role may not download recordings."),
    )
    if isinstance(guarded, HttpResponse):
        return guarded
    user, camera = guarded
    try:
        begin, end = int(request.POST.get("from", "")), int(request.POST.get("to", ""))
    except ValueError:
        return JsonResponse({"error": _("Choose the clip's start and end.")}, status=400)
    if not 0 < begin < end <= clock.timestamp():
        return JsonResponse(
            {"error": _("The clip must start before it ends, and end in the past.")}, status=400
        )
    reason = " ".join(request.POST.get("reason", "").split())
    if len(reason) < 2:
        return JsonResponse({"error": _("Say why you download this clip.")}, status=400)
    longest = settings.VIDEO_DOWNLOAD_MAX_SECONDS
    if end - begin > longest:
        message = _("A clip may be at most %(minutes)s minutes long; choose a shorter span.") % {
            "minutes": f"{longest / 60:g}"
        }
        await _read(services.audit_download, camera, user, begin, end, reason, message)
        return JsonResponse({"error": message}, status=400)
    target = services.download_target(camera, begin, end, secrets.token_hex(4))
    try:
        job = await streams.hub.acall(downloads.start(streams.hub, target, camera.pk, user.pk))
    except streams.StreamError as exc:
        await _read(services.audit_download, camera, user, begin, end, reason, str(exc))
        return JsonResponse({"error": str(exc)}, status=503)
    await _read(services.audit_download, camera, user, begin, end, reason)
    url = f"{reverse('video:download', args=[job.id])}?camera={camera.pk}"  # its holder
    return JsonResponse({**job.as_json(), "url": url}, status=202)


def _own_download(user: Any, download_id: str) -> downloads.Download | None:
    job = downloads.get(download_id)
    return job if job is not None and job.user_pk == user.pk else None


async def download(request: HttpRequest, download_id: str) -> HttpResponse:
    """GET the job's state as JSON; with ``?file=1`` once done, the MP4 itself (the
    fetch audited). Only the user who asked for it sees it."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": _("Sign in first.")}, status=401)
    job = _own_download(user, download_id)
    if job is None and request.GET.get("camera", "").isdigit():
        # a job is the state of the process that fetches it: the camera names its holder
        try:
            camera = await _read(_camera_for, user, int(request.GET["camera"]))
        except Http404:
            camera = None
        if camera is not None:
            routed = await routing.route(request, services.target_of(camera).device_id)
            if routed is not None:
                return routed
    if job is None:
        return JsonResponse({"error": _("No such download (they are kept a while).")}, status=404)
    try:
        camera = await _read(_camera_for, user, job.camera_pk)
    except Http404:
        return JsonResponse({"error": _("No such camera.")}, status=404)
    if not request.GET.get("file"):
        return JsonResponse(job.as_json())
    if job.state != "done" or job.path is None:
        return JsonResponse({"error": _("The clip is not ready.")}, status=409)
    await _read(services.audit_download_fetch, camera, user, job.id, job.size)
    stamp = timezone.localtime(dt.datetime.fromtimestamp(job.target.playback_start, tz=dt.UTC))
    name = f"{camera.device_id}_{stamp:%Y%m%d_%H%M%S}.mp4"
    try:
        handle = open(job.path, "rb")  # noqa: SIM115 - closed by _file_chunks
    except OSError:
        return JsonResponse({"error": _("No such download (they are kept a while).")}, status=404)
    response = StreamingHttpResponse(_file_chunks(handle), content_type="video/mp4")
    response["Content-Length"] = str(os.fstat(handle.fileno()).st_size)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


async def _file_chunks(handle: Any) -> AsyncIterator[bytes]:
    """The file in 256-KB reads on a worker thread: under ASGI a sync file iterator
    would be read whole into memory first (a clip may be hundreds of MB)."""
    try:
        while chunk := await asyncio.to_thread(handle.read, 256 * 1024):
            yield chunk
    finally:
        handle.close()


# --- several SIP processes: which one holds a device (routing.py) ----------------------------


async def holder(request: HttpRequest) -> HttpResponse:
    """GET ``?device=``: does this process's gateway hold the device's registration?
    Asked by the platform's other processes only (a header signed with the shared
    SECRET_KEY), so the registrations cannot be probed from outside."""
    device_id = request.GET.get("device", "")[:20]
    if not routing.is_question(request, device_id):
        return HttpResponse(status=403)
    from campus_safety.cluster import members

    return JsonResponse({"registered": routing.holds(device_id), "member": members.MEMBER})
