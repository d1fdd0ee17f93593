"""List-page mechanics shared by the schools and workforce lists.

One URL serves a list whole on a normal request and only its table partial when htmx
asks for it, so filtering, sorting and paging work with and without JavaScript and
every state has an address that can be bookmarked or sent to a colleague.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _

PAGE_SIZE = 50


def query_with(params: QueryDict, **changes: Any) -> str:
    """A ``?query`` from ``params`` with ``changes`` applied; empty values are dropped."""
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    kept = QueryDict(mutable=True)
    for key, values in query.lists():
        for value in values:
            if value != "":
                kept.appendlist(key, value)
    return f"?{kept.urlencode()}" if kept else "?"


@dataclass(frozen=True)
class SortHeader:
    """A column header link: where a click goes and which way the column is sorted now."""

    query: str
    direction: str  # "asc", "desc" or "" (not the sort column)

    @property
    def aria_sort(self) -> str:
        return {"asc": "ascending", "desc": "descending"}.get(self.direction, "none")


def sort_headers(
    request: HttpRequest, names: Iterable[str], descending_first: Iterable[str] = ()
) -> dict[str, SortHeader]:
    """Header links for the ``ordering`` parameter of a django-filter ``OrderingFilter``.

    A click on the current column reverses it; numeric columns named in
    ``descending_first`` start with the largest values (the interesting end of a gap).
    """
    current = request.GET.get("ordering", "")
    descending_first = set(descending_first)
    headers = {}
    for name in names:
        if current == name:
            direction, target = "asc", f"-{name}"
        elif current == f"-{name}":
            direction, target = "desc", name
        else:
            direction = ""
            target = f"-{name}" if name in descending_first else name
        headers[name] = SortHeader(query_with(request.GET, ordering=target, page=None), direction)
    return headers


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None = an ellipsis
    query: str
    is_current: bool


def paginate(
    request: HttpRequest, queryset: QuerySet, param: str = "page", per_page: int | None = None
) -> tuple[Page, list[PageLink]]:
    """The requested page (bad numbers fall back to the first or last) and its links;
    ``param`` names the page's query parameter when one page holds two lists."""
    paginator = Paginator(queryset, per_page or PAGE_SIZE)  # read late: tests shrink it
    page = paginator.get_page(request.GET.get(param))
    links = []
    for number in paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1):
        if number == paginator.ELLIPSIS:
            links.append(PageLink(None, "", False))
        else:
            links.append(
                PageLink(number, query_with(request.GET, **{param: number}), number == page.number)
            )
    return page, links


def neighbour_queries(request: HttpRequest, page: Page, param: str = "page") -> dict[str, str]:
    """Links to the previous and next page, keeping the filters."""
    return {
        "previous": query_with(request.GET, **{param: page.previous_page_number()})
        if page.has_previous()
        else "",
        "next": query_with(request.GET, **{param: page.next_page_number()})
        if page.has_next()
        else "",
    }


def wants_partial(request: HttpRequest) -> bool:
    """htmx swaps the table; a history restore needs the whole page again."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_list(
    request: HttpRequest, page_template: str, partial_template: str, context: dict[str, Any]
) -> HttpResponse:
    """Render the whole page, or only the table partial for an htmx request."""
    partial = wants_partial(request)
    context = {**context, "is_partial": partial}
    response = render(request, partial_template if partial else page_template, context)
    # The same URL answers with two bodies: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def tidy_filter_form(form: forms.Form) -> forms.Form:
    """Every select starts with "All" rather than "---------" or "Unknown" — but a
    multiple choice, where choosing none is "all", gets no empty choice: its page offers
    "All" itself, and a second one would read "All" twice."""
    for field in form.fields.values():
        if isinstance(field, forms.NullBooleanField):
            field.widget = forms.Select(
                choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]
            )
        elif hasattr(field, "empty_label") and not isinstance(field, forms.MultipleChoiceField):
            field.empty_label = _("All")
            field.widget.choices = field.choices  # the widget holds a copy made earlier
    return form
