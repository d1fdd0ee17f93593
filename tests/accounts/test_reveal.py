"""Unmasking personal data is allowed to some roles, one field at a time, audited."""

import pytest

from campus_safety.audit.models import AuditEntry
from tests.factories import GuardFactory, SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db


def test_a_dispatcher_reveals_a_principals_phone_and_it_is_recorded(client, city):
    school = SchoolFactory(principal_phone="13812345678")
    user = UserFactory(role="dispatcher", region=city)
    sign_in(client, user)
    response = client.post(f"/accounts/reveal/orgs.school/{school.pk}/principal_phone/")
    assert response.status_code == 200 and "13812345678" in response.content.decode()
    entry = AuditEntry.objects.get(action="personal_data.reveal")
    assert (entry.username, entry.object_id, entry.detail) == (
        user.username,
        str(school.pk),
        {"field": "principal_phone"},
    )


def test_a_guard_may_not_reveal_and_the_attempt_is_recorded(client):
    guard = GuardFactory(phone="13900001111")
    user = UserFactory(role="guard", school=guard.school)
    sign_in(client, user)
    response = client.post(f"/accounts/reveal/workforce.guard/{guard.pk}/phone/")
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="personal_data.reveal", outcome="denied").exists()


def test_only_listed_fields_can_be_revealed(client, city):
    school = SchoolFactory()
    sign_in(client, UserFactory(role="dispatcher", region=city))
    assert client.post(f"/accounts/reveal/orgs.school/{school.pk}/name/").status_code == 404
    assert client.post("/accounts/reveal/accounts.user/1/password/").status_code == 404


def test_reveal_needs_post(client, city):
    school = SchoolFactory(principal_phone="13812345678")
    sign_in(client, UserFactory(role="dispatcher", region=city))
    url = f"/accounts/reveal/orgs.school/{school.pk}/principal_phone/"
    assert client.get(url).status_code == 405
