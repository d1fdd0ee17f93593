"""Guards (保安员) and protective equipment (防护装备) of each school."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.orgs.models import Organisation, School
from campus_safety.personal_data import EncryptedCharField
from campus_safety.scoping import ScopedQuerySet, ScopePaths

SCHOOL_SCOPE = ScopePaths.through("school")


class Guard(models.Model):
    """保安员 — a security guard posted at a school."""

    class Kind(models.TextChoices):
        PROFESSIONAL = "professional", _("Professional guard (security company)")
        FULL_TIME = "full_time", _("Full-time security staff")
        PART_TIME = "part_time", _("Part-time security staff")

    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, db_index=True)
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="guards"
    )
    company = models.ForeignKey(
        Organisation,
        verbose_name=_("security company"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="guards",
        limit_choices_to={"kind": Organisation.Kind.SECURITY_COMPANY},
    )
    certificate_number = models.CharField(_("guard certificate number"), max_length=32, blank=True)
    phone = EncryptedCharField(_("phone"), hash_field="phone_hash")
    # Keyed hashes for look-ups; declared after the encrypted fields they follow.
    phone_hash = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False, verbose_name=_("phone hash")
    )
    id_number = EncryptedCharField(_("national ID number"), hash_field="id_number_hash")
    id_number_hash = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False, verbose_name=_("ID number hash")
    )
    hired_on = models.DateField(_("hired on"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["school__code", "kind", "name"]
        verbose_name = _("guard")
        verbose_name_plural = _("guards")
        constraints = [
            # A professional guard is employed by a security company (公治〔2015〕168号).
            models.CheckConstraint(
                condition=~models.Q(kind="professional") | models.Q(company__isnull=False),
                name="guard_professional_has_company",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_certified(self) -> bool:
        return bool(self.certificate_number)


class Equipment(models.Model):
    """防护装备 — how many pieces of one kind of protective equipment a school holds."""

    class Kind(models.TextChoices):
        BATON = "baton", _("Rubber baton")
        STEEL_FORK = "steel_fork", _("Steel restraint fork")
        SHIELD = "shield", _("Shield")
        STAB_VEST = "stab_vest", _("Stab-resistant vest")
        HELMET = "helmet", _("Helmet")
        CUT_GLOVES = "cut_gloves", _("Cut-resistant gloves")
        PEPPER_SPRAY = "pepper_spray", _("Pepper spray")
        FLASHLIGHT = "flashlight", _("Tactical flashlight")

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="equipment"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    quantity = models.PositiveIntegerField(_("quantity"))

    objects = ScopedQuerySet.as_manager()
    scope_paths = SCHOOL_SCOPE

    class Meta:
        ordering = ["school__code", "kind"]
        verbose_name = _("protective equipment")
        verbose_name_plural = _("protective equipment")
        constraints = [
            models.UniqueConstraint(fields=["school", "kind"], name="equipment_one_row_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} × {self.quantity}"
