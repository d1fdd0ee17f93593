"""Filters for the reports' pages: a fraction as a percentage, a dict's item by key."""

from typing import Any

from django import template

register = template.Library()


@register.filter
def rate(value: Any) -> str:
    """0.9483 → "94.8%"; no value (nothing observed) → "—"."""
    try:
        return f"{100 * float(value):.1f}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def item(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` (None when absent), for tables keyed by target or kind."""
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None
