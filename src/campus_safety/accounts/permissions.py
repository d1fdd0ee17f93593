"""The role table (roles.py) as a DRF permission, so every API viewset asks it the
same way.

Scope (``visible_to``) decides which records a request reaches, and an out-of-scope
record is already a 404 before this is asked; this class decides what the user's
role may do with the records in reach: read on safe methods, write on the rest.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from campus_safety.accounts.roles import READ, WRITE, can


class RolePermission(BasePermission):
    """Checks ``roles.can(user, read|write, view.resource)``; the view names its
    resource (``"schools"``, ``"guards"``, ``"equipment"``)."""

    message = _("Your role does not allow this on these records.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        action = READ if request.method in SAFE_METHODS else WRITE
        return can(request.user, action, view.resource)
