"""``{% alarm_cameras case %}``: the alarm point's linked cameras, live, on the alarm
case page (alarms may use video; video never imports alarms)."""

from __future__ import annotations

from typing import Any

from django import template

from campus_safety.accounts.roles import READ, can
from campus_safety.video import services
from campus_safety.video.views import tile

register = template.Library()


@register.inclusion_tag("video/_alarm_cameras.html", takes_context=True)
def alarm_cameras(context: dict[str, Any], case: Any) -> dict[str, Any]:
    user = context["request"].user
    if not can(user, READ, "video"):
        return {"tiles": []}
    cameras = services.linked_cameras(case.device, user)
    replay_from = 0
    if can(user, READ, "video_playback") and case.opened_at is not None:
        replay_from = int(case.opened_at.timestamp()) - 30  # 30 s before the alarm
    return {
        "tiles": [tile(c) for c in cameras],
        "why": f"alarm case {case.pk}",
        "replay_from": replay_from,
    }
