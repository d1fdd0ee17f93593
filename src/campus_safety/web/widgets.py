"""Form widgets every app's forms share: browser date inputs and the school picker.

Date inputs: a browser's ``<input type="date">`` only understands ``2026-12-07`` (and
``datetime-local`` only ``2026-12-07T09:30``), whatever the page's language. Django
formats a date widget's value with the active language's first input format — for
zh-Hans ``2026/12/07`` — which the browser silently drops, so a form shown in Chinese
came back with its dates empty. These widgets always write ISO 8601; reading still
accepts every format of the language.

School picker: a city has 2,029 schools, a district a few hundred. A ``<select>`` of
them is unusable, so above ``PLAIN_SELECT_UP_TO`` choices the widget renders only the
chosen school(s), and ``school_picker.js`` (loaded by ``base.html``) turns the select
into a search box that asks ``schools:search`` (name, code, district, police station).
Small scopes (a school's own staff, a police station's few schools) keep the plain
select, which needs no script. The select stays the form's value: the field validates
against its queryset (the user's scope) as before, whatever the script sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

ISO_DATE = "%Y-%m-%d"
ISO_DATETIME_MINUTES = "%Y-%m-%dT%H:%M"
PLAIN_SELECT_UP_TO = 50


class DateInput(forms.DateInput):
    """``<input type="date">`` with an ISO value in every language."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=ISO_DATE)


class DateTimeInput(forms.DateTimeInput):
    """``<input type="datetime-local">`` (local time, to the minute), ISO in every language."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=ISO_DATETIME_MINUTES)


class SchoolPicker(forms.Select):
    """A school field's widget: a plain select for a few schools, a search box for many."""

    plain_up_to = PLAIN_SELECT_UP_TO

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self._choice_count: int | None = None

    def _queryset(self) -> QuerySet | None:
        return getattr(self.choices, "queryset", None)

    def is_searchable(self) -> bool:
        """True when the field offers more schools than a select can usefully list."""
        queryset = self._queryset()
        if queryset is None:
            return False
        if self._choice_count is None:
            self._choice_count = queryset.count()
        return self._choice_count > self.plain_up_to

    def _chosen_choices(self, values: Iterable[str]) -> list[tuple[Any, Any]]:
        """The choices for ``values`` only (unknown or malformed values are left out)."""
        iterator = self.choices
        field = iterator.field
        key = field.to_field_name or "pk"
        wanted = [v for v in values if v not in ("", None)]
        if key == "pk":
            wanted = [v for v in wanted if str(v).isascii() and str(v).isdigit()]
        chosen: list[tuple[Any, Any]] = []
        if field.empty_label is not None:
            chosen.append(("", field.empty_label))
        if wanted:
            rows = self._queryset().filter(**{f"{key}__in": wanted})
            chosen += [iterator.choice(obj) for obj in rows]
        return chosen

    def optgroups(self, name: str, value: list[str], attrs: dict[str, Any] | None = None):
        if not self.is_searchable():
            return super().optgroups(name, value, attrs)
        every = self.choices
        self.choices = self._chosen_choices(value)
        try:
            return super().optgroups(name, value, attrs)
        finally:
            self.choices = every

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        if self.is_searchable():
            attrs = {
                **(attrs or {}),
                "data-school-picker": "multiple" if self.allow_multiple_selected else "single",
                "data-search-url": reverse("schools:search"),
                "data-placeholder": _("Type a school's name, code, district or police station"),
                "data-no-match": _("No school matches."),
                "data-more": _("More schools match: type more of the name."),
                "data-remove": _("Remove"),
                "data-failed": _("The search did not answer; try again."),
            }
            if self.allow_multiple_selected:  # "{n}": the script puts the number in
                attrs.update(
                    {
                        "data-add-all": _("Add every matching school"),
                        "data-added": _("Added %(n)s schools.") % {"n": "{n}"},
                        "data-chosen": _("%(n)s schools chosen") % {"n": "{n}"},
                        "data-remove-all": _("Remove all"),
                    }
                )
        return super().get_context(name, value, attrs)


class SchoolMultiPicker(SchoolPicker, forms.SelectMultiple):
    """Several schools (a campaign's): chosen ones listed, more added by searching, or
    every match at once (a district's, a police station's)."""

    allow_multiple_selected = True
