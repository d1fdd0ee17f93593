"""REST API of the app (registered on the shared /api/v1/ router)."""

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the shared router."""
