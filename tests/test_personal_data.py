"""Field-level encryption, keyed hashes and masks for personal data."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from campus_safety import personal_data as pd


@pytest.fixture
def key_ring(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PERSONAL_DATA_KEYS = [old]
    settings.PERSONAL_DATA_HASH_KEY = "hash-key-for-tests"
    pd.reset_keys()
    yield settings, old, new
    pd.reset_keys()


@given(st.text(min_size=1, max_size=64))
def test_encryption_round_trips_any_text(value):
    assert pd.decrypt(pd.encrypt(value)) == value


def test_ciphertext_does_not_contain_the_number(key_ring):
    token = pd.encrypt("13812345678")
    assert "13812345678" not in token
    assert token != pd.encrypt("13812345678")  # random IV: equal values look different


def test_rotation_keeps_old_tokens_readable_and_rewrites_under_the_new_key(key_ring):
    settings, old, new = key_ring
    token = pd.encrypt("371402199001011234")
    settings.PERSONAL_DATA_KEYS = [new, old]
    pd.reset_keys()
    assert pd.decrypt(token) == "371402199001011234"
    rotated = pd.rotate(token)
    settings.PERSONAL_DATA_KEYS = [new]
    pd.reset_keys()
    assert pd.decrypt(rotated) == "371402199001011234"
    with pytest.raises(ImproperlyConfigured):
        pd.decrypt(token)


def test_keyed_hash_ignores_formatting_but_not_digits(key_ring):
    assert pd.keyed_hash("138-1234 5678") == pd.keyed_hash("13812345678")
    assert pd.keyed_hash("13812345679") != pd.keyed_hash("13812345678")
    assert pd.keyed_hash("") == ""


def test_keyed_hash_depends_on_the_key(key_ring):
    settings, _, _ = key_ring
    before = pd.keyed_hash("13812345678")
    settings.PERSONAL_DATA_HASH_KEY = "another-key"
    pd.reset_keys()
    assert pd.keyed_hash("13812345678") != before


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("", ""),
        ("123", "***"),
    ],
)
def test_phone_mask(value, masked):
    assert pd.mask_phone(value) == masked


def test_id_number_mask_keeps_region_and_last_four():
    assert pd.mask_id_number("371402199001011234") == "3714**********1234"


@given(st.text(max_size=40))
def test_a_mask_never_reveals_more_than_seven_characters(value):
    masked = pd.mask_phone(value)
    assert len(masked) == len(value)
    assert sum(1 for a, b in zip(masked, value, strict=True) if a == b and a != "*") <= 7


@pytest.mark.django_db
def test_guard_phone_and_id_number_are_ciphertext_in_the_database_and_found_by_hash(key_ring):
    from django.db import connection

    from campus_safety.workforce.models import Guard
    from tests.factories import GuardFactory

    guard = GuardFactory(phone="13812345678", id_number="371402199001011234")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, id_number FROM workforce_guard WHERE id = %s", [guard.pk])
        stored_phone, stored_id = cursor.fetchone()
    assert stored_phone.startswith(pd.TOKEN_PREFIX) and "12345678" not in stored_phone
    assert stored_id.startswith(pd.TOKEN_PREFIX) and "1234" not in stored_id[5:9]
    fetched = Guard.objects.get(phone_hash=pd.keyed_hash("138 1234 5678"))
    assert (fetched.pk, fetched.phone, fetched.id_number) == (
        guard.pk,
        "13812345678",
        "371402199001011234",
    )


@pytest.mark.django_db
def test_bulk_created_rows_get_their_hashes_too(key_ring):
    from campus_safety.workforce.models import Guard
    from tests.factories import SchoolFactory

    school = SchoolFactory()
    Guard.objects.bulk_create(
        [Guard(name="甲", kind="full_time", school=school, phone="13900000001")]
    )
    assert Guard.objects.filter(phone_hash=pd.keyed_hash("13900000001")).count() == 1


@pytest.mark.django_db
def test_encrypted_fields_cannot_be_searched_by_value():
    from django.core.exceptions import FieldError

    from campus_safety.workforce.models import Guard

    with pytest.raises(FieldError):
        list(Guard.objects.filter(phone__icontains="138"))


@pytest.mark.django_db
def test_rotation_command_rewrites_every_value_so_the_old_key_can_go(key_ring):
    from django.core.management import call_command

    from campus_safety.workforce.models import Guard
    from tests.factories import GuardFactory

    settings, old, new = key_ring
    guard = GuardFactory(phone="13812345678", id_number="371402199001011234")
    settings.PERSONAL_DATA_KEYS = [new, old]
    pd.reset_keys()
    call_command("rotate_personal_data", stdout=io.StringIO())
    settings.PERSONAL_DATA_KEYS = [new]
    pd.reset_keys()
    fetched = Guard.objects.get(pk=guard.pk)
    assert (fetched.phone, fetched.id_number) == ("13812345678", "371402199001011234")


def _in_a_process(data_dir, keys: dict[str, str], code: str) -> str:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "campus_safety.settings",
        "CAMPUS_SAFETY_DATA_DIR": str(data_dir),
        **keys,
    }
    script = "import django\ndjango.setup()\nfrom campus_safety import personal_data as pd\n"
    done = subprocess.run(
        [sys.executable, "-c", script + code], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_processes_with_their_own_data_dirs_share_the_keys_from_the_environment(tmp_path):
    """Containers each have their own data dir: what one process encrypted, another
    decrypts and finds by the same hash, because both read the keys from the environment
    (PERSONAL_DATA_KEYS, PERSONAL_DATA_HASH_KEY; docs/deployment.md)."""
    keys = {
        "PERSONAL_DATA_KEYS": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        "PERSONAL_DATA_HASH_KEY": "hash-key-from-the-environment",
    }
    token, digest = _in_a_process(
        tmp_path / "one", keys, "print(pd.encrypt('13812345678'), pd.keyed_hash('13812345678'))"
    ).split()
    code = f"print(pd.decrypt({token!r}), pd.keyed_hash('13812345678'))"
    assert _in_a_process(tmp_path / "two", keys, code).split() == ["13812345678", digest]
    assert not (tmp_path / "two" / "personal_data_key").exists()
