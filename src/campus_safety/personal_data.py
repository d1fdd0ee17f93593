"""Personal data at rest (PIPL Art. 51, 等保2.0): encrypted fields, keyed hashes, masks.

National ID and phone numbers are stored as Fernet tokens (AES-128-CBC + HMAC) under a
key ring whose first key encrypts and all keys decrypt, so keys rotate without
downtime (``campus-safety rotate-personal-data`` re-encrypts under the newest key).
Equality look-ups go through a keyed HMAC-SHA256 of the normalised value held in a
sibling column, never through the ciphertext. Pages show masked values; unmasking is
a separate, audited act (see ``reveal``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

TOKEN_PREFIX = "enc1:"  # noqa: S105 (a format marker, not a secret)


def _key_file(name: str, make) -> str:
    path = Path(settings.DATA_DIR) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


@cache
def _ring() -> MultiFernet:
    keys = getattr(settings, "PERSONAL_DATA_KEYS", None) or [
        _key_file("personal_data_key", lambda: Fernet.generate_key().decode())
    ]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"PERSONAL_DATA_KEYS: {exc}") from exc


@cache
def _hash_key() -> bytes:
    key = getattr(settings, "PERSONAL_DATA_HASH_KEY", "") or _key_file(
        "personal_data_hash_key", lambda: Fernet.generate_key().decode()
    )
    return key.encode()


def reset_keys() -> None:
    """Forget cached keys (after settings change: tests, rotation)."""
    _ring.cache_clear()
    _hash_key.cache_clear()


def normalise(value: str) -> str:
    """Spaces, dashes and letter case do not make a different number."""
    return re.sub(r"[\s\-]", "", value or "").upper()


def keyed_hash(value: str) -> str:
    """Stable look-up key for an encrypted value; empty for empty."""
    value = normalise(value)
    if not value:
        return ""
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def encrypt(value: str) -> str:
    if not value:
        return ""
    return TOKEN_PREFIX + _ring().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    if not token.startswith(TOKEN_PREFIX):
        return token  # written before encryption was switched on
    try:
        return _ring().decrypt(token[len(TOKEN_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("personal data cannot be decrypted with the key ring") from exc


def rotate(token: str) -> str:
    """Re-encrypt under the newest key."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return encrypt(token)
    return TOKEN_PREFIX + _ring().rotate(token[len(TOKEN_PREFIX) :].encode()).decode()


def mask(value: str, *, keep_start: int = 3, keep_end: int = 4) -> str:
    """``13812345678`` → ``138****5678``; ``371402199001011234`` → ``3714**********1234``."""
    value = value or ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_phone(value: str) -> str:
    return mask(value, keep_start=3, keep_end=4)


def mask_id_number(value: str) -> str:
    return mask(value, keep_start=4, keep_end=4)


class EncryptedCharField(models.TextField):
    """A text column holding ciphertext; Python sees the plain value.

    With ``hash_field`` it keeps a sibling column of keyed hashes in step, for look-ups:
    ``Guard.objects.filter(phone_hash=keyed_hash("138..."))``.
    """

    def __init__(
        self, *args, hash_field: str | None = None, max_plain_length: int = 64, **kwargs
    ) -> None:
        self.hash_field = hash_field
        self.max_plain_length = max_plain_length
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.hash_field:
            kwargs["hash_field"] = self.hash_field
        kwargs["max_plain_length"] = self.max_plain_length
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(TOKEN_PREFIX):
            return decrypt(value)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname) or ""
        if len(value) > self.max_plain_length:
            raise ValueError(f"{self.attname} longer than {self.max_plain_length} characters")
        if self.hash_field:
            setattr(model_instance, self.hash_field, keyed_hash(value))
        return value

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None  # ciphertext cannot be searched: use the hash column
        return super().get_lookup(lookup_name)
