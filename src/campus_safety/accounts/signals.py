"""What accounts tells the audit log, without importing it (audit sits above accounts).

Like Django's own ``user_logged_in``, ``security_event`` is sent for each sign-in step
or credential change that must be on record; ``audit.signals`` writes the entry.
Arguments: ``action`` (e.g. ``auth.second_factor``), ``obj`` (the model it concerns or
None), ``outcome`` (``success`` / ``failure`` / ``denied``) and ``detail`` (a dict).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.dispatch import Signal

security_event = Signal()


def announce(
    action: str,
    obj: models.Model | None = None,
    *,
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> None:
    """Send ``security_event`` (the audit log must hold it)."""
    security_event.send(sender=None, action=action, obj=obj, outcome=outcome, detail=detail)
