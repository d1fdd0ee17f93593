"""Sign-in (password, then second factor), API tokens and the role table."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from campus_safety.accounts import roles, two_factor
from campus_safety.accounts.forms import CodeForm, SignInForm, TokenForm
from campus_safety.accounts.landing import landing_url
from campus_safety.accounts.signals import announce
from campus_safety.accounts.tokens import create_token, revoke_token

MAX_CODE_FAILURES = 5


def _next_url(request: HttpRequest) -> str:
    """Where the user asked to go, if it is on this site; else the role's first page."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, {request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return landing_url(request.user)


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = SignInForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        """Without a ``next``, each role lands on its work (accounts/landing.py)."""
        return landing_url(self.request.user)

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        if two_factor.required_for(user):
            name = "two_factor_verify" if two_factor.has_device(user) else "two_factor_setup"
            return redirect(f"{reverse(name)}?{urlencode({'next': self.get_success_url()})}")
        return response


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor.verify(request.user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            request.session.pop("otp_failures", None)
            announce("auth.second_factor", request.user)
            return redirect(_next_url(request))
        failures = request.session.get("otp_failures", 0) + 1
        request.session["otp_failures"] = failures
        announce("auth.second_factor", request.user, outcome="failure")
        if failures >= MAX_CODE_FAILURES:
            auth_views.auth_logout(request)
            messages.error(request, _("Too many wrong codes: sign in again."))
            return redirect("login")
        form.add_error("code", _("Wrong or expired code."))
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": request.GET.get("next", "")},
    )


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    if two_factor.confirmed_totp(request.user) and not request.user.is_verified():
        return redirect("two_factor_verify")
    device = two_factor.pending_totp(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.confirm_totp(device, form.cleaned_data["code"]):
            otp_login(request, device)
            request.session["recovery_codes"] = two_factor.new_recovery_codes(request.user)
            announce("auth.second_factor_enrolled", request.user)
            next_url = _next_url(request)
            return redirect(f"{reverse('two_factor_recovery')}?{urlencode({'next': next_url})}")
        form.add_error("code", _("Wrong or expired code: check your phone's clock."))
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": two_factor.qr_svg(device),
            "secret": two_factor.secret_base32(device),
            "next": request.GET.get("next", ""),
        },
    )


@login_required
def two_factor_recovery(request: HttpRequest) -> HttpResponse:
    """Shows freshly made recovery codes exactly once."""
    codes = request.session.pop("recovery_codes", None)
    if codes is None:
        return redirect(_next_url(request))
    return render(
        request, "accounts/two_factor_recovery.html", {"codes": codes, "next": _next_url(request)}
    )


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _, new_token = create_token(
            request.user, form.cleaned_data["name"], form.cleaned_data["days"]
        )
        form = TokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "new_token": new_token, "tokens": request.user.api_tokens.all()},
    )


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(request.user.api_tokens.filter(revoked_at=None), pk=pk)
    revoke_token(row)
    messages.success(request, _("Token %(prefix)s revoked.") % {"prefix": row.prefix})
    return redirect("tokens")


@login_required
def role_table(request: HttpRequest) -> HttpResponse:
    """The role table for administrators (read from code, not editable)."""
    if not (
        roles.can(request.user, roles.READ, "users") or roles.can(request.user, roles.READ, "audit")
    ):
        raise PermissionDenied
    return render(request, "accounts/roles.html", roles.table())


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes lockout answer: 429 with the lock's length, recorded in the audit log."""
    from django.conf import settings

    announce(
        "auth.locked_out",
        outcome="denied",
        detail={"username": str((credentials or {}).get("username", ""))[:150]},
    )
    return render(
        request, "accounts/locked.html", {"minutes": settings.LOGIN_LOCK_MINUTES}, status=429
    )
