"""Shared fixtures: the clock, users in scopes, and a small city."""

import os

import pytest

from campus_safety import clock as clock_module
from tests import factories

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop in tests


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's deliberate slowness protects real passwords, not test fixtures."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture
def clock():
    clock_module.reset()
    yield clock_module
    clock_module.reset()


@pytest.fixture
def city(db):
    return factories.city_region()


@pytest.fixture
def admin_user(db):
    return factories.UserFactory(
        is_superuser=True, is_staff=True, role="system_admin", username="root"
    )
