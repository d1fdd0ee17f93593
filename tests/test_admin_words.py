"""The Django admin speaks Chinese too (issue #14 item 1).

An administrator opens /admin/ in zh-Hans: the index, every model's list, its add form
and the change form of one of its rows. Field labels, model names, permission names and
the words of the third-party apps (two-factor devices, login lockouts) must all be in
Chinese; the checker is the one the pages' test uses (tests/test_page_words.py).
"""

from __future__ import annotations

import re

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import models
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import UserFactory, sign_in
from tests.test_page_words import _english_on, _report, town  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def _admin_pages(user) -> list[str]:
    """The index, and for every model the admin lets ``user`` see: its app's page, its
    list, its add form (where adding is offered) and the change form of its first row."""
    request = RequestFactory().get("/admin/")
    request.user = user
    pages = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in NEWER_APPS:
            continue
        if not model_admin.has_view_or_change_permission(request):
            continue
        app, name = model._meta.app_label, model._meta.model_name
        pages.append(reverse("admin:app_list", args=[app]))
        pages.append(reverse(f"admin:{app}_{name}_changelist"))
        if model_admin.has_add_permission(request):
            pages.append(reverse(f"admin:{app}_{name}_add"))
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            pages.append(reverse(f"admin:{app}_{name}_change", args=[row.pk]))
    return list(dict.fromkeys(pages))


# Apps with catalogues and tests of their own (issue #14 leaves them to their authors).
NEWER_APPS = {"video", "gate", "intel", "inspections", "linkage"}
# Data shown as it is: a masked secret's first characters, a user agent axes could not
# read, a JSON field's keys, the fixtures' names.
MASKED = re.compile(r"\b\w+\*{4,}")


def _data_shown_as_is() -> set[str]:
    shown = {"<unknown>", "md5", "test"}  # the tests' password hasher, TOTP device name
    for model in apps.get_models():
        for field in model._meta.fields:
            if isinstance(field, models.JSONField):
                for value in model._default_manager.values_list(field.name, flat=True)[:20]:
                    shown.add(forms.JSONField().prepare_value(value))
    return shown


def test_the_admin_shows_no_english_to_a_superuser(client, town):  # noqa: F811
    root = UserFactory(username="root", is_staff=True, is_superuser=True, role="system_admin")
    sign_in(client, root)
    Permission.objects.filter(content_type__app_label__in=NEWER_APPS).delete()
    known = town["known"] | {"root"} | _data_shown_as_is()
    english: dict[str, dict[str, str]] = {}
    unrendered = []
    pages = _admin_pages(root)
    assert len(pages) > 60, pages  # every app of ours, and the third-party ones
    for url in pages:
        html = client.get(url).content.decode()
        status, words = _english_on(client, url, known | set(MASKED.findall(html)))
        if status != 200:
            unrendered.append((url, status))
        for word, text in words.items():
            english.setdefault(word, {})[url] = text
    assert not unrendered, unrendered
    assert not english, f"{len(english)} English words:\n{_report(english)}"


def test_rows_are_named_in_words_not_database_numbers(town):  # noqa: F811
    """An alarm case names its device by name and code, not the device's row number;
    an active checkpoint is 启用 (in use), not 当前 (the current one)."""
    from django.utils import translation

    from campus_safety.patrols.models import Checkpoint

    case, device = town["case"], town["device"]
    with translation.override("zh-hans"):
        name = str(case)
        assert name.endswith(f"{device.name} {device.device_id}")
        assert f"({device.pk})" not in name
        label = Checkpoint._meta.get_field("is_active").verbose_name
        assert str(label) == "启用"
