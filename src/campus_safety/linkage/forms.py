"""Forms of the linkage pages: they parse, the services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campus_safety.linkage.models import (
    DisciplineRecord,
    DutyLog,
    EmergencyKind,
    Lecture,
    Notice,
)
from campus_safety.orgs.models import School
from campus_safety.web.widgets import DateInput, DateTimeInput, SchoolPicker


class SchoolsForm(forms.Form):
    """A form with a school field limited to the user's schools."""

    school = forms.ModelChoiceField(label=_("School"), queryset=None, widget=SchoolPicker)

    def __init__(self, *args: Any, schools: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools


class PoliceRoomForm(forms.Form):
    location = forms.CharField(label=_("Room"), max_length=120, required=False)
    auxiliary_officers = forms.CharField(
        label=_("Auxiliary officers"), max_length=200, required=False
    )
    counsellor_name = forms.CharField(
        label=_("Legal counsellor / vice-principal for rule of law"), max_length=64, required=False
    )
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    hours = forms.CharField(label=_("Opening hours"), max_length=80, required=False)


class DutyLogForm(forms.Form):
    kind = forms.ChoiceField(
        label=pgettext_lazy("linkage", "What was done"), choices=DutyLog.Kind.choices
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    problem_title = forms.CharField(
        label=_("Problem found (becomes a hazard)"), max_length=120, required=False
    )
    as_lead = forms.BooleanField(
        label=_("Also file the problem as an intel lead (police verify it)"), required=False
    )

    def __init__(self, *args: Any, may_lead: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_lead:
            del self.fields["as_lead"]


class DisciplineForm(forms.Form):
    """训诫教育 — the record an officer fills in on a phone."""

    student_name = forms.CharField(label=_("Student"), max_length=32)
    class_name = forms.CharField(label=_("Class"), max_length=40)
    age = forms.IntegerField(label=pgettext_lazy("linkage", "Age"), min_value=6, max_value=18)
    level = forms.ChoiceField(label=_("Level"), choices=DisciplineRecord.Level.choices)
    behaviour = forms.ChoiceField(label=_("Behaviour"), choices=DisciplineRecord.Behaviour.choices)
    occurred_on = forms.DateField(label=_("Occurred on"), widget=DateInput)
    facts = forms.CharField(
        label=_("Facts"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    guardian = forms.ChoiceField(label=_("Guardian"), choices=DisciplineRecord.Guardian.choices)
    measures = forms.MultipleChoiceField(
        label=_("Measures"),
        choices=DisciplineRecord.Measure.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    designated_contact = forms.ModelChoiceField(
        label=_("School's designated contact"), queryset=None
    )
    follow_up_on = forms.DateField(label=_("Follow-up visit on"), widget=DateInput, required=False)

    def __init__(self, *args: Any, contacts: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["designated_contact"].queryset = contacts


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Purpose of this read"), min_length=4, max_length=300)


class FollowUpForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), max_length=500)


class SealedSearchForm(forms.Form):
    student_name = forms.CharField(label=_("Student"), max_length=32, required=False)
    reference = forms.CharField(label=_("Reference"), max_length=20, required=False)
    reason = forms.CharField(label=_("Reason"), min_length=4, max_length=300)


class PlanForm(SchoolsForm):
    kind = forms.ChoiceField(label=_("Kind of emergency"), choices=EmergencyKind.choices)
    summary = forms.CharField(
        label=pgettext_lazy("linkage", "Summary"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class DrillForm(SchoolsForm):
    kind = forms.ChoiceField(label=_("Scenario"), choices=EmergencyKind.choices)
    held_at = forms.DateTimeField(label=_("Held"), widget=DateTimeInput)
    is_evacuation = forms.BooleanField(label=_("Evacuation drill"), required=False, initial=True)
    evacuation_seconds = forms.IntegerField(
        label=_("Time to evacuate (s)"), min_value=1, max_value=3600, required=False
    )
    participants = forms.IntegerField(label=_("Participants"), min_value=0, max_value=20000)
    problems = forms.CharField(
        label=_("Problems found"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    file_hazard = forms.BooleanField(label=_("File the problems as a hazard"), required=False)
    photo = forms.FileField(label=_("Photo"), required=False)


class JointDrillForm(SchoolsForm):
    kind = forms.ChoiceField(label=_("Scenario"), choices=EmergencyKind.choices)
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DateTimeInput)
    minutes = forms.IntegerField(label=_("Minutes"), min_value=5, max_value=480, initial=60)


class NoticeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Notice.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=120)
    body = forms.CharField(
        label=_("Text"), max_length=8000, widget=forms.Textarea(attrs={"rows": 5})
    )
    regions = forms.MultipleChoiceField(label=_("Districts"), required=False)
    kinds = forms.MultipleChoiceField(
        label=_("School kinds"),
        choices=School.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    schools = forms.ModelMultipleChoiceField(label=_("Schools"), queryset=None, required=False)
    units = forms.ModelMultipleChoiceField(
        label=_("Units to forward it to their schools"),
        queryset=None,
        required=False,
        help_text=_("District bureaus, sub-bureaus or police stations: each forwards it on."),
    )
    confirm_by = forms.DateTimeField(label=_("Confirm by"), widget=DateTimeInput, required=False)
    attachment = forms.FileField(label=_("Attachment"), required=False)

    def __init__(
        self,
        *args: Any,
        schools: Any = None,
        regions: Any = (),
        units: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["schools"].queryset = schools
        self.fields["regions"].choices = [(r.code, r.name) for r in regions]
        if units is None or not units.exists():
            del self.fields["units"]
        else:
            self.fields["units"].queryset = units


class ForwardForm(forms.Form):
    """A unit forwards a notice passed to it: to its own schools, and below it."""

    note = forms.CharField(
        label=_("Note on top"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    units = forms.ModelMultipleChoiceField(
        label=_("Also to the units below yours"), queryset=None, required=False
    )
    confirm_by = forms.DateTimeField(label=_("Confirm by"), widget=DateTimeInput, required=False)

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if units is None or not units.exists():
            del self.fields["units"]
        else:
            self.fields["units"].queryset = units


class ConfirmForm(forms.Form):
    reply = forms.CharField(label=_("Reply"), max_length=500, required=False)


class LectureForm(SchoolsForm):
    topic = forms.ChoiceField(label=_("Topic"), choices=Lecture.Topic.choices)
    held_on = forms.DateField(label=_("Date"), widget=DateInput)
    audience = forms.IntegerField(label=_("Audience"), min_value=1, max_value=20000)
    lecturer = forms.CharField(label=_("Lecturer"), max_length=64, required=False)
