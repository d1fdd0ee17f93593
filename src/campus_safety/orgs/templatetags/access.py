"""``{% if user|may_read:"guards" %}``: show a link or a section only to roles that may
read that kind of record (``accounts/roles.py``)."""

from django import template

from campus_safety.accounts.roles import READ, can

register = template.Library()


@register.filter
def may_read(user: object, resource: str) -> bool:
    return can(user, READ, resource)
