from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campus_safety.orgs.models import School


@login_required
def school_list(request: HttpRequest) -> HttpResponse:
    schools = School.objects.visible_to(request.user)[:50]
    return render(request, "orgs/school_list.html", {"schools": schools})
