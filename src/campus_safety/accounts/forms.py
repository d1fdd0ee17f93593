from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class SignInForm(AuthenticationForm):
    """Password step; throttling (django-axes) sees the request through authenticate()."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Wrong username or password. After 5 failures the account "
            "and the address are locked for 15 minutes."
        ),
    }


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=365, initial=90)
