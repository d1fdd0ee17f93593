"""DRF authentication by ``Authorization: Bearer <token>`` (see tokens.py)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from campus_safety.accounts.tokens import authenticate_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header."))
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Malformed token.")) from None
        user = authenticate_token(token)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        return user, token

    def authenticate_header(self, request) -> str:
        return self.keyword
