"""Masked display of personal data (ARCHITECTURE.md §6: phone numbers shown masked)."""

from django import template

register = template.Library()


@register.filter
def mask_phone(value: str | None) -> str:
    """Keep the first three and last four digits: 13812345678 → 138****5678."""
    value = (value or "").strip()
    if len(value) <= 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"
