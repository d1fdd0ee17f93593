"""``{% if user|may:"import schools" %}``: the role table (roles.py) in templates."""

from django import template

from campus_safety.accounts.roles import can

register = template.Library()


@register.filter
def may(user, action_and_resource: str) -> bool:
    action, _, resource = action_and_resource.partition(" ")
    return can(user, action, resource)
