"""Page forms whose rules are the API's.

A page that writes what the REST API also writes must refuse exactly what the API
refuses. The Django form here only draws the fields and parses what the browser sends;
its ``clean`` then runs the app's serializer over the parsed values and shows the
serializer's reasons beside the fields they concern. The view hands
``form.validated_data`` to the same service the serializer's ``create``/``update`` call,
so page and API share one set of rules and one writer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.http import HttpRequest


def _messages(detail: Any) -> list[str]:
    """A serializer's error detail (a string, a list, or nested dicts and lists, e.g. a
    route's stops) as plain sentences."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]


class SerializerForm(forms.Form):
    """Subclasses name ``serializer_class``, say how a serializer field is called on the
    form (``field_names``) and build the serializer's input in ``serializer_data``."""

    serializer_class: ClassVar[type]
    field_names: ClassVar[dict[str, str]] = {}

    def __init__(
        self, *args: Any, request: HttpRequest, instance: Any = None, **kwargs: Any
    ) -> None:
        self.request, self.instance = request, instance
        self.validated_data: dict[str, Any] = {}
        super().__init__(*args, **kwargs)

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned  # the browser sent something unparseable: say that first
        serializer = self.serializer_class(
            self.instance,
            data=self.serializer_data(cleaned),
            context={"request": self.request},
        )
        if serializer.is_valid():
            self.validated_data = dict(serializer.validated_data)
            return cleaned
        for name, detail in serializer.errors.items():
            field = self.field_names.get(name, name)
            for message in _messages(detail):
                self.add_error(field if field in self.fields else None, message)
        return cleaned
