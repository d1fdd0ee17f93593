"""The API's refusals in the reader's language (zh-Hans by default).

DRF answers Django's ``Http404`` with a 404 that repeats the exception's text, and the
text ``get_object_or_404`` gives it is English and names a model ("No AlarmCase matches
the given query."). A missing or out-of-scope object is simply not found, whichever
it is (scoping: a 404 never confirms that something exists), so the body says so in
DRF's own translated words. Every other refusal keeps its (translated) reason.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with any ``Http404`` answered as DRF's translated "Not found."."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)
