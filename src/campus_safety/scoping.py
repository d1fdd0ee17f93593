"""Who sees what: the one place that turns a user's scope into a queryset filter.

Default-deny. A user's scope is a school, an organisation (a police station covers the
schools it is responsible for; a bureau covers its region) or a region (covers every
division whose GB/T 2260 code starts with the region's prefix). Each scoped model says,
in ``scope_paths``, how it reaches a school's region, the school itself and the
school's police station; views and the API call ``Model.objects.visible_to(user)`` (or
``get_visible_or_404``) and never filter by role themselves. Directory models (regions,
organisations, the school calendar) say so out loud with
``scope_paths = EVERYONE_SIGNED_IN``. A model with a scoped manager that declares nothing
is a mistake, not an open door: ``visible_to`` refuses it and the system check
``campus_safety.S001`` stops the platform from starting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Q
from django.http import Http404

if TYPE_CHECKING:
    from campus_safety.accounts.models import User


@dataclass(frozen=True)
class ScopePaths:
    """Lookup paths from a model to the things a scope is made of."""

    region_code: str
    school: str
    police_station: str
    police_only: bool = False  # police eyes only (field stops 盘查): other roles see none
    # A row-level "police eyes only" flag (a watch-list hit's alarm case, issue #17):
    # rows with it set are hidden from every non-police role, whatever the scope.
    police_only_flag: str = ""

    @classmethod
    def through(cls, school_path: str) -> ScopePaths:
        """Paths for a model that reaches its school through ``school_path``
        (``"school"``, ``"device__school"`` …): the common case."""
        return cls(
            region_code=f"{school_path}__region__code",
            school=school_path,
            police_station=f"{school_path}__police_station",
        )


class EveryoneSignedIn:
    """The declaration of a directory: every signed-in, active user may read all of it."""

    def __repr__(self) -> str:
        return "EVERYONE_SIGNED_IN"


EVERYONE_SIGNED_IN = EveryoneSignedIn()

POLICE_ROLES = frozenset({"dispatcher", "police_officer"})


def is_police(user: User | Any) -> bool:
    """A police user (or a superuser): the only ones who see ``police_only`` records."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or getattr(user, "role", "") in POLICE_ROLES)


def region_prefix(code: str) -> str:
    """GB/T 2260: a city 371400 covers 3714xx, a province 370000 covers 37xxxx."""
    prefix = code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


@dataclass(frozen=True)
class Scope:
    """What a user's scope is made of, resolved once (a live stream checks every event
    against it without touching the database). Empty = nothing; ``everything`` = all."""

    everything: bool = False
    school_id: int | None = None
    police_station_id: int | None = None
    region_prefix: str | None = None
    police: bool = False  # may see police-only rows and events (scoping.is_police)

    def covers(
        self,
        school_id: int | None,
        region_code: str,
        police_station_id: int | None,
        *,
        police_only: bool = False,
    ) -> bool:
        """Does this scope cover a thing of ``school_id`` in ``region_code`` under
        ``police_station_id``? The same rules as ``scope_q``, on values."""
        if police_only and not self.police:
            return False
        if self.everything:
            return True
        if self.school_id is not None:
            return school_id == self.school_id
        if self.police_station_id is not None:
            return police_station_id == self.police_station_id
        if self.region_prefix is not None:
            return bool(region_code) and region_code.startswith(self.region_prefix)
        return False


def user_scope(user: User | Any) -> Scope:
    """The user's scope (reads the user's organisation and region: call it off the loop)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope()
    police = is_police(user)
    if user.is_superuser:
        return Scope(everything=True, police=police)
    if user.school_id:
        return Scope(school_id=user.school_id, police=police)
    org = user.organisation
    if org is not None:
        if org.kind == org.Kind.POLICE_STATION:
            return Scope(police_station_id=org.pk, police=police)
        return Scope(region_prefix=region_prefix(org.region.code), police=police)
    if user.region_id:
        return Scope(region_prefix=region_prefix(user.region.code), police=police)
    return Scope()


def scope_q(user: User | Any, paths: ScopePaths) -> Q | None:
    """The filter for ``user`` over a model reached through ``paths``; None = everything."""
    scope = user_scope(user)
    if scope.everything:
        return None
    if scope.school_id is not None:
        return Q(**{paths.school: scope.school_id})
    if scope.police_station_id is not None:
        return Q(**{paths.police_station: scope.police_station_id})
    if scope.region_prefix is not None:
        return Q(**{f"{paths.region_code}__startswith": scope.region_prefix})
    return Q(pk__in=[])


def event_visible_to(
    user: User | Any, school_id: int | None, region_code: str, police_station_id: int | None
) -> bool:
    """May ``user`` see an event about ``school_id`` (null = platform-wide: superusers only)?"""
    return user_scope(user).covers(school_id, region_code, police_station_id)


def declared_scope(model: type[models.Model]) -> ScopePaths | EveryoneSignedIn:
    """What ``model`` declares in ``scope_paths``; a missing or malformed declaration
    raises, so an undeclared model can never be read by accident."""
    paths = getattr(model, "scope_paths", None)
    if isinstance(paths, ScopePaths | EveryoneSignedIn):
        return paths
    raise ImproperlyConfigured(
        f"{model._meta.label} has a scoped manager but declares no scope_paths "
        "(a ScopePaths, or EVERYONE_SIGNED_IN for a directory)"
    )


class ScopedQuerySet(models.QuerySet):
    """Every model's manager: ``Model.objects.visible_to(user)``."""

    def visible_to(self, user: User | Any) -> ScopedQuerySet:
        paths = declared_scope(self.model)
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if isinstance(paths, EveryoneSignedIn):
            return self.all()
        if paths.police_only and not is_police(user):
            return self.none()
        q = scope_q(user, paths)
        rows = self.all() if q is None else self.filter(q)
        if paths.police_only_flag and not is_police(user):
            flag = paths.police_only_flag  # a JSON key may be absent: absent = not flagged
            rows = rows.filter(Q(**{flag: False}) | Q(**{f"{flag}__isnull": True}))
        return rows


def get_visible_or_404(
    source: type[models.Model] | models.QuerySet, user: User | Any, **lookup: Any
) -> Any:
    """The object matching ``lookup`` among those ``user`` may see; outside the scope it
    does not exist (404), so a 403 never confirms that it does (STYLE.md)."""
    queryset = source if isinstance(source, models.QuerySet) else source._default_manager.all()
    visible = queryset.visible_to(user)
    try:
        return visible.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


@checks.register()
def check_scope_declarations(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    """Every model with a scoped manager declares who may see it."""
    errors = []
    configs = app_configs if app_configs is not None else apps.get_app_configs()
    for model in (model for config in configs for model in config.get_models()):
        if not issubclass(model._default_manager._queryset_class, ScopedQuerySet):
            continue
        try:
            declared_scope(model)
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), obj=model, id="campus_safety.S001"))
    return errors


def covers_region(user: User | Any, region: Any) -> bool:
    """May ``user`` place a school in ``region``? Only region-wide scopes can."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if user.school_id:
        return False
    org = user.organisation
    if org is not None:
        if org.kind == org.Kind.POLICE_STATION:
            return False
        return region.code.startswith(region_prefix(org.region.code))
    if user.region_id:
        return region.code.startswith(region_prefix(user.region.code))
    return False
