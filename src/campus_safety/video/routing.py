"""``/video/`` served by the process that holds the camera's registration.

A stream, a playback, a download, PTZ and RecordInfo go through the SIP dialogs of the
process where the camera (or its NVR) registered; with several ``serve --role sip,web``
processes behind one site, a request may reach any of them, or a ``web``-only one. So
every camera call first asks *who holds this device*:

1. this process, if its gateway has the registration (the embedded mode, and most
   calls on a SIP process): served here, nothing asked;
2. else each live SIP process of the cluster (their member rows in Redis,
   ``cluster/members.py``, carry their HTTP base URL) is asked
   ``GET /video/cluster/holder/?device=`` with a signed header — answered from its
   gateway's registrations, the truth at that moment (a device that failed over to
   another SIP process is found there at once) — the answer kept ``CACHE_SECONDS``;
3. the request is then **proxied** to the holder: same path, body, cookies, CSRF
   header, ``Host`` and language, marked so it is never proxied again, and the answer
   streamed back as it comes (an MPEG-TS stream is a long response). A redirect (307)
   would send the browser to another origin, where ``fetch`` sends no session cookie
   and the player's requests would need CORS; a proxy keeps everything same-origin.

Nobody holds it (or the holder stopped answering): served here, which says plainly
that the camera is not registered, or that no gateway runs in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.request import RawPostDataException

from campus_safety.video import media_control

log = logging.getLogger(__name__)

ROUTED_HEADER = "X-Campus-Video-Routed"  # on a proxied request: serve it here
SERVED_BY_HEADER = "X-Video-Served-By"  # on the answer: the process that served it
ASK_HEADER = "X-Campus-Cluster"  # the signed device ID of a holder question
SALT = "campus_safety.video.routing"
CACHE_SECONDS = 5.0  # a holder found is asked again after this
MISS_SECONDS = 1.0  # nobody held it: asked again after this (a device registering now)
ASK_TIMEOUT = 1.0
CONNECT_TIMEOUT = 2.0
MAX_BUFFERED = 1024 * 1024  # answers up to this size are read whole, longer ones streamed
FORWARDED = (
    "Cookie", "X-CSRFToken", "Accept", "Accept-Language", "Origin",
    "Referer", "User-Agent", "X-Forwarded-Proto", "X-Forwarded-Host", "Range",
)  # fmt: skip
NOT_RETURNED = {"connection", "keep-alive", "transfer-encoding", "set-cookie", "date", "server"}

_holders: dict[str, tuple[float, str, str]] = {}  # device ID → (until, URL, member)


def holds(device_id: str) -> bool:
    """This process's gateway has the device's registration."""
    control = media_control.current()
    return control is not None and control.is_registered(device_id)


def _sip_members() -> list[tuple[str, str]]:
    """(URL, member) of the other live SIP processes that publish a URL."""
    from campus_safety.cluster import members

    return [
        (record["url"], record["member"])
        for record in members.alive()
        if "sip" in record.get("roles", ()) and record.get("url")
        and record.get("member") != members.MEMBER
    ]  # fmt: skip


def _ask(url: str, device_id: str) -> bool:
    if not url.startswith(("http://", "https://")):
        return False  # member rows are ours, but only HTTP is asked
    question = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        f"{url}/video/cluster/holder/?{urllib.parse.urlencode({'device': device_id})}",
        headers={ASK_HEADER: signing.dumps(device_id, salt=SALT)},
    )
    try:
        with urllib.request.urlopen(question, timeout=ASK_TIMEOUT) as answer:  # noqa: S310
            return bool(json.loads(answer.read(4096)).get("registered"))
    except (OSError, ValueError):
        return False


async def holder(device_id: str) -> tuple[str, str]:
    """(base URL, member) of the process holding ``device_id``'s registration; ("", "")
    when that is this process, or nobody (serve here)."""
    if holds(device_id) or not settings.REDIS_URL:
        return "", ""
    now = time.monotonic()
    known = _holders.get(device_id)
    if known is not None and known[0] > now:
        return known[1], known[2]
    try:
        candidates = await asyncio.to_thread(_sip_members)
    except Exception:  # Redis away: nobody else can be found
        log.warning("video: the cluster's members could not be read", exc_info=True)
        candidates = []
    answers = await asyncio.gather(
        *(asyncio.to_thread(_ask, url, device_id) for url, _member in candidates)
    )
    found = next((c for c, yes in zip(candidates, answers, strict=True) if yes), ("", ""))
    _holders[device_id] = (now + (CACHE_SECONDS if found[0] else MISS_SECONDS), *found)
    return found


def forget(device_id: str) -> None:
    _holders.pop(device_id, None)


def is_question(request: HttpRequest, device_id: str) -> bool:
    """A holder question signed by a process of this platform (same SECRET_KEY)."""
    try:
        return signing.loads(request.headers.get(ASK_HEADER, ""), salt=SALT, max_age=60) == (
            device_id
        )
    except signing.BadSignature:
        return False


async def route(request: HttpRequest, device_id: str) -> HttpResponse | None:
    """The holder's answer when another process holds ``device_id``; None: serve here."""
    if request.headers.get(ROUTED_HEADER):
        return None  # proxied here by another process: never bounced on
    url, member = await holder(device_id)
    if not url:
        return None
    try:
        return await proxy(request, url, member)
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
        log.warning("video: %s did not answer for %s (%s)", member, device_id, exc)
        forget(device_id)
        return None


async def proxy(request: HttpRequest, base_url: str, member: str = "") -> HttpResponse:
    """``request`` sent on to ``base_url`` (HTTP/1.0: the answer ends with the
    connection, whatever its length) and its answer given back, streamed if long."""
    target = urllib.parse.urlsplit(base_url)
    host = target.hostname or "127.0.0.1"
    port = target.port or 80
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
    try:
        body, content_type = b"", request.headers.get("Content-Type", "")
        if request.method == "POST":
            try:
                body = request.body
            except RawPostDataException:  # a multipart form read already: its fields
                body = request.POST.urlencode().encode()
                content_type = "application/x-www-form-urlencoded"
        # the chain as it reached this process, not lengthened by this hop: the holder
        # picks the client from it by TRUSTED_PROXY_COUNT as this process did (audit)
        forwarded_for = request.headers.get("X-Forwarded-For") or request.META.get(
            "REMOTE_ADDR", ""
        )
        lines = [
            f"{request.method} {request.get_full_path()} HTTP/1.0",
            f"Host: {request.headers.get('Host') or f'{host}:{port}'}",
            f"{ROUTED_HEADER}: 1",
            f"X-Forwarded-For: {forwarded_for}",
            f"Content-Length: {len(body)}",
        ]
        if not request.headers.get("X-Forwarded-Proto"):
            lines.append(f"X-Forwarded-Proto: {request.scheme}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines += [
            f"{name}: {request.headers[name]}" for name in FORWARDED if name in request.headers
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
    except BaseException:
        writer.close()
        raise
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        name, _, value = line.partition(":")
        if name:
            headers.append((name.strip(), value.strip()))
    length = next((int(v) for n, v in headers if n.lower() == "content-length"), None)
    # uvicorn frames a body of unknown length in chunks even for an HTTP/1.0 client
    chunked = any(n.lower() == "transfer-encoding" and "chunked" in v.lower() for n, v in headers)
    if request.method == "HEAD" or (length is not None and length <= MAX_BUFFERED):
        try:
            read = length if request.method != "HEAD" else 0
            content = await asyncio.wait_for(reader.readexactly(read), 60) if read else b""
        finally:
            writer.close()
        response: HttpResponse = HttpResponse(content, status=status)
    else:
        response = StreamingHttpResponse(_relay(reader, writer, chunked), status=status)
    cookies = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookies.load(value)
        elif name.lower() not in NOT_RETURNED:
            response[name] = value
    for key, morsel in cookies.items():
        response.cookies[key] = morsel
    if member:
        response[SERVED_BY_HEADER] = member
    return response


async def _relay(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, chunked: bool = False
) -> AsyncIterator[bytes]:
    """The holder's answer as it comes (its chunked framing undone); the viewer leaving
    closes the connection, so the holder's stream sees its viewer leave too."""
    try:
        if chunked:
            async for chunk in _unchunked(reader):
                yield chunk
            return
        while chunk := await reader.read(256 * 1024):
            yield chunk
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _unchunked(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The data of an HTTP/1.1 chunked body (RFC 9112 §7.1), trailers skipped."""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return
        data = await reader.readexactly(size)
        await reader.readexactly(2)
        yield data
