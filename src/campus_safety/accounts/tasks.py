"""How long the accounts app keeps sign-in records and expired tokens (retention.py
runs every app's ``RETENTION``)."""

from __future__ import annotations

from campus_safety.retention import Policy

RETENTION = [
    Policy("login_attempts", "axes.AccessAttempt", "attempt_time", 90),
    Policy("access_log", "axes.AccessLog", "attempt_time", 180, 180),  # 网络安全法: ≥180 days
    Policy("expired_api_tokens", "accounts.ApiToken", "expires_at", 365),
]
