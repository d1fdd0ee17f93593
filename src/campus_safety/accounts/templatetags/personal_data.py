"""``{% masked obj "phone" %}``: a personal-data field shown masked, with a reveal
button (htmx, audited) for roles allowed to see it in full."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from campus_safety.accounts.roles import REVEAL, can
from campus_safety.personal_data import mask_id_number, mask_phone

register = template.Library()


@register.simple_tag(takes_context=True)
def masked(context, obj, field: str) -> str:
    value = getattr(obj, field, "") or ""
    if not value:
        return "—"
    shown = mask_id_number(value) if field == "id_number" else mask_phone(value)
    user = context.get("user")
    if user is None or not can(user, REVEAL, "personal_data"):
        return format_html('<span class="masked">{}</span>', shown)
    url = reverse("reveal", args=[obj._meta.label_lower, obj.pk, field])
    return format_html(
        '<span class="pd"><span class="masked">{}</span> <button type="button" '
        'class="linkish reveal" hx-post="{}" hx-target="closest .pd" hx-swap="innerHTML" '
        'title="{}">{}</button></span>',
        shown,
        url,
        _("Show in full (recorded in the audit log)"),
        _("Show"),
    )
