"""Forms of the alarm console (报警处置台): each step a dispatcher or a school takes.

The forms only validate what a person typed; the steps themselves run through
``workflow`` so the console, the API and the timers share one set of rules.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campus_safety.alarms.models import AlarmCase, PoliceUnit, TestWindow
from campus_safety.devices.models import Device
from campus_safety.orgs.models import School
from campus_safety.web.widgets import DateTimeInput, SchoolPicker

State = AlarmCase.State


class DispatchForm(forms.Form):
    """One or more available units, chosen among those the user may see."""

    units = forms.ModelMultipleChoiceField(
        label=_("Police units"),
        queryset=PoliceUnit.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one police unit.")},
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = PoliceUnit.objects.visible_to(user).filter(
            is_available=True
        )


class CaseIdsField(forms.Field):
    """The case numbers ticked on the wall (``cases=12&cases=15``), at most ``limit``."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, limit: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit = limit

    def to_python(self, value: Any) -> list[int]:
        ids: list[int] = []
        for item in value or []:
            text = str(item).strip()
            # ASCII digits that fit a (64-bit) id; anything else is not a case number
            if not (text.isascii() and text.isdigit() and len(text) < 19 and int(text) > 0):
                raise forms.ValidationError(
                    _("“%(value)s” is not a case number."), params={"value": text[:20]}
                )
            if int(text) not in ids:
                ids.append(int(text))
        if len(ids) > self.limit:
            raise forms.ValidationError(
                _("Tick at most %(limit)s cases at a time."), params={"limit": self.limit}
            )
        return ids


class BulkAcknowledgeForm(forms.Form):
    """批量签收 — the cases a supervisor ticked on the wall, in the order shown."""

    LIMIT = 500

    cases = CaseIdsField(
        limit=LIMIT,
        label=_("Cases"),
        error_messages={"required": _("Tick at least one case to acknowledge.")},
    )


class UnitStepForm(forms.Form):
    """En route / arrived for one dispatched unit (empty unit on arrival = every unit)."""

    unit = forms.IntegerField(required=False, min_value=1)


class CloseForm(forms.Form):
    """Closing needs an outcome and a written disposition (GB 50394 5.2.3)."""

    outcome = forms.ChoiceField(
        label=_("Outcome"),
        widget=forms.RadioSelect,
        choices=[
            (State.RESOLVED, _("Resolved")),
            (State.FALSE_ALARM, _("False alarm")),
        ],
        initial=State.RESOLVED,
    )
    disposition = forms.CharField(
        label=_("Disposition"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened and what was done: this is the case record."),
        error_messages={"required": _("Write what happened before closing the case.")},
    )

    def __init__(self, *args: Any, case: AlarmCase | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if case is not None and case.is_test:
            # A drill closes as a drill: the workflow keeps it ``test`` whatever is chosen.
            self.fields["outcome"].choices = [(State.TEST, _("Test (drill)"))]
            self.fields["outcome"].initial = State.TEST

    def clean_disposition(self) -> str:
        text = (self.cleaned_data.get("disposition") or "").strip()
        if not text:
            raise forms.ValidationError(_("Write what happened before closing the case."))
        return text


def drill_devices(user: Any, school: School | None) -> QuerySet[Device]:
    """The alarm devices of one school in ``user``'s scope that a drill can cover (none
    until a school is chosen)."""
    if school is None:
        return Device.objects.none()
    return (
        Device.objects.visible_to(user)
        .filter(school=school, kind__in=[Device.Kind.ONE_KEY_ALARM, Device.Kind.EMERGENCY_BUTTON])
        .order_by("name")
    )


class TestWindowForm(forms.ModelForm):
    """Plan a drill at a school in scope (optionally one device of it)."""

    __test__ = False

    class Meta:
        model = TestWindow
        fields = ["school", "device", "starts_at", "ends_at", "reason"]
        labels = {"school": _("School"), "device": _("Device")}
        widgets = {"school": SchoolPicker, "starts_at": DateTimeInput, "ends_at": DateTimeInput}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = School.objects.visible_to(user).order_by("name")
        self.fields["school"].queryset = schools
        if not self.is_bound and not self.initial.get("school"):
            only = list(schools.values_list("pk", flat=True)[:2])
            if len(only) == 1:  # a school's administrator: its own school, chosen
                self.initial["school"] = only[0]
        # The device list follows the chosen school (a dispatcher's scope holds hundreds
        # of alarms): only that school's devices are offered, and only they validate.
        self.fields["device"].queryset = drill_devices(user, self._chosen_school())
        self.fields["device"].required = False
        self.fields["device"].empty_label = _("every alarm device of the school")
        self.fields["device"].widget.attrs.update(
            {
                "hx-get": reverse("alarms:drill_devices"),
                "hx-trigger": "change from:#id_school",
                "hx-include": "#id_school",
                "hx-target": "this",
                "hx-swap": "innerHTML",
            }
        )
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]

    def _chosen_school(self) -> School | None:
        """The school the form is for (the one posted, else the initial one), read by the
        school field itself: one in the user's scope, or None for anything else."""
        value = (
            self.data.get(self.add_prefix("school"))
            if self.is_bound
            else self.initial.get("school")
        )
        try:
            return self.fields["school"].clean(value)
        except forms.ValidationError:
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("A window ends after it starts."))
        school, device = data.get("school"), data.get("device")
        if device is not None and school is not None and device.school_id != school.pk:
            self.add_error("device", _("The device is not at this school."))
        return data
