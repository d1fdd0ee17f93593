"""WGS-84 coordinate fields, range-checked, for every model that has a position."""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def longitude_field(*, optional: bool = True, **kwargs: Any) -> models.FloatField:
    """Longitude in degrees (−180…180); optional by default (a position may be unknown)."""
    return models.FloatField(
        _("longitude"),
        null=optional,
        blank=optional,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        **kwargs,
    )


def latitude_field(*, optional: bool = True, **kwargs: Any) -> models.FloatField:
    """Latitude in degrees (−90…90); optional by default."""
    return models.FloatField(
        _("latitude"),
        null=optional,
        blank=optional,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        **kwargs,
    )
