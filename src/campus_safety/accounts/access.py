"""Which registry pages a role may open (the role table in ``accounts/roles.py``).

Scope (``visible_to``) decides *which* records a page shows; this decides whether the
user's role may read that kind of record at all — the same question the REST API asks
through ``RolePermission``, so a page never shows what the API would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from campus_safety.accounts.roles import READ, can


def role_required(*resources: str, action: str = READ) -> Callable:
    """Refuse (403) unless the role may ``action`` every one of ``resources``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not all(can(request.user, action, resource) for resource in resources):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
