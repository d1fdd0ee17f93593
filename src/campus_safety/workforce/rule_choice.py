"""The ``?rule=`` parameter: which staffing rule a page counts guards against.

Pages that show a staffing gap accept ``rule=gbt29315_2022`` or ``rule=spec_2015``
(RULES.md §1–2) so the two policies can be compared on the same data; without it the
configured rule (``settings.STAFFING_RULE``) applies. An unknown key is the caller's
mistake: a 400 that lists the valid keys, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campus_safety.workforce.staffing import RULES, StaffingRule, get_rule


def rule_choices() -> list[StaffingRule]:
    """Every selectable rule, in a stable order for a select box."""
    return [get_rule(key) for key in RULES]


def with_staffing_rule(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pass the rule named by ``?rule=`` (or the configured one) to the view as ``rule``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        key = request.GET.get("rule", "").strip() or None
        if key is not None and key not in RULES:
            context = {"key": key, "rules": rule_choices()}
            return render(request, "workforce/unknown_rule.html", context, status=400)
        return view(request, *args, rule=get_rule(key), **kwargs)

    return wrapper
