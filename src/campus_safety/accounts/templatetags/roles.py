"""The role table (roles.py) in templates, for the navigation and the pages' buttons:
``{% if user|may:"import schools" %}``, ``{% if user|may_read:"guards" %}``, and whether
the user has finished signing in (both factors) so the pages are open to them at all."""

from django import template

from campus_safety.accounts import two_factor
from campus_safety.accounts.roles import READ, can

register = template.Library()


@register.filter
def may(user, action_and_resource: str) -> bool:
    action, _, resource = action_and_resource.partition(" ")
    return can(user, action, resource)


@register.filter
def may_read(user: object, resource: str) -> bool:
    """``{% if user|may_read:"guards" %}``: the role table allows reading ``resource``."""
    return can(user, READ, resource)


@register.filter
def signed_in_fully(user: object) -> bool:
    """Signed in, and past the second factor when the role needs one."""
    if not getattr(user, "is_authenticated", False):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not two_factor.required_for(user) or bool(is_verified and is_verified())
