"""录像下载: a clip of a camera's recording saved as MP4 (issue #16 item 2).

The platform INVITEs the channel with ``s=Download`` (the span in ``u=``/``t=``, the
speed in ``a=downloadspeed:``); the device sends the recording faster than real time,
in PS over RTP like any stream. The hub's session turns it into MPEG-TS (frames never
decoded), and the Debian ``ffmpeg`` binary remuxes that into an MP4 with ``-c copy``
(no transcoding; ``+faststart`` so a player opens it at once). The clip is complete when
the device says so (MediaStatus 121, end of file), or ends the dialog or the media
connection once the span's media came.

A download is a job on the media loop: the request that starts it returns at once with
the job's ID, the page polls its state and fetches the file. Files live in
``VIDEO_DOWNLOAD_DIR`` for ``VIDEO_DOWNLOAD_KEEP_SECONDS`` and are then deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from campus_safety.video import services, streams

log = logging.getLogger(__name__)
COMPLETE = ("end of file", "remote bye", "connection lost")  # with the span's media in


@dataclass
class Download:
    id: str
    camera_pk: int
    user_pk: int
    target: streams.Target
    state: str = "running"  # running | done | failed
    error: str = ""
    received: int = 0  # MPEG-TS bytes from the device
    size: int = 0  # the MP4's
    media_seconds: float = 0.0
    path: Path | None = None
    task: asyncio.Task | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "error": self.error,
            "received": self.received,
            "size": self.size,
            "seconds": round(self.media_seconds, 1),
            "span": [self.target.playback_start, self.target.playback_end],
        }


jobs: dict[str, Download] = {}


def directory() -> Path:
    path = Path(settings.VIDEO_DOWNLOAD_DIR or Path(tempfile.gettempdir()) / "campus-video")
    path.mkdir(parents=True, exist_ok=True)
    return path


def remux_command(path: Path, codec: str = "h264") -> list[str]:
    """MPEG-TS on stdin into an MP4 file, stream copy (no transcoding). H.265 is tagged
    ``hvc1`` (FFmpeg's default is ``hev1``, which Safari and QuickTime do not play)."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise FileNotFoundError("ffmpeg")
    tag = ["-tag:v", "hvc1"] if codec == "h265" else []
    return [
        binary, "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "mpegts", "-i", "pipe:0",
        "-map", "0:v:0", "-c", "copy", *tag,
        "-movflags", "+faststart", "-f", "mp4", "-y", str(path),
    ]  # fmt: skip


async def start(hub: streams.Hub, target: streams.Target, camera_pk: int, user_pk: int) -> Download:
    """Begin a download on the media loop; the job runs on after this returns."""
    download_id = secrets.token_urlsafe(12)
    job = Download(download_id, camera_pk, user_pk, target)
    jobs[download_id] = job
    job.task = asyncio.get_running_loop().create_task(_run(hub, job))
    return job


def _fail(job: Download, message: str) -> None:
    job.state = "failed"
    job.error = message


async def _run(hub: streams.Hub, job: Download) -> None:
    limit = int(settings.VIDEO_DOWNLOAD_MAX_MB * 1024 * 1024)
    viewer = streams.Viewer(loop=asyncio.get_running_loop(), max_backlog=limit + 1)
    session: streams.Session | None = None
    process: asyncio.subprocess.Process | None = None
    job.path = directory() / f"{job.id}.mp4"
    try:
        try:
            session = await hub.attach(job.target, viewer)
        except streams.StreamError as exc:
            _fail(job, str(exc))
            return
        try:
            process = await asyncio.create_subprocess_exec(
                *remux_command(job.path, session.codec),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError:
            _fail(job, _("The platform cannot write MP4 files (FFmpeg is missing)."))
            return
        assert process.stdin is not None
        while True:
            data = await viewer.aget(5.0)
            if data is None:
                break
            if not data:
                continue
            job.received += len(data)
            job.media_seconds = session.media_seconds()
            if job.received > limit:
                _fail(
                    job,
                    _("The clip passed the %(n)s MB limit; choose a shorter span.")
                    % {"n": f"{settings.VIDEO_DOWNLOAD_MAX_MB:g}"},
                )
                break
            process.stdin.write(data)
            await process.stdin.drain()
        job.media_seconds = session.media_seconds()
        reason = viewer.closed_reason or ""
        if job.state == "running" and not (
            reason == "end of file" or (reason in COMPLETE and session.frames_cover_span())
        ):
            _fail(job, _("The camera stopped sending before the clip ended (%(reason)s).")
                  % {"reason": reason or _("no answer")})  # fmt: skip
        with contextlib.suppress(ConnectionError):
            process.stdin.close()
        _out, errors = await process.communicate()
        if job.state == "running":
            if process.returncode != 0 or not job.path.exists():
                log.warning("video: MP4 remux failed: %s", errors.decode(errors="replace")[-300:])
                _fail(job, _("The recording could not be saved as MP4."))
            else:
                job.size = job.path.stat().st_size
                job.state = "done"
    except asyncio.CancelledError:
        _fail(job, _("The download was stopped."))
        raise
    except Exception:
        log.exception("video: download %s failed", job.id)
        _fail(job, _("The recording could not be saved as MP4."))
    finally:
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if session is not None and session.state != "closed":
            await session.stop("download ended")
        if job.state != "done" and job.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(job.path)
        asyncio.get_running_loop().call_later(settings.VIDEO_DOWNLOAD_KEEP_SECONDS, _forget, job.id)
        await _audit_result(job)


async def _audit_result(job: Download) -> None:
    try:
        await asyncio.to_thread(
            services.audit_download_result,
            job.camera_pk,
            job.user_pk,
            job.target.playback_start,
            job.target.playback_end,
            job.as_json(),
        )
    except Exception:
        log.exception("video: the end of download %s could not be audited", job.id)


def _forget(download_id: str) -> None:
    job = jobs.pop(download_id, None)
    if job is not None and job.path is not None:
        with contextlib.suppress(OSError):
            os.unlink(job.path)


def get(download_id: str) -> Download | None:
    return jobs.get(download_id[:40])
