"""Writes to the school registry made through the staffing-aware API (schools), with
the rules a plain model save does not know: a school stays within its writer's scope,
and a school that users or records still refer to is not deleted."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.utils.translation import gettext as _

from campus_safety.orgs.models import School


class OutsideScope(ValueError):
    """The write would take the school out of the writer's scope."""


class StillReferenced(ValueError):
    """Other records still refer to the school."""


def save_school(data: dict[str, Any], *, instance: School | None, visible: QuerySet) -> School:
    """Create or update a school from validated ``data``; refused (and rolled back) when
    the result falls outside ``visible`` (a police station re-assigning its school).
    Region moves are refused earlier, in validation (``scoping.covers_region``)."""
    with transaction.atomic():
        school = instance or School()
        for field, value in data.items():
            setattr(school, field, value)
        school.save()
        if not visible.filter(pk=school.pk).exists():
            raise OutsideScope(_("This would put the school outside your scope."))
    return school


def delete_school(school: School) -> None:
    """A school its users still belong to (``User.school`` protects it) stays."""
    try:
        school.delete()
    except ProtectedError as exc:
        kinds = sorted({str(obj._meta.verbose_name) for obj in exc.protected_objects})
        raise StillReferenced(
            _("Other records still refer to this school: %(kinds)s.") % {"kinds": ", ".join(kinds)}
        ) from exc
