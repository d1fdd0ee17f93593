from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campus_safety.orgs.models import School
from campus_safety.reports.summary import summary


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    data = summary(School.objects.visible_to(request.user))
    return render(request, "reports/overview.html", {"summary": data})
