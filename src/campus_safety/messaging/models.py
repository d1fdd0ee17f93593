"""Outbound messages (短信): what the platform tells people outside it by SMS — a
refused pick-up to the class teacher and guardians, a one-time pick-up code, a
guardian's link — queued in the sender's transaction and sent by the periodic job
(``messaging/tasks.py``) through the operator's SMS gateway.

The phone and the text are encrypted at rest (personal_data.py); the text of a message
that carries a secret (a code, a link) is wiped once the message is sent or given up,
so the database keeps no usable code or link. Lists show the phone masked.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.orgs.models import School
from campus_safety.personal_data import EncryptedCharField, mask_phone
from campus_safety.scoping import ScopedQuerySet, ScopePaths

TEXT_MAX_LENGTH = 500  # about seven concatenated SMS of 70 Chinese characters


class OutboundMessage(models.Model):
    """A message to one phone, sent at most once per ``idempotency_key``."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")

    class Purpose(models.TextChoices):
        PICKUP_REFUSED = "pickup_refused", _("Pick-up refused")
        PICKUP_CODE = "pickup_code", _("Pick-up code")
        GUARDIAN_LINK = "guardian_link", _("Guardian link")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Sending failed")

    # A code or a link in the text: wiped once the message is sent or given up.
    SECRET_PURPOSES = frozenset({Purpose.PICKUP_CODE, Purpose.GUARDIAN_LINK})

    channel = models.CharField(
        _("channel"), max_length=8, choices=Channel.choices, default=Channel.SMS
    )
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices)
    school = models.ForeignKey(
        School,
        verbose_name=_("school"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    recipient = models.CharField(_("recipient"), max_length=64)  # masked or a role's name
    phone = EncryptedCharField(_("phone"), max_plain_length=20)
    text = EncryptedCharField(_("text"), max_plain_length=TEXT_MAX_LENGTH)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    provider_id = models.CharField(_("provider's message ID"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths.through("school")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="messaging_due"),
            models.Index(fields=["school", "-created_at"], name="messaging_school_recent"),
            models.Index(fields=["created_at"], name="messaging_created"),
        ]
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} → {self.recipient} {self.masked_phone}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def has_secret(self) -> bool:
        return self.purpose in self.SECRET_PURPOSES
