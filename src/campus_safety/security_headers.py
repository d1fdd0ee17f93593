"""Content-Security-Policy and related headers on every response.

Scripts come only from our own origin (no inline script anywhere: page data travels
in ``json_script`` blocks), so an injected ``<script>`` cannot run. The map tile
server, when configured, is the one outside origin images may come from.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def content_security_policy() -> str:
    img = ["'self'", "data:", "blob:"]
    if settings.MAP_TILE_URL:
        parts = urlsplit(settings.MAP_TILE_URL.replace("{s}", "*"))
        img.append(f"{parts.scheme}://{parts.netloc}")
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Leaflet and ECharts set style attributes; no stylesheet comes from elsewhere.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": img,
        "font-src": ["'self'", "data:"],
        "media-src": ["'self'", "blob:"],  # live video: mpegts.js feeds <video> a blob: URL
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
