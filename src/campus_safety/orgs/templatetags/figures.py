"""Number display for dashboards: grouped thousands in every language, and percentages.

Django's zh-Hans locale groups no digits; in statistics tables 2,029 reads better than
2029, so figures are grouped with a comma regardless of the active language.
"""

from django import template

register = template.Library()


@register.filter
def thousands(value: object) -> str:
    """12345 → "12,345"; anything that is not a number is shown as it is."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def percent_of(part: object, whole: object) -> str:
    """Share of ``part`` in ``whole`` with one decimal, "—" when the whole is zero."""
    try:
        part, whole = float(part), float(whole)
    except (TypeError, ValueError):
        return "—"
    if not whole:
        return "—"
    return f"{100 * part / whole:.1f}%"
