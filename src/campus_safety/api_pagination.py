"""Page-number pagination for ``/api/v1/``: clients pick ``page_size`` up to a cap."""

from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination


class PageSizePagination(PageNumberPagination):
    """50 rows by default; ``?page_size=`` up to 500 so one district fits a page without
    letting one request pull the whole city's registry."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def stable_order(queryset: QuerySet) -> QuerySet:
    """End any ordering with the primary key, so rows that tie (two schools with the
    same gap) cannot move between pages; aggregated querysets also lose the model's
    default ordering, so fall back to it explicitly."""
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if not {"pk", "-pk", "id", "-id"} & set(ordering):
        ordering.append("pk")
    return queryset.order_by(*ordering)
