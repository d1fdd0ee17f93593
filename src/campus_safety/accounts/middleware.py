"""Until a staff user has passed the second factor, the only pages open to them are
the two-factor pages themselves (and logout)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from campus_safety.accounts import two_factor

OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/static/", "/healthz", "/i18n/")


class RequireTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and two_factor.required_for(user)
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": "two-factor verification required"}, status=403)
            name = "two_factor_verify" if two_factor.has_device(user) else "two_factor_setup"
            return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
