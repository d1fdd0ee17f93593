"""Security headers on every page; CSRF on forms; TLS-only settings."""

import re

import pytest
from django.test import Client

from tests.factories import SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_script_policy_and_deny_framing(client):
    response = client.get("/accounts/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_page_has_an_inline_script(client, city):
    SchoolFactory()
    sign_in(client, UserFactory(is_superuser=True, is_staff=True, region=city))
    for url in ["/", "/schools/", "/accounts/login/", "/api/v1/docs/"]:
        html = client.get(url, follow=True).content.decode()
        inline = [
            m
            for m in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
            if "application/json" not in m
        ]
        assert inline == [], url


def test_login_form_is_protected_by_csrf():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403


def test_map_tile_host_is_the_only_outside_image_source(settings):
    from campus_safety.security_headers import content_security_policy

    settings.MAP_TILE_URL = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    assert "https://*.tiles.example.org" in content_security_policy()
