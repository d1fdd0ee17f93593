"""The citizen tip form, the lead step form, the manual incident and operation forms:
they parse; the services check scope and write."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campus_safety import clock
from campus_safety.intel import services
from campus_safety.intel.dispatch_import import FIELDS
from campus_safety.intel.models import (
    CoordinateSystem,
    DispatchSource,
    Incident,
    IncidentKind,
    Lead,
    OperationEntry,
    Person,
)
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.web.widgets import DateInput, DateTimeInput, SchoolMultiPicker, SchoolPicker


class TipForm(forms.Form):
    summary = forms.CharField(
        label=_("What happened"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", "—"), *IncidentKind.choices], required=False
    )
    address = forms.CharField(label=_("Where"), max_length=200, required=False)
    latitude = forms.FloatField(
        min_value=-90, max_value=90, required=False, widget=forms.HiddenInput
    )
    longitude = forms.FloatField(
        min_value=-180, max_value=180, required=False, widget=forms.HiddenInput
    )
    name = forms.CharField(label=_("Your name (optional)"), max_length=64, required=False)
    phone = forms.RegexField(
        label=_("Your phone (optional)"), regex=r"^[0-9+\- ]{5,20}$", required=False
    )
    photo = forms.FileField(label=_("Photo (optional)"), required=False)

    def clean(self):
        data = super().clean()
        photo = data.get("photo")
        if photo:
            from campus_safety.hazards.uploads import PhotoRejected, check_photo

            try:
                checked = check_photo(photo, strip_location=True)
            except PhotoRejected as exc:
                self.add_error("photo", str(exc))
            else:
                data["photo_file"] = checked.content
        return data


class LeadStepForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("triage", _("Triage")),
            ("verify", _("Start verification")),
            ("convert", _("Turn into an incident")),
            ("merge", _("Merge into an incident")),
            ("dismiss", _("Dismiss")),
        ]
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Lead.Priority.choices, required=False)
    incident = forms.CharField(
        label=_("Incident reference (to merge)"), max_length=24, required=False
    )
    note = forms.CharField(label=_("Note or reason"), max_length=400, required=False)


class IncidentForm(forms.Form):
    """A police officer's manual entry of an incident: a school (its gate is the place)
    or coordinates, and up to five involved persons (``PersonFormSet``)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=IncidentKind.choices)
    occurred_at = forms.DateTimeField(label=_("Occurred"), widget=DateTimeInput)
    school = forms.ModelChoiceField(
        label=_("Near school"),
        queryset=School.objects.none(),
        required=False,
        widget=SchoolPicker,
        help_text=_("Or give the coordinates below."),
    )
    latitude = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90, required=False)
    longitude = forms.FloatField(
        label=_("Longitude"), min_value=-180, max_value=180, required=False
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    summary = forms.CharField(
        label=_("Summary"), max_length=4000, required=False, widget=forms.Textarea({"rows": 4})
    )

    def __init__(self, *args: Any, schools: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools if schools is not None else School.objects.none()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lat, lon, school = data.get("latitude"), data.get("longitude"), data.get("school")
        if (lat is None) != (lon is None):
            raise forms.ValidationError(_("Give both latitude and longitude."))
        if lat is None:
            if school is None or school.latitude is None:
                raise forms.ValidationError(_("Choose a school or give the coordinates."))
            data["latitude"], data["longitude"] = school.latitude, school.longitude
        occurred = data.get("occurred_at")
        if occurred and occurred > clock.now() + dt.timedelta(minutes=5):
            self.add_error("occurred_at", _("The time is in the future."))
        return data


class IncidentEditForm(forms.Form):
    """Editing a recorded incident: what it was, where, how it stands and ended."""

    kind = forms.ChoiceField(label=_("Kind"), choices=IncidentKind.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Incident.Status.choices)
    outcome = forms.CharField(label=_("Outcome"), max_length=400, required=False)
    latitude = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90)
    longitude = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    summary = forms.CharField(
        label=_("Summary"), max_length=4000, required=False, widget=forms.Textarea({"rows": 4})
    )

    @classmethod
    def initial_for(cls, incident: Incident) -> dict[str, Any]:
        return {name: getattr(incident, name) for name in cls.base_fields}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("status") in (Incident.Status.SOLVED, Incident.Status.CLOSED)
            and not (data.get("outcome") or "").strip()
        ):
            self.add_error("outcome", _("Say how it ended before solving or closing it."))
        return data


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("Purpose of this read"),
        min_length=services.REVEAL_REASON_MIN,
        max_length=services.REVEAL_REASON_MAX,
    )


class PersonForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=[("", "—"), *Person.Role.choices])
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=64, required=False)
    id_number = forms.RegexField(
        label=_("ID number"),
        regex=r"^[0-9]{17}[0-9Xx]$|^[0-9]{15}$",
        required=False,
        error_messages={"invalid": _("Enter an 18-digit resident ID number.")},
    )
    phone = forms.RegexField(label=_("Phone"), regex=r"^[0-9+\- ]{5,20}$", required=False)
    is_minor = forms.BooleanField(label=_("Minor"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("role"):
            if any(data.get(k) for k in ("name", "id_number", "phone")):
                self.add_error("role", _("Say whether this is a suspect, victim or witness."))
            return data
        if not any(data.get(k) for k in ("name", "id_number", "phone")):
            self.add_error("name", _("Give a name, an ID number or a phone."))
        if data.get("id_number"):
            data["id_number"] = data["id_number"].upper()
        return data


PersonFormSet = forms.formset_factory(PersonForm, extra=3, max_num=20, validate_max=True)


class OperationForm(forms.Form):
    """专项打击整治: area (schools in scope, districts the author covers, or a drawn
    polygon), period, target kinds, responsible units."""

    name = forms.CharField(label=_("Name"), max_length=120)
    starts_on = forms.DateField(label=_("Starts"), widget=DateInput)
    ends_on = forms.DateField(label=_("Ends"), widget=DateInput)
    schools = forms.ModelMultipleChoiceField(
        label=_("Schools"), queryset=School.objects.none(), required=False, widget=SchoolMultiPicker
    )
    regions = forms.ModelMultipleChoiceField(
        label=_("Districts"), queryset=Region.objects.none(), required=False
    )
    polygon = forms.CharField(
        label=_("Drawn area"),
        required=False,
        max_length=20000,
        widget=forms.Textarea({"rows": 2, "data-draw-polygon": "operation-draw-map"}),
        help_text=_(
            "Click the map to draw the area point by point (at least 3), or paste the "
            "points as JSON, e.g. [[37.45, 116.30], [37.46, 116.31], [37.44, 116.32]]."
        ),
    )
    target_kinds = forms.MultipleChoiceField(
        label=_("Target kinds"),
        choices=IncidentKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    units = forms.ModelMultipleChoiceField(
        label=_("Responsible units"), queryset=Organisation.objects.none(), required=False
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=4000, required=False, widget=forms.Textarea({"rows": 3})
    )

    def __init__(
        self, *args: Any, schools: Any = None, regions: Any = None, units: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["schools"].queryset = schools if schools is not None else School.objects.none()
        self.fields["regions"].queryset = regions if regions is not None else Region.objects.none()
        self.fields["units"].queryset = units if units is not None else Organisation.objects.none()

    def clean_polygon(self) -> list:
        raw = self.cleaned_data.get("polygon", "").strip()
        if not raw:
            return []
        try:
            value = json.loads(raw)
        except ValueError:
            raise forms.ValidationError(_("The drawn area is not valid JSON.")) from None
        try:
            return services.clean_polygon(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


class OperationEntryForm(forms.Form):
    """What a special operation did: a lead taken up, arrests, a patrol."""

    kind = forms.ChoiceField(label=_("Record"), choices=OperationEntry.Kind.choices)
    day = forms.DateField(label=_("Date"), widget=DateInput)
    lead = forms.CharField(
        label=_("Lead reference"),
        max_length=24,
        required=False,
        help_text=_("For a lead: its reference, e.g. XS20260501-1A2B3C."),
    )
    incident = forms.CharField(
        label=_("Incident reference (optional)"), max_length=24, required=False
    )
    persons = forms.IntegerField(
        label=_("Persons"),
        min_value=0,
        max_value=1000,
        required=False,
        help_text=_("Arrests: persons arrested; patrol: officers."),
    )
    hours = forms.FloatField(label=_("Hours (patrol)"), min_value=0, max_value=24, required=False)
    place = forms.CharField(label=_("Place or route"), max_length=200, required=False)
    note = forms.CharField(label=_("Note"), max_length=400, required=False)


class DispatchImportForm(forms.Form):
    """A 110 export with its source's column mapping (filled from the saved one)."""

    source = forms.ModelChoiceField(
        label=_("110 source"), queryset=DispatchSource.objects.all(), required=False
    )
    new_source = forms.CharField(label=_("Or a new source named"), max_length=80, required=False)
    kind_map = forms.CharField(
        label=_("Categories"),
        required=False,
        max_length=5000,
        widget=forms.Textarea({"rows": 4}),
        help_text=_(
            "One per line: the export's category = the incident kind, e.g. 盗窃案=theft. "
            "Categories not listed are recognised by their words (盗窃, 抢劫, 诈骗…)."
        ),
    )
    coordinate_system = forms.ChoiceField(
        label=_("Coordinate system"),
        choices=CoordinateSystem.choices,
        initial=CoordinateSystem.WGS84,
        required=False,
        help_text=_(
            "What the export's longitude and latitude are in: GCJ-02 and BD-09 are "
            "converted to WGS-84 on import."
        ),
    )
    file = forms.FileField(label=_("Export (.csv or .xlsx)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label, required in FIELDS:
            self.fields[f"col_{key}"] = forms.CharField(
                label=_("Column for: %(field)s") % {"field": label},
                max_length=80,
                required=required,
            )
        # the source, its column mapping, its categories, then the file
        columns = [k for k in self.fields if k.startswith("col_")]
        self.order_fields(
            ["source", "new_source", *columns, "coordinate_system", "kind_map", "file"]
        )

    @staticmethod
    def initial_for(source: DispatchSource | None) -> dict[str, Any]:
        if source is None:
            return {}
        initial: dict[str, Any] = {f"col_{k}": v for k, v in source.column_map.items()}
        initial["source"] = source.pk
        initial["coordinate_system"] = source.coordinate_system
        labels = dict(IncidentKind.choices)  # shown in the reader's language
        initial["kind_map"] = "\n".join(
            f"{k}={labels.get(v, v)}" for k, v in source.kind_map.items()
        )
        return initial

    def clean_kind_map(self) -> dict[str, str]:
        by_name = {str(label): value for value, label in IncidentKind.choices}
        by_name.update({value: value for value in IncidentKind.values})
        mapping: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data.get("kind_map", "").splitlines(), 1):
            if not line.strip():
                continue
            category, sep, kind = line.partition("=")
            if not sep or not category.strip() or kind.strip() not in by_name:
                raise forms.ValidationError(
                    _("Line %(n)s: write category=kind with a known kind.") % {"n": number}
                )
            mapping[category.strip()] = by_name[kind.strip()]
        return mapping

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("source") and not (data.get("new_source") or "").strip():
            raise forms.ValidationError(_("Choose the 110 source or name a new one."))
        data["coordinate_system"] = data.get("coordinate_system") or CoordinateSystem.WGS84
        data["column_map"] = {
            key: data[f"col_{key}"].strip()
            for key, _label, _req in FIELDS
            if (data.get(f"col_{key}") or "").strip()
        }
        return data
