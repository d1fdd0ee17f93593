"""Unmasking one personal-data field (phone, national ID) on request: a separate,
deliberate and audited act, allowed only to roles that need it (roles.py, REVEAL)."""

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from campus_safety.accounts.roles import REVEAL, can
from campus_safety.audit.services import record
from campus_safety.scoping import get_visible_or_404

REVEALABLE = {
    "orgs.school": {"principal_phone", "security_director_phone", "police_room_phone"},
    "workforce.guard": {"phone", "id_number"},
}


@login_required
@require_POST
def reveal(request: HttpRequest, label: str, pk: int, field: str) -> HttpResponse:
    if field not in REVEALABLE.get(label, set()):
        raise Http404
    model = apps.get_model(label)
    obj = get_visible_or_404(model, request.user, pk=pk)
    if not can(request.user, REVEAL, "personal_data"):
        record("personal_data.reveal", obj, outcome="denied", detail={"field": field})
        raise PermissionDenied
    record("personal_data.reveal", obj, detail={"field": field})
    return HttpResponse(format_html('<span class="revealed">{}</span>', getattr(obj, field)))
