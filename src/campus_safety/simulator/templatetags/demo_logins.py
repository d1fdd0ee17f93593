"""``{% demo_logins %}``: the demo accounts on the login page, in demo mode only.

The accounts are the simulator's (demo_users.py); the page is the accounts app's, which
must not import the demo, so the page loads this tag library instead. Outside demo
mode the tag renders nothing.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from campus_safety.accounts.models import User
from campus_safety.simulator.demo_users import DEMO_USERS, PASSWORD, TOTP_SECRET

register = template.Library()


@register.inclusion_tag("simulator/_demo_logins.html")
def demo_logins() -> dict[str, Any]:
    if not settings.DEMO_MODE:
        return {"is_demo": False}
    exempt = settings.TWO_FACTOR_EXEMPT_ROLES
    return {
        "is_demo": True,
        "password": PASSWORD,
        "totp_secret": TOTP_SECRET,
        "accounts": [
            {
                "username": demo.username,
                "role": User.Role(demo.role).label,
                "needs_code": demo.role not in exempt,
            }
            for demo in DEMO_USERS
        ],
    }
