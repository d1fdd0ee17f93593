"""Personal API tokens: shown once, stored hashed, expire, revocable."""

import pytest
from django.core.management import call_command

from campus_safety import clock as clock_module
from campus_safety.accounts.models import ApiToken
from campus_safety.accounts.tokens import authenticate_token, create_token, revoke_token
from campus_safety.audit.models import AuditEntry
from tests.factories import SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(city):
    return UserFactory(role="dispatcher", region=city)


def test_a_bearer_token_authenticates_api_calls(client, officer):
    SchoolFactory()
    _, token = create_token(officer, "test")
    response = client.get("/api/v1/schools/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_only_the_hash_is_stored(officer):
    row, token = create_token(officer, "test")
    stored = ApiToken.objects.filter(pk=row.pk).values().get()
    assert token not in str(stored)
    assert token.split("_", 2)[2] not in str(stored)


@pytest.mark.parametrize("bad", ["cs_nope_nope", "garbage", "", "cs_" + "a" * 200])
def test_unknown_or_malformed_tokens_are_refused(client, officer, bad):
    create_token(officer, "test")
    response = client.get("/api/v1/schools/", HTTP_AUTHORIZATION=f"Bearer {bad}")
    assert response.status_code == 401


def test_a_token_with_the_right_prefix_but_wrong_secret_is_refused(officer):
    _, token = create_token(officer, "test")
    assert authenticate_token(token[:-2] + "xx") is None


def test_expired_tokens_stop_working(clock, officer):
    _, token = create_token(officer, "test", days=1)
    assert authenticate_token(token) == officer
    clock_module.advance(days=1, seconds=1)
    assert authenticate_token(token) is None


def test_revoked_tokens_stop_working_at_once(officer):
    row, token = create_token(officer, "test")
    revoke_token(row)
    assert authenticate_token(token) is None


def test_a_deactivated_users_token_stops_working(officer):
    _, token = create_token(officer, "test")
    officer.is_active = False
    officer.save()
    assert authenticate_token(token) is None


def test_token_lifetime_is_bounded(officer):
    with pytest.raises(ValueError, match="1 to 365"):
        create_token(officer, "forever", days=3650)


def test_cli_prints_the_token_once_and_it_works(officer, capsys):
    call_command("token", "create", officer.username, "--days", "7")
    token = capsys.readouterr().out.strip()
    assert authenticate_token(token) == officer
    call_command("token", "list", officer.username)
    assert token not in capsys.readouterr().out


def test_creating_and_revoking_tokens_is_audited(officer):
    row, _ = create_token(officer, "test")
    revoke_token(row)
    actions = list(
        AuditEntry.objects.filter(object_type="accounts.apitoken").values_list("action", flat=True)
    )
    assert sorted(actions) == ["apitoken.create", "apitoken.update"]
