"""出警统计 page: response times and false alarms per district for a chosen period.

A period (this month, the last three months, this year, or from–to days) and a
district narrow the user's visible cases; the page shows one row per district with a
total row, the charts of the same figures, and the schools with the most false alarms.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.alarms import charts, statistics
from campus_safety.alarms.models import AlarmCase
from campus_safety.orgs.map_data import county_regions_of
from campus_safety.orgs.models import School

FALSE_ALARM_SCHOOLS_SHOWN = 20
LONGEST_CUSTOM_PERIOD = dt.timedelta(days=3 * 366)


class StatisticsFilter(forms.Form):
    """The page's filter; days are local and inclusive."""

    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[
            ("this_month", _("This month")),
            ("last_3_months", _("Last three months")),
            ("this_year", _("This year")),
            ("custom", _("From – to")),
        ],
    )
    since = forms.DateField(label=_("From"), required=False, input_formats=["%Y-%m-%d"])
    until = forms.DateField(label=_("To"), required=False, input_formats=["%Y-%m-%d"])
    region = forms.ChoiceField(label=_("District"), required=False)

    def __init__(self, data, *, districts, today: dt.date) -> None:
        super().__init__(data)
        self.today = today
        self.fields["region"].choices = [("", _("All districts"))] + [
            (d.code, d.name) for d in districts
        ]

    def clean(self) -> dict:
        data = super().clean()
        period = data.get("period") or "this_month"
        data["period"] = period
        if period != "custom":
            data["since"], data["until"] = statistics.period_range(period, self.today)
            return data
        since, until = data.get("since"), data.get("until")
        if since is None or until is None:
            if not self.has_error("since") and not self.has_error("until"):
                raise forms.ValidationError(_("Give both days of the period."))
            return data
        if since > until:
            raise forms.ValidationError(_("The first day comes after the last day."))
        if until - since > LONGEST_CUSTOM_PERIOD:
            raise forms.ValidationError(_("Choose a period of at most three years."))
        return data


@login_required
@role_required("alarms")
@require_GET
def statistics_page(request: HttpRequest) -> HttpResponse:
    """出警统计 — time to acknowledge, dispatch and arrive per district, for a period."""
    schools = School.objects.visible_to(request.user)
    districts = list(county_regions_of(schools).order_by("code"))
    today = timezone.localdate(clock.now())
    form = StatisticsFilter(request.GET or None, districts=districts, today=today)
    if not form.is_bound:
        form = StatisticsFilter({"period": "this_month"}, districts=districts, today=today)
    if not form.is_valid():
        return render(
            request,
            "alarms/statistics.html",
            {
                "form": form,
                "districts": districts,
                "figures": None,
                "dates": {name: request.GET.get(name, "")[:10] for name in ("since", "until")},
            },
            status=400,
        )
    choice = form.cleaned_data
    cases = AlarmCase.objects.visible_to(request.user)
    cases = statistics.opened_between(cases, choice["since"], choice["until"])
    district = next((d for d in districts if d.code == choice["region"]), None)
    if district is not None:
        cases = cases.filter(school__region=district)
    figures = statistics.by_district(cases)
    return render(
        request,
        "alarms/statistics.html",
        {
            "form": form,
            "districts": districts,
            "district": district,
            "since": choice["since"],
            "until": choice["until"],
            "dates": {name: choice[name].isoformat() for name in ("since", "until")},
            "figures": figures,
            "by_school": statistics.false_alarm_rates(cases, by="school")[
                :FALSE_ALARM_SCHOOLS_SHOWN
            ],
            "charts": {
                "times": charts.response_times_by_district(figures),
                "false_alarms": charts.false_alarm_rate_by_district(figures),
            },
        },
    )
