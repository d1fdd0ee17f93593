"""Forms of the hazard pages: report (mobile-friendly, photo and the phone's location),
the workflow steps, campaigns and checklists. They parse; services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from campus_safety import clock
from campus_safety.devices.models import KeyArea
from campus_safety.hazards import checklists
from campus_safety.hazards.models import Hazard
from campus_safety.hazards.services import SOURCES_BY_SIDE, user_side
from campus_safety.orgs.models import Organisation
from campus_safety.web.widgets import DateInput, SchoolMultiPicker, SchoolPicker


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Any number of files (the service checks each one's content and counts them)."""

    widget = MultiplePhotoInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.attrs.update({"accept": "image/jpeg,image/png,image/webp"})

    def clean(self, data: Any, initial: Any = None) -> list:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(PhotosField, self).clean(f, initial) for f in files]


def _strip_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=_("Remove the photo's location data"),
        required=False,
        initial=True,
        help_text=_("Recommended: photos from phones carry the exact GPS position."),
    )


class ReportForm(forms.Form):
    """报告隐患 — one form for both kinds; the script shows the fields of the kind chosen."""

    kind = forms.ChoiceField(
        label=_("Where"), choices=Hazard.Kind.choices, widget=forms.RadioSelect
    )
    school = forms.ModelChoiceField(label=_("School"), queryset=None, widget=SchoolPicker)
    title = forms.CharField(label=_("Title"), max_length=120)
    category = forms.ChoiceField(label=_("Category"), choices=Hazard.Category.choices)
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Hazard.Severity.choices, initial=Hazard.Severity.MEDIUM
    )
    source = forms.ChoiceField(label=_("Found by"), choices=Hazard.Source.choices)
    key_area = forms.ChoiceField(
        label=_("Key area (GB/T 29315-2022)"),
        choices=[("", "—"), *KeyArea.choices],
        required=False,
    )
    facility = forms.CharField(
        label=_("Facility concerned"),
        max_length=80,
        required=False,
        help_text=_("e.g. one-key alarm, anti-ramming bollards"),
    )
    spot_kind = forms.ChoiceField(
        label=_("Trouble-spot kind"), choices=[("", "—"), *Hazard.SpotKind.choices], required=False
    )
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    distance_m = forms.IntegerField(
        label=_("Distance to the school gate (m)"), min_value=0, max_value=5000, required=False
    )
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000,
        required=False,
    )  # fmt: skip
    longitude = forms.FloatField(
        min_value=-180, max_value=180, required=False, widget=forms.HiddenInput
    )
    latitude = forms.FloatField(
        min_value=-90, max_value=90, required=False, widget=forms.HiddenInput
    )
    citizen_name = forms.CharField(label=_("Citizen's name"), max_length=64, required=False)
    citizen_phone = forms.RegexField(
        label=_("Citizen's phone"), regex=r"^[0-9+\- ]{5,20}$", required=False,
        error_messages={"invalid": _("Enter a phone number (digits only).")},
    )  # fmt: skip
    photos = PhotosField(label=_("Photos"))
    strip_location = _strip_field()

    def __init__(self, *args: Any, user: Any, schools: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools
        if getattr(user, "school_id", None):
            self.fields["school"].initial = user.school_id
            self.fields["school"].widget = forms.HiddenInput()
        side = user_side(user)
        if side is not None:
            allowed = SOURCES_BY_SIDE[side]
            self.fields["source"].choices = [
                (k, v) for k, v in Hazard.Source.choices if k in allowed
            ]
        self.fields["description"].widget.attrs["placeholder"] = _("What is wrong, and where?")


class AssignForm(forms.Form):
    responsible_kind = forms.ChoiceField(
        label=_("Responsible party"), choices=Hazard.Responsible.choices
    )
    organisation = forms.ModelChoiceField(label=_("Police station"), queryset=None, required=False)
    department = forms.CharField(label=_("Department"), max_length=120, required=False)
    deadline = forms.DateField(
        label=_("Deadline"),
        required=False,
        widget=DateInput,
        help_text=_("Empty: by severity"),
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(
            kind=Organisation.Kind.POLICE_STATION
        ).order_by("name")


def end_of_day(day: dt.date | None) -> dt.datetime | None:
    """A deadline date means the end of that (local) day."""
    if day is None:
        return None
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


class StepForm(forms.Form):
    """A note with optional photos and (on return) a new deadline."""

    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )
    photos = PhotosField(label=_("Evidence photos"))
    strip_location = _strip_field()
    deadline = forms.DateField(
        label=_("New deadline"),
        required=False,
        widget=DateInput,
    )


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    template = forms.ChoiceField(label=_("Checklist template"), choices=())
    source = forms.ChoiceField(label=_("Inspection by"), choices=())
    schools = forms.ModelMultipleChoiceField(
        label=_("Schools"), queryset=None, widget=SchoolMultiPicker(attrs={"size": 10})
    )
    starts_on = forms.DateField(label=_("Starts"), widget=DateInput)
    due_on = forms.DateField(label=_("Answers due"), widget=DateInput)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
        max_length=2000,
    )  # fmt: skip

    def __init__(self, *args: Any, user: Any, schools: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = checklists.template_choices()
        self.fields["schools"].queryset = schools
        side = user_side(user)
        sources = (
            SOURCES_BY_SIDE[side] - {Hazard.Source.CITIZEN_REPORT}
            if side
            else set(Hazard.Source.values)
        )
        self.fields["source"].choices = [(k, v) for k, v in Hazard.Source.choices if k in sources]
        today = clock.now().date()
        self.fields["starts_on"].initial = today
        self.fields["due_on"].initial = today + dt.timedelta(days=14)


class ChecklistForm(forms.Form):
    """One yes / no / n.a. question and a note per template item."""

    def __init__(self, *args: Any, items: tuple[checklists.Item, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            self.fields[f"answer_{item.code}"] = forms.ChoiceField(
                label=f"{item.code} {item.question}",
                choices=[("yes", _("Yes")), ("no", _("No")), ("na", _("Not applicable"))],
                widget=forms.RadioSelect,
            )
            self.fields[f"note_{item.code}"] = forms.CharField(
                label=_("Note"), max_length=500, required=False
            )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "item": item,
                "answer": self[f"answer_{item.code}"],
                "note": self[f"note_{item.code}"],
            }
            for item in self.items
        ]

    def answers(self) -> dict[str, tuple[str, str]]:
        return {
            item.code: (
                self.cleaned_data[f"answer_{item.code}"],
                self.cleaned_data.get(f"note_{item.code}", ""),
            )
            for item in self.items
        }
