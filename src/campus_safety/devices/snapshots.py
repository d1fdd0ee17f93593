"""Fetching a camera's snapshot (its ``snapshot_url``) over HTTP, bounded in size and in
total time. The platform fetches for the browser (the device page, the patrol screen)
and for the video-quality sweep; a camera that trickles its bytes must not hold a worker
(a socket timeout alone starts again with every byte), nor one that answers garbage
crash the caller."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

READ_CHUNK = 64 * 1024


class SnapshotUnavailable(OSError):
    """The camera gave no picture: no URL, refused, timed out, too large, not HTTP."""


def fetch_snapshot(url: str, *, max_bytes: int, timeout: float) -> tuple[bytes, str]:
    """GET ``url``: its body (at most ``max_bytes``) and content type, within about
    ``timeout`` seconds overall (the read under way at the deadline may take one more)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SnapshotUnavailable("not an http(s) URL")
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Accept": "image/jpeg,image/*"})  # noqa: S310
    body = bytearray()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            content_type = response.headers.get_content_type()
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SnapshotUnavailable(f"snapshot larger than {max_bytes} bytes")
            while chunk := response.read1(READ_CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise SnapshotUnavailable(f"snapshot larger than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise SnapshotUnavailable(f"snapshot not sent within {timeout:g} s")
    except SnapshotUnavailable:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise SnapshotUnavailable(str(exc)[:200] or type(exc).__name__) from exc
    return bytes(body), content_type
