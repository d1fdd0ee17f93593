"""The admin in Chinese where third-party apps leave English (issue #14 item 1).

django-otp writes its field labels, help texts and fieldset titles as plain English
strings (nothing marked for translation), axes names its rows in English, and Django's
permissions are stored as English sentences ("Can add alarm case"). This module gives
them words from our catalogue, for the admin only:

- a field's *displayed* ``verbose_name`` is replaced, never the ``_verbose_name`` a
  migration is built from, and a help text becomes a lazy translation of the very same
  English text (migrations are written with translation off, so it compares equal): no
  migration of a third-party app ever follows from this;
- the two-factor admins are re-registered with translated fieldset titles and search
  help, the axes rows get Chinese names, and permissions are labelled from their action
  and their model's (translated) name.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext, gettext_noop, pgettext
from django.utils.translation import gettext_lazy as _

# Labels django-otp leaves as derived English (the field name with spaces) or plain text.
OTP_LABELS = [
    gettext_noop("name"),
    gettext_noop("confirmed"),
    gettext_noop("created at"),
    gettext_noop("last used at"),
    gettext_noop("key"),
    gettext_noop("step"),
    gettext_noop("t0"),
    gettext_noop("digits"),
    gettext_noop("tolerance"),
    gettext_noop("drift"),
    gettext_noop("last t"),
    gettext_noop("throttling failure timestamp"),
    gettext_noop("throttling failure count"),
    gettext_noop("token"),
    gettext_noop("device"),
    gettext_noop("user"),
    gettext_noop("TOTP device"),
    gettext_noop("TOTP devices"),
    gettext_noop("static device"),
    gettext_noop("static devices"),
    gettext_noop("static token"),
    gettext_noop("static tokens"),
]
OTP_HELP_TEXTS = [
    gettext_noop("The user that this device belongs to."),
    gettext_noop("The human-readable name of this device."),
    gettext_noop("Is this device ready for use?"),
    gettext_noop("A hex-encoded secret key of up to 40 bytes."),
    gettext_noop("The time step in seconds."),
    gettext_noop("The Unix time at which to begin counting steps."),
    gettext_noop("The number of digits to expect in a token."),
    gettext_noop("The number of time steps in the past or future to allow."),
    gettext_noop("The number of time steps the prover is known to deviate from our clock."),
    gettext_noop(
        "The t value of the latest verified token. The next token must be at a higher time step."
    ),
    gettext_noop(
        "A timestamp of the last failed verification attempt. Null if last attempt succeeded."
    ),
    gettext_noop("Number of successive failed attempts."),
    gettext_noop("The date and time when this device was initially created in the system."),
    gettext_noop("The most recent date and time this device was used."),
]
FIELDSET_TITLES = [
    gettext_noop("Identity"),
    gettext_noop("Timestamps"),
    gettext_noop("Configuration"),
    gettext_noop("State"),
    gettext_noop("Throttling"),
]
APP_NAMES = {
    "django_otp": _("Two-factor authentication"),
    "otp_totp": _("Authenticator apps (TOTP)"),
    "otp_static": _("Backup codes"),
    "axes": _("Login lockouts"),
}
ACTIONS = {
    "add": _("may add %(model)s"),
    "change": _("may change %(model)s"),
    "delete": _("may delete %(model)s"),
    "view": _("may view %(model)s"),
}


def _relabel_fields(app_label: str) -> None:
    labels, helps = set(OTP_LABELS), set(OTP_HELP_TEXTS)
    for model in apps.get_app_config(app_label).get_models():
        meta = model._meta
        for text, attr in (
            (meta.verbose_name, "verbose_name"),
            (meta.verbose_name_plural, "verbose_name_plural"),
        ):
            if str(text) in labels:  # a derived plural is lazy: compare its text
                setattr(meta, attr, _(str(text)))
        for field in meta.get_fields():
            verbose = getattr(field, "verbose_name", None)
            if isinstance(verbose, str) and verbose in labels:
                field.verbose_name = _(verbose)  # shown; _verbose_name (migrations) kept
            help_text = getattr(field, "help_text", None)
            if isinstance(help_text, str) and help_text in helps:
                field.help_text = _(help_text)  # equal to the English while migrating


class _TranslatedFieldsets:
    """Fieldset titles through the catalogue (django-otp writes them as plain strings)."""

    search_help_text = _("Search by the user's username or e-mail address")

    def get_fieldsets(self, request, obj=None):
        titles = set(FIELDSET_TITLES)
        return [
            (gettext(name) if name in titles else name, options)
            for name, options in super().get_fieldsets(request, obj)
        ]


def _retranslate_otp_admins() -> None:
    for app_label in ("otp_totp", "otp_static"):
        for model in apps.get_app_config(app_label).get_models():
            model_admin = admin.site._registry.get(model)
            if model_admin is None or isinstance(model_admin, _TranslatedFieldsets):
                continue
            translated = type(
                type(model_admin).__name__, (_TranslatedFieldsets, type(model_admin)), {}
            )
            admin.site.unregister(model)
            admin.site.register(model, translated)


def _axes_names() -> None:
    """Axes names its rows "Access Log for <user> @ <time>"; these are the admin's titles."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    def when(moment) -> str:
        return date_format(localtime(moment), "Y-m-d H:i:s") if moment else ""

    AccessLog.__str__ = lambda self: (
        gettext("%(user)s signed in at %(time)s")
        % {
            "user": self.username,
            "time": when(self.attempt_time),
        }
    )
    AccessAttempt.__str__ = lambda self: (
        gettext("%(user)s failed to sign in at %(time)s")
        % {
            "user": self.username,
            "time": when(self.attempt_time),
        }
    )
    AccessFailureLog.__str__ = lambda self: (
        gettext("%(user)s failed to sign in at %(time)s")
        % {"user": self.username, "time": when(self.attempt_time)}
    )


def permission_label(permission: Permission) -> str:
    """ "报警 | 警情 | 可添加警情" for ``alarms.add_alarmcase``, in the reader's language."""
    content_type = permission.content_type
    model = content_type.model_class()
    if model is None:
        return str(permission)
    meta = model._meta
    action = permission.codename.split("_", 1)[0]
    if action in ACTIONS and permission.codename == f"{action}_{meta.model_name}":
        name = ACTIONS[action] % {"model": meta.verbose_name}
    else:
        name = gettext(permission.name)
    app = apps.get_app_config(meta.app_label).verbose_name
    return pgettext("permission", "%(app)s · %(model)s · %(name)s") % {
        "app": app,
        "model": meta.verbose_name,
        "name": name,
    }


class TranslatedPermissions:
    """For a ModelAdmin with a permissions picker (users, groups): labels in words."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.remote_field.model is Permission:
            field.label_from_instance = permission_label
        return field


def _retranslate_group_admin() -> None:
    from django.contrib.auth.models import Group

    model_admin = admin.site._registry.get(Group)
    if model_admin is None or isinstance(model_admin, TranslatedPermissions):
        return
    admin.site.unregister(Group)
    admin.site.register(Group, type("GroupAdmin", (TranslatedPermissions, type(model_admin)), {}))


def _boolean_icons_in_words() -> None:
    """The yes/no icons' alternative text is ``True``/``False`` in Django; a screen reader
    reads it, so it is said in the reader's language (every caller looks it up here)."""
    from django.contrib.admin.templatetags import admin_list
    from django.templatetags.static import static
    from django.utils.html import format_html

    words = {True: _("yes"), False: _("no"), None: _("unknown")}
    icons = {True: "yes", False: "no", None: "unknown"}

    def boolean_icon(value):
        return format_html(
            '<img src="{}" alt="{}">', static(f"admin/img/icon-{icons[value]}.svg"), words[value]
        )

    admin_list._boolean_icon = boolean_icon


def install() -> None:
    """Called once the admin modules are loaded (accounts/admin.py)."""
    for config in apps.get_app_configs():
        if config.label in APP_NAMES:
            config.verbose_name = APP_NAMES[config.label]
    for app_label in ("otp_totp", "otp_static"):
        _relabel_fields(app_label)
    _retranslate_otp_admins()
    _retranslate_group_admin()
    _axes_names()
    _boolean_icons_in_words()
