"""The SMS page: the messages of the user's scope — to whom (masked), what for, whether
it went out, and why not — so a school can answer "was the guardian told?"."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from campus_safety.accounts.access import role_required
from campus_safety.messaging.models import OutboundMessage
from campus_safety.web import listing


@login_required
@role_required("pickups")
@require_GET
def message_list(request: HttpRequest) -> HttpResponse:
    rows = OutboundMessage.objects.visible_to(request.user).select_related("school")
    state = request.GET.get("state", "")
    if state in OutboundMessage.State.values:
        rows = rows.filter(state=state)
    purpose = request.GET.get("purpose", "")
    if purpose in OutboundMessage.Purpose.values:
        rows = rows.filter(purpose=purpose)
    page, page_links = listing.paginate(request, rows.order_by("-created_at", "-pk"))
    return listing.render_list(
        request,
        "messaging/messages.html",
        "messaging/_message_table.html",
        {
            "page": page,
            "rows": list(page.object_list),
            "page_links": page_links,
            "neighbours": listing.neighbour_queries(request, page),
            "state": state,
            "states": OutboundMessage.State.choices,
            "purpose": purpose,
            "purposes": OutboundMessage.Purpose.choices,
        },
    )
