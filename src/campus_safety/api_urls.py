"""``/api/v1/``: every app's API viewsets on one router, plus the OpenAPI schema."""

from django.urls import include, path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from campus_safety.alarms import api as alarms_api
from campus_safety.devices import api as devices_api
from campus_safety.gate import api as gate_api
from campus_safety.hazards import api as hazards_api
from campus_safety.inspections import api as inspections_api
from campus_safety.intel import api as intel_api
from campus_safety.linkage import api as linkage_api
from campus_safety.orgs import api as orgs_api
from campus_safety.patrols import api as patrols_api
from campus_safety.reports import api as reports_api
from campus_safety.video import api as video_api
from campus_safety.workforce import api as workforce_api


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Tells the schema (and Swagger UI's Authorize button) about personal API tokens."""

    target_class = "campus_safety.accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "cs_<prefix>_<secret>"}


router = DefaultRouter()
for module in (
    orgs_api,
    workforce_api,
    reports_api,
    alarms_api,
    devices_api,
    hazards_api,
    patrols_api,
    video_api,
    gate_api,
    intel_api,
    inspections_api,
    linkage_api,
):
    module.register(router)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]
