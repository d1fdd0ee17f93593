"""RFC 2617 digest for REGISTER, on strings alone."""

from __future__ import annotations

import dataclasses

import pytest

from campus_safety.gateway.gb28181 import digest
from campus_safety.gateway.gb28181.digest import Credentials, DigestError, Verdict

KEY = b"k" * 32
REALM = "3714000000"
DEVICE = "37140200001180000001"
NOW = 1_700_000_000.0


def answer(password: str, nonce: str, *, qop: bool = True, realm: str = REALM) -> Credentials:
    unsigned = Credentials(
        username=DEVICE,
        realm=realm,
        nonce=nonce,
        uri="sip:37140000002000000001@3714000000",
        response="",
        algorithm="MD5",
        qop="auth" if qop else None,
        nc="00000001" if qop else None,
        cnonce="0a4f113b" if qop else None,
    )
    response = digest.expected_response(unsigned, method="REGISTER", password=password, realm=realm)
    return dataclasses.replace(unsigned, response=response)


def check(credentials: Credentials) -> Verdict:
    return digest.verify(
        credentials, method="REGISTER", password="pw", realm=REALM, key=KEY, now=NOW, nonce_ttl=300
    )


def test_the_rfc_2617_worked_example_gives_its_published_response():
    # RFC 2617 section 3.5: Mufasa / "Circle Of Life"
    header = (
        'Digest username="Mufasa", realm="testrealm@host.com", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
        'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    credentials = digest.parse_authorization(header)
    assert (
        digest.expected_response(
            credentials, method="GET", password="Circle Of Life", realm="testrealm@host.com"
        )
        == credentials.response
    )


def test_the_right_password_is_accepted_with_and_without_qop():
    nonce = digest.make_nonce(KEY, REALM, NOW)
    assert check(answer("pw", nonce)) is Verdict.OK
    assert check(answer("pw", nonce, qop=False)) is Verdict.OK


def test_a_wrong_password_is_refused_even_with_a_fresh_nonce():
    assert check(answer("guess", digest.make_nonce(KEY, REALM, NOW))) is Verdict.WRONG_PASSWORD


def test_a_right_answer_to_an_expired_nonce_is_stale_so_the_device_retries_at_once():
    nonce = digest.make_nonce(KEY, REALM, NOW - 301)
    assert check(answer("pw", nonce)) is Verdict.STALE_NONCE
    assert check(answer("guess", nonce)) is Verdict.WRONG_PASSWORD


def test_a_nonce_not_issued_with_our_key_or_tampered_with_is_unknown():
    foreign = digest.make_nonce(b"x" * 32, REALM, NOW)
    assert check(answer("pw", foreign)) is Verdict.BAD_NONCE
    ours = digest.make_nonce(KEY, REALM, NOW)
    tampered = f"{int(NOW) + 3600:012x}" + ours[12:]  # push the issue time forward
    assert check(answer("pw", tampered)) is Verdict.BAD_NONCE
    assert check(answer("pw", "not-a-nonce")) is Verdict.BAD_NONCE


def test_a_device_configured_with_another_sip_domain_is_told_so():
    nonce = digest.make_nonce(KEY, REALM, NOW)
    assert check(answer("pw", nonce, realm="3402000000")) is Verdict.REALM_MISMATCH


@pytest.mark.parametrize(
    "change", [{"algorithm": "SHA-256"}, {"qop": "auth-int"}, {"nc": "1"}, {"cnonce": None}]
)
def test_unsupported_algorithms_and_incomplete_qop_answers_are_refused(change):
    credentials = dataclasses.replace(answer("pw", digest.make_nonce(KEY, REALM, NOW)), **change)
    assert check(credentials) is Verdict.UNSUPPORTED


def test_the_challenge_offers_md5_and_qop_auth_in_the_platform_realm():
    nonce = digest.make_nonce(KEY, REALM, NOW, random_part=b"\x00" * 8)
    assert digest.challenge(REALM, nonce, stale=True) == (
        f'Digest realm="{REALM}", nonce="{nonce}", algorithm=MD5, qop="auth", stale=true'
    )
    assert digest.nonce_age(nonce, key=KEY, realm=REALM, now=NOW + 5) == 5


def test_authorization_parsing_handles_quoted_commas_escapes_and_spacing():
    credentials = digest.parse_authorization(
        'Digest  username = "a\\"b" ,realm="x, y",nonce=n,uri="sip:p@d",response="r",algorithm=MD5'
    )
    assert (credentials.username, credentials.realm, credentials.nonce) == ('a"b', "x, y", "n")
    assert credentials.qop is None


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        'Digest username="a", realm="r", nonce="n", uri="u"',  # no response
        'Digest username="a", username="b", realm="r", nonce="n", uri="u", response="x"',
        'Digest username="a, realm="r"',
        "Digest username",
        "Digest " + "x" * 5000,
    ],
)
def test_malformed_authorization_headers_raise_digest_error(header):
    with pytest.raises(DigestError):
        digest.parse_authorization(header)
