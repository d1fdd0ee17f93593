"""Sets the audit actor for the duration of each request."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from campus_safety.audit.actor import Actor, _current, channel_of, client_ip


class AuditActorMiddleware:
    """Must sit after authentication; API token users are resolved lazily by DRF, so
    the actor's user is read when an entry is written (see services.record)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(
            Actor(
                user=_LazyUser(request),
                source_ip=client_ip(request),
                channel=channel_of(request.path),
            )
        )
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


class _LazyUser:
    """Resolves to whoever the request is authenticated as at the moment of writing."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def resolve(self):
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None
