"""The video app's REST API."""

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the shared router."""
