"""Forms of the patrol pages that write: the officer's patrol log and field stop (盘查)
from the phone, and a school's tour set-up (checkpoints, routes, plans) and 护学岗 posts.

Each form draws its fields and parses what the browser sends; its rules are the API's
(``SerializerForm`` runs the serializer of patrols/serializers.py), so the page refuses
what the API refuses, with the same reasons, and the view hands ``validated_data`` to
the service the API uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _

from campus_safety.devices.models import Device, KeyArea
from campus_safety.orgs.models import School
from campus_safety.patrols import serializers as s
from campus_safety.patrols.models import (
    Checkpoint,
    FieldStop,
    GridRoute,
    PeakPost,
    PersonType,
    SchoolTimetable,
    TourPlan,
    TourRoute,
)
from campus_safety.patrols.post_rules import PERSON_TYPES
from campus_safety.web.serializer_forms import SerializerForm
from campus_safety.workforce.models import Guard


def event_id_field() -> forms.CharField:
    """The page's one-off id (a resend or a double tap is stored once)."""
    return forms.CharField(widget=forms.HiddenInput, max_length=64)


def model_field(model: type[Model], name: str, **kwargs: Any) -> forms.Field:
    """The model field's own form field: its label, limits and choices."""
    return model._meta.get_field(name).formfield(**kwargs)


class SchoolChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: School) -> str:
        return f"{obj.name} ({obj.code})"


class SchoolForm(SerializerForm):
    """A set-up form of one school's objects: the school is a select limited to the
    user's scope, fixed once the object exists; the other choices (checkpoints, routes,
    guards, devices) are the chosen school's."""

    # Fields drawn by the page's own block (``extra_template``), not one by one.
    grouped: tuple[str, ...] = ()
    extra_template = ""

    def __init__(self, *args: Any, schools: QuerySet[School], school: School | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.school = school
        field = SchoolChoiceField(label=_("School"), queryset=schools, initial=school)
        if self.instance is not None:
            field.disabled = True
            field.initial = self.instance.school
        else:  # choosing the school redraws the form with that school's choices (htmx)
            field.widget.attrs.update({
                "hx-get": self.request.path, "hx-target": "#setup-form",
                "hx-select": "#setup-form", "hx-swap": "outerHTML",
            })  # fmt: skip
        self.fields = {"school": field, **self.fields}
        if self.instance is not None:
            self.initial = {**_values(self.instance, self.fields), **self.initial}

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith(self.grouped)]

    def school_id(self, cleaned: dict[str, Any]) -> int | None:
        school = cleaned.get("school")
        return school.pk if school is not None else None


def _values(instance: Model, names: Iterable[str]) -> dict[str, Any]:
    """The form's initial values from the object it edits (related objects by pk)."""
    values = {}
    for name in names:
        try:
            field = instance._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.many_to_many:
            values[name] = [obj.pk for obj in getattr(instance, name).all()]
        else:
            values[name] = getattr(instance, field.attname)
    return values


def _pk(obj: Model | None) -> int | None:
    return obj.pk if obj is not None else None


# --- police grid patrols ---


class PatrolLogForm(SerializerForm):
    """A patrol the phone recorded: when it started and ended, the track the browser's
    Geolocation API gave ([longitude, latitude, ISO time] points), the route walked."""

    serializer_class = s.PatrolLogSerializer

    route = forms.ModelChoiceField(
        label=_("Route"), queryset=GridRoute.objects.none(), required=False, empty_label="—"
    )
    started_at = forms.CharField(widget=forms.HiddenInput)
    ended_at = forms.CharField(widget=forms.HiddenInput)
    track = forms.CharField(widget=forms.HiddenInput, required=False)
    event_id = event_id_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["route"].queryset = (
            GridRoute.objects.visible_to(self.request.user).order_by("name").distinct()
        )

    def clean_track(self) -> list:
        text = self.cleaned_data["track"] or "[]"
        try:
            return json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("The track is not readable; record it again.")) from None

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {
            "route": _pk(cleaned.get("route")),
            "started_at": cleaned["started_at"],
            "ended_at": cleaned["ended_at"],
            "track": cleaned["track"],
        }


class FieldStopForm(SerializerForm):
    """盘查 from the phone: when and where (the phone's position when it has one), who
    was stopped, what came of it."""

    serializer_class = s.FieldStopSerializer

    at = model_field(
        FieldStop,
        "at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    place = model_field(FieldStop, "place")
    subject = model_field(FieldStop, "subject")
    outcome = model_field(FieldStop, "outcome")
    note = model_field(FieldStop, "note", widget=forms.Textarea(attrs={"rows": 3}))
    longitude = forms.FloatField(widget=forms.HiddenInput, required=False)
    latitude = forms.FloatField(widget=forms.HiddenInput, required=False)
    event_id = event_id_field()

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {name: cleaned.get(name) for name in (
            "at", "place", "subject", "outcome", "note", "longitude", "latitude"
        )}  # fmt: skip


# --- guard-tour set-up ---


class CheckpointForm(SchoolForm):
    """巡更点: a QR/NFC tag code, or a checkpoint device of the school."""

    serializer_class = s.CheckpointSerializer
    field_names = {"school_id": "school", "non_field_errors": "code"}

    name = model_field(Checkpoint, "name")
    code = model_field(Checkpoint, "code")
    device = forms.ModelChoiceField(
        label=_("Checkpoint device"), queryset=Device.objects.none(), required=False,
        empty_label="—", help_text=_("Empty: a QR/NFC tag."),
    )  # fmt: skip
    key_area = forms.ChoiceField(
        label=_("Key area"), choices=[("", "—"), *KeyArea.choices], required=False
    )
    longitude = model_field(Checkpoint, "longitude", min_value=-180, max_value=180)
    latitude = model_field(Checkpoint, "latitude", min_value=-90, max_value=90)
    is_active = model_field(Checkpoint, "is_active", label=_("In use"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        devices = Device.objects.visible_to(self.request.user).filter(
            kind=Device.Kind.PATROL_CHECKPOINT
        )
        school = self.instance.school if self.instance is not None else self.school
        self.fields["device"].queryset = (
            devices.filter(school=school) if school is not None else devices.none()
        )

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {
            "school_id": self.school_id(cleaned),
            "name": cleaned["name"],
            "code": cleaned["code"],
            "device": _pk(cleaned.get("device")),
            "key_area": cleaned.get("key_area") or "",
            "longitude": cleaned.get("longitude"),
            "latitude": cleaned.get("latitude"),
            "is_active": cleaned.get("is_active", False),
        }


class RouteForm(SchoolForm):
    """巡更路线: the school's checkpoints, each given its place in the walk (blank: not
    on this route) and, if it has one, by when after the round starts it is due."""

    serializer_class = s.TourRouteSerializer
    field_names = {"school_id": "school"}
    grouped = ("position_", "due_")
    extra_template = "patrols/_route_stops.html"

    name = model_field(TourRoute, "name")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        school = self.instance.school if self.instance is not None else self.school
        self.checkpoints = list(
            Checkpoint.objects.filter(school=school).order_by("code") if school else []
        )
        stops = {}
        if self.instance is not None:
            stops = {stop.checkpoint_id: stop for stop in self.instance.stops.all()}
        self.rows = []
        for checkpoint in self.checkpoints:
            stop = stops.get(checkpoint.pk)
            position = forms.IntegerField(
                label=_("Order"), required=False, min_value=1, max_value=999,
                initial=stop.position if stop else None,
            )  # fmt: skip
            due = forms.IntegerField(
                label=_("Due after start (min)"), required=False, min_value=0, max_value=720,
                initial=stop.due_minutes if stop else None,
            )  # fmt: skip
            self.fields[f"position_{checkpoint.pk}"] = position
            self.fields[f"due_{checkpoint.pk}"] = due
            self.rows.append((checkpoint, f"position_{checkpoint.pk}", f"due_{checkpoint.pk}"))

    def stop_rows(self) -> list[tuple[Checkpoint, forms.BoundField, forms.BoundField]]:
        return [(c, self[position], self[due]) for c, position, due in self.rows]

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        stops = [
            {"checkpoint": checkpoint.pk, "position": cleaned[position],
             "due_minutes": cleaned.get(due)}
            for checkpoint, position, due in self.rows
            if cleaned.get(position) is not None
        ]  # fmt: skip
        stops.sort(key=lambda stop: stop["position"])
        return {"school_id": self.school_id(cleaned), "name": cleaned["name"], "stops": stops}


class RoundStartsField(forms.CharField):
    """Round start times typed as "08:00, 13:30, 22:00" (checked by the API's rule)."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]


class PlanForm(SchoolForm):
    """巡更计划: a route of the school walked at set times on set days by its guards."""

    serializer_class = s.TourPlanSerializer
    field_names = {"school_id": "school"}

    name = model_field(TourPlan, "name")
    route = forms.ModelChoiceField(label=_("Route"), queryset=TourRoute.objects.none())
    round_starts = RoundStartsField(
        label=_("Round start times"), help_text=_("Local times, e.g. 08:00, 13:30, 22:00")
    )
    duration_minutes = model_field(TourPlan, "duration_minutes")
    grace_minutes = model_field(TourPlan, "grace_minutes")
    days = model_field(TourPlan, "days")
    guards = forms.ModelMultipleChoiceField(
        label=_("Guards"), queryset=Guard.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    is_active = model_field(TourPlan, "is_active", label=_("In use"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        school = self.instance.school if self.instance is not None else self.school
        routes = TourRoute.objects.filter(school=school) if school else TourRoute.objects.none()
        guards = Guard.objects.filter(school=school) if school else Guard.objects.none()
        self.fields["route"].queryset = routes.order_by("name")
        self.fields["guards"].queryset = guards.order_by("name")

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {
            "school_id": self.school_id(cleaned),
            "name": cleaned["name"],
            "route": _pk(cleaned.get("route")),
            "round_starts": cleaned["round_starts"],
            "duration_minutes": cleaned["duration_minutes"],
            "grace_minutes": cleaned["grace_minutes"],
            "days": cleaned["days"],
            "guards": [guard.pk for guard in cleaned.get("guards") or []],
            "is_active": cleaned.get("is_active", False),
        }


# --- 护学岗 posts ---


class PostForm(SchoolForm):
    """护学岗: where the post stands (its geofence's centre and radius) and how many
    people of each kind it needs in every window."""

    serializer_class = s.PeakPostSerializer
    field_names = {"school_id": "school"}
    grouped = ("required_",)
    extra_template = "patrols/_post_head_count.html"

    name = model_field(PeakPost, "name")
    longitude = model_field(PeakPost, "longitude", min_value=-180, max_value=180)
    latitude = model_field(PeakPost, "latitude", min_value=-90, max_value=90)
    radius_m = model_field(PeakPost, "radius_m")
    in_service_since = model_field(
        PeakPost,
        "in_service_since",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    is_active = model_field(PeakPost, "is_active", label=_("In use"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        required = self.instance.required if self.instance is not None else {}
        for kind in PERSON_TYPES:
            self.fields[f"required_{kind}"] = forms.IntegerField(
                label=PersonType(kind).label, min_value=0, max_value=20, required=False,
                initial=required.get(kind, 0),
            )  # fmt: skip

    def head_count_fields(self) -> list[forms.BoundField]:
        return [self[f"required_{kind}"] for kind in PERSON_TYPES]

    def serializer_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {
            "school_id": self.school_id(cleaned),
            "name": cleaned["name"],
            "longitude": cleaned["longitude"],
            "latitude": cleaned["latitude"],
            "radius_m": cleaned["radius_m"],
            "required": {kind: cleaned.get(f"required_{kind}") or 0 for kind in PERSON_TYPES},
            "in_service_since": cleaned["in_service_since"],
            "is_active": cleaned.get("is_active", False),
        }


class TimetableForm(forms.ModelForm):
    """作息时间: classes start and dismissal, and how long before and after each the
    posts are staffed — the arrival and dismissal windows (RULES.md §3)."""

    class Meta:
        model = SchoolTimetable
        fields = [
            "class_starts_at", "dismissal_at", "arrival_lead_minutes", "arrival_tail_minutes",
            "dismissal_lead_minutes", "dismissal_tail_minutes",
        ]  # fmt: skip
        widgets = {
            "class_starts_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "dismissal_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
