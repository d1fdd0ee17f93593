"""The shared form widgets (``web/widgets.py``): browser date inputs carry ISO values in
Chinese, and the school picker is a plain select for a few schools, a search box for many."""

import datetime as dt
import importlib
import inspect
import pkgutil
import re

import pytest
from django import forms
from django.utils import timezone, translation

import campus_safety
from campus_safety.web import widgets
from tests.factories import CountyFactory, SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 7)
MOMENT = timezone.make_aware(dt.datetime(2026, 12, 7, 9, 30))


def value_of(html: str, name: str) -> str:
    """The value attribute of the input named ``name`` ('' when there is none)."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag, f"no input {name}"
    found = re.search(r'value="([^"]*)"', tag.group(0))
    return found.group(1) if found else ""


def date_forms(user, schools):
    """Every form with a browser date input, filled with 7 December 2026 (09:30)."""
    from campus_safety.alarms.forms import TestWindowForm
    from campus_safety.devices.forms import MaintenanceForm
    from campus_safety.hazards.forms import AssignForm, CampaignForm, StepForm

    dates = {"starts_on": DAY, "due_on": DAY, "deadline": DAY}
    moments = {"starts_at": MOMENT, "ends_at": MOMENT}
    return {
        "hazards.AssignForm": (AssignForm(initial=dates), ["deadline"]),
        "hazards.StepForm": (StepForm(initial=dates), ["deadline"]),
        "hazards.CampaignForm": (
            CampaignForm(initial=dates, user=user, schools=schools),
            ["starts_on", "due_on"],
        ),
        "alarms.TestWindowForm": (
            TestWindowForm(initial=moments, user=user),
            ["starts_at", "ends_at"],
        ),
        "devices.MaintenanceForm": (
            MaintenanceForm(initial=moments, schools=schools),
            ["starts_at", "ends_at"],
        ),
    }


@pytest.fixture
def dispatcher_user(city):
    return UserFactory(role="dispatcher", region=city)


def test_every_date_input_shows_an_iso_value_in_chinese(dispatcher_user):
    """zh-Hans formats dates as 2026/12/07, which a date input drops: the form came up empty."""
    schools = SchoolFactory._meta.model.objects.all()
    with translation.override("zh-hans"):
        for name, (form, fields) in date_forms(dispatcher_user, schools).items():
            html = str(form)
            for field in fields:
                expected = "2026-12-07" if field.endswith("_on") or field == "deadline" else None
                value = value_of(html, field)
                if expected:
                    assert value == expected, (name, field, value)
                else:
                    assert value == "2026-12-07T09:30", (name, field, value)


def test_iso_values_typed_in_a_browser_are_read_back_in_chinese(dispatcher_user):
    """What the inputs send (ISO) validates whatever the language."""
    from campus_safety.devices.forms import MaintenanceForm
    from campus_safety.hazards.forms import StepForm

    school = SchoolFactory()
    schools = type(school).objects.all()
    with translation.override("zh-hans"):
        step = StepForm({"deadline": "2026-12-07"})
        assert step.is_valid(), step.errors
        assert step.cleaned_data["deadline"] == DAY
        window = MaintenanceForm(
            {
                "school": school.pk,
                "starts_at": "2026-12-07T09:30",
                "ends_at": "2026-12-07T11:00",
                "reason": "更换录像机",
            },
            schools=schools,
        )
        assert window.is_valid(), window.errors
        assert timezone.localtime(window.cleaned_data["starts_at"]).strftime("%H:%M") == "09:30"


def project_forms():
    """Every form class defined in the project's ``forms`` modules."""
    for info in pkgutil.walk_packages(campus_safety.__path__, "campus_safety."):
        if not info.name.endswith(".forms"):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                yield cls


def test_no_form_puts_a_localised_date_into_a_browser_date_input():
    """A new form's date field writes ISO (web.widgets does), or it is empty in Chinese again."""
    iso = {"date": ("%Y-%m-%d",), "datetime-local": ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")}
    wrong = []
    for cls in project_forms():
        for name, field in cls.base_fields.items():
            widget = field.widget
            kind = widget.attrs.get("type") or getattr(widget, "input_type", None)
            if kind in iso and getattr(widget, "format", None) not in iso[kind]:
                wrong.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert wrong == []


class OneSchool(forms.Form):
    school = forms.ModelChoiceField(queryset=None, widget=widgets.SchoolPicker)

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools


class SomeSchools(forms.Form):
    schools = forms.ModelMultipleChoiceField(queryset=None, widget=widgets.SchoolMultiPicker)

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["schools"].queryset = schools


def options(html: str) -> list[str]:
    return re.findall(r'<option value="(\d+)"', html)


def test_a_few_schools_stay_a_plain_select(city):
    county = CountyFactory()
    SchoolFactory.create_batch(widgets.PLAIN_SELECT_UP_TO, region=county)
    schools = SchoolFactory._meta.model.objects.filter(region=county)
    html = str(OneSchool(schools=schools)["school"])
    assert len(options(html)) == widgets.PLAIN_SELECT_UP_TO
    assert "data-school-picker" not in html


def test_many_schools_become_a_search_box_that_keeps_the_choice(city):
    county = CountyFactory()
    made = SchoolFactory.create_batch(widgets.PLAIN_SELECT_UP_TO + 1, region=county)
    schools = SchoolFactory._meta.model.objects.filter(region=county)
    with translation.override("zh-hans"):
        empty = str(OneSchool(schools=schools)["school"])
        chosen = str(OneSchool({"school": made[7].pk}, schools=schools)["school"])
    assert options(empty) == []
    assert 'data-school-picker="single"' in empty
    assert 'data-search-url="/schools/search.json"' in empty
    assert "学校" in re.search(r'data-placeholder="([^"]*)"', empty).group(1)
    assert options(chosen) == [str(made[7].pk)]
    assert made[7].name in chosen and "selected" in chosen


def test_the_picker_lists_no_school_outside_its_queryset(city):
    """A posted id from elsewhere (another scope, or garbage) is neither shown nor valid."""
    county = CountyFactory()
    SchoolFactory.create_batch(widgets.PLAIN_SELECT_UP_TO + 1, region=county)
    elsewhere = SchoolFactory(name="别处学校")
    schools = SchoolFactory._meta.model.objects.filter(region=county)
    for value in (elsewhere.pk, "1; DROP", "abc"):
        form = OneSchool({"school": value}, schools=schools)
        assert options(str(form["school"])) == []
        assert not form.is_valid()
    assert "别处学校" not in str(OneSchool({"school": elsewhere.pk}, schools=schools)["school"])


def test_a_campaign_keeps_its_chosen_schools_in_the_multiple_picker(city):
    county = CountyFactory()
    made = SchoolFactory.create_batch(widgets.PLAIN_SELECT_UP_TO + 5, region=county)
    schools = SchoolFactory._meta.model.objects.filter(region=county)
    form = SomeSchools({"schools": [made[1].pk, made[3].pk]}, schools=schools)
    html = str(form["schools"])
    assert sorted(options(html)) == sorted([str(made[1].pk), str(made[3].pk)])
    assert 'data-school-picker="multiple"' in html and "multiple" in html
    assert form.is_valid()
    assert {s.pk for s in form.cleaned_data["schools"]} == {made[1].pk, made[3].pk}


def test_the_forms_that_pick_a_school_use_the_picker():
    from campus_safety.alarms.forms import TestWindowForm
    from campus_safety.devices.forms import ApproveForm, MaintenanceForm
    from campus_safety.hazards.forms import CampaignForm, ReportForm

    for cls, name in [
        (ReportForm, "school"),
        (CampaignForm, "schools"),
        (TestWindowForm, "school"),
        (ApproveForm, "school"),
        (MaintenanceForm, "school"),
    ]:
        assert isinstance(cls.base_fields[name].widget, widgets.SchoolPicker), cls


def test_the_list_filters_by_school_use_the_picker():
    from campus_safety.devices.filters import DeviceFilter
    from campus_safety.hazards.filters import HazardFilter

    for filterset in (HazardFilter, DeviceFilter):
        assert filterset.base_filters["school"].extra["widget"] is widgets.SchoolPicker
