"""Every write to a registry model leaves an entry, whichever door it came through
(web UI, API, admin, command), because the hook sits on the model, not on the views."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save

from campus_safety.accounts.signals import security_event
from campus_safety.audit import services

# Apps whose models are audited on every write. Sessions, migrations etc. are not.
AUDITED_APPS = {
    "orgs",
    "accounts",
    "workforce",
    "devices",
    "alarms",
    "patrols",
    "hazards",
    "gate",
    "intel",
    "inspections",
    "discipline",
}


def _audited(sender) -> bool:
    return sender._meta.app_label in AUDITED_APPS


def _named(instance) -> bool:
    """A service that writes its own named entry for this very save (``gate.check_in``
    with the acting guard, not ``visit.create``) sets ``instance._audit_named``: the
    generic entry would record the same write twice, with less. Holds for one save."""
    return bool(getattr(instance, "_audit_named", False))


def _snapshot(sender, instance, raw=False, **kwargs) -> None:
    if raw or not _audited(sender) or instance.pk is None or _named(instance):
        return
    fields = [f.attname for f in sender._meta.concrete_fields]
    instance._audit_before = sender._base_manager.filter(pk=instance.pk).values(*fields).first()


def _saved(sender, instance, created, raw=False, update_fields=None, **kwargs) -> None:
    if raw or not _audited(sender):
        return
    if _named(instance):
        instance._audit_named = False
        return
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        services.record(f"{sender._meta.model_name}.create", instance)
        return
    changed = sorted(
        name
        for name, old in before.items()
        if getattr(instance, name) != old and name not in {"last_login"}
    )
    if not changed:
        return  # a save that changed nothing (e.g. last_login only) is not a write
    services.record(f"{sender._meta.model_name}.update", instance, detail={"fields": changed})


def _deleted(sender, instance, **kwargs) -> None:
    if _audited(sender):
        services.record(f"{sender._meta.model_name}.delete", instance)


def _logged_in(sender, request, user, **kwargs) -> None:
    services.record("auth.login", user, user=user)


def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        services.record("auth.logout", user, user=user)


def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    services.record(
        "auth.login_failed",
        outcome="failure",
        detail={"username": str(credentials.get("username", ""))[:150]},
    )


def _security_event(sender, action, obj=None, outcome="success", detail=None, **kwargs) -> None:
    services.record(action, obj, outcome=outcome, detail=detail)


def connect() -> None:
    security_event.connect(_security_event, dispatch_uid="audit-security-event")
    user_logged_in.connect(_logged_in, dispatch_uid="audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit-login-failed")
    for model in apps.get_models():
        if _audited(model):
            uid = f"audit-{model._meta.label_lower}"
            pre_save.connect(_snapshot, sender=model, dispatch_uid=uid + "-pre")
            post_save.connect(_saved, sender=model, dispatch_uid=uid + "-post")
            post_delete.connect(_deleted, sender=model, dispatch_uid=uid + "-del")
