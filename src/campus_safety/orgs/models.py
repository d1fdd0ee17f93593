"""Regions, organisations and schools: the registry every other app hangs off."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.orgs.coordinates import latitude_field, longitude_field
from campus_safety.personal_data import EncryptedCharField
from campus_safety.scoping import EVERYONE_SIGNED_IN, ScopedQuerySet, ScopePaths

region_code_validator = RegexValidator(r"^\d{6}$", _("A GB/T 2260 code has 6 digits."))
school_code_validator = RegexValidator(r"^\d{10}$", _("A school code has 10 digits."))


class Region(models.Model):
    """行政区划 — an administrative division with its GB/T 2260 code."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County / district")

    code = models.CharField(
        _("code"), max_length=6, unique=True, validators=[region_code_validator]
    )
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # GeoJSON geometry (Polygon/MultiPolygon, lon/lat) drawn on the map with no tiles.
    outline = models.JSONField(_("outline"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = EVERYONE_SIGNED_IN  # the administrative divisions: a directory

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    """单位 — a police unit, an education bureau or a security company."""

    class Kind(models.TextChoices):
        POLICE_BUREAU = "police_bureau", _("City police bureau")
        POLICE_SUB_BUREAU = "police_sub_bureau", _("Police sub-bureau")
        POLICE_STATION = "police_station", _("Police station")
        EDUCATION_BUREAU = "education_bureau", _("Education bureau")
        SECURITY_COMPANY = "security_company", _("Security company")

    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, db_index=True)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="organisations"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    longitude = longitude_field()
    latitude = latitude_field()

    objects = ScopedQuerySet.as_manager()
    scope_paths = EVERYONE_SIGNED_IN  # police units, bureaus, companies: a directory

    class Meta:
        ordering = ["region__code", "kind", "name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="organisation_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_police(self) -> bool:
        return self.kind in {
            self.Kind.POLICE_BUREAU,
            self.Kind.POLICE_SUB_BUREAU,
            self.Kind.POLICE_STATION,
        }


class School(models.Model):
    """学校 — a primary/secondary school or kindergarten (one campus)."""

    class Kind(models.TextChoices):
        KINDERGARTEN = "kindergarten", _("Kindergarten")
        PRIMARY = "primary", _("Primary school")
        JUNIOR = "junior", _("Junior secondary school")
        SENIOR = "senior", _("Senior secondary school")
        NINE_YEAR = "nine_year", _("Nine-year school")
        TWELVE_YEAR = "twelve_year", _("Twelve-year school")
        VOCATIONAL = "vocational", _("Vocational school")
        SPECIAL = "special", _("Special education school")

    code = models.CharField(
        _("school code"), max_length=10, unique=True, validators=[school_code_validator]
    )
    name = models.CharField(_("name"), max_length=128, db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, db_index=True)
    is_boarding = models.BooleanField(_("boarding"), default=False)
    students = models.PositiveIntegerField(_("students"), default=0)
    boarders = models.PositiveIntegerField(_("boarders"), default=0)
    staff = models.PositiveIntegerField(_("staff"), default=0)
    address = models.CharField(_("address"), max_length=255, blank=True)
    longitude = longitude_field()
    latitude = latitude_field()
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="schools"
    )
    police_station = models.ForeignKey(
        Organisation,
        verbose_name=_("responsible police station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="schools",
        limit_choices_to={"kind": Organisation.Kind.POLICE_STATION},
    )
    principal_name = models.CharField(
        _("principal (first responsible person)"), max_length=64, blank=True
    )
    principal_phone = EncryptedCharField(_("principal phone"))
    security_director_name = models.CharField(_("security director"), max_length=64, blank=True)
    security_director_phone = EncryptedCharField(_("security director phone"))
    has_police_room = models.BooleanField(_("campus police room"), default=False)
    police_room_officer = models.CharField(_("police room officer"), max_length=64, blank=True)
    police_room_phone = EncryptedCharField(_("police room phone"))
    legal_vice_principal = models.CharField(
        _("legal vice-principal (法治副校长)"), max_length=64, blank=True
    )

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="region__code", school="pk", police_station="police_station"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(boarders__lte=models.F("students")),
                name="school_boarders_within_students",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def day_students(self) -> int:
        """Non-boarding students: the basis of the GB/T 29315-2022 guard rule."""
        return self.students - self.boarders
