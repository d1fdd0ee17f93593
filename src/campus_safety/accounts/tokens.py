"""Personal API tokens: created, checked and revoked here and nowhere else.

Format ``cs_<prefix>_<secret>``; the prefix finds the row, the SHA-256 of the whole
token proves it. Tokens are high-entropy, so a plain hash (not a slow password hash)
is the right tool, and comparisons are constant-time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings

from campus_safety import clock
from campus_safety.accounts.models import ApiToken, User

MAX_DAYS = 365


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """Return the row and the token; the token is never retrievable again."""
    days = days or int(getattr(settings, "API_TOKEN_DEFAULT_DAYS", 90))
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"a token lives 1 to {MAX_DAYS} days")
    prefix = secrets.token_hex(4)
    token = f"cs_{prefix}_{secrets.token_urlsafe(32)}"
    now = clock.now()
    row = ApiToken.objects.create(
        user=user,
        name=name[:64] or "token",
        prefix=prefix,
        digest=_digest(token),
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    return row, token


def authenticate_token(token: str) -> User | None:
    """The active user the token belongs to, or None (unknown, expired, revoked)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cs" or len(token) > 128:
        return None
    row = (
        ApiToken.objects.select_related("user", "user__organisation__region", "user__region")
        .filter(prefix=parts[1], revoked_at=None)
        .first()
    )
    if row is None or not hmac.compare_digest(row.digest, _digest(token)):
        return None
    now = clock.now()
    if row.expires_at <= now or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def revoke_token(row: ApiToken) -> ApiToken:
    """Effective at once; the audit log records who (signals on the model)."""
    row.revoked_at = clock.now()
    row.save(update_fields=["revoked_at"])
    return row
