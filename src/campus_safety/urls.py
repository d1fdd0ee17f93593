from django.contrib import admin
from django.urls import include, path

from campus_safety import health
from campus_safety.audit import reveal_views
from campus_safety.gateway import http_ingest

admin.site.site_header = "校园安全联动平台"
admin.site.site_title = "校园安全联动平台"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/ingest", http_ingest.ingest_batch, name="ingest"),
    path("api/v1/", include("campus_safety.api_urls")),
    path(
        "accounts/reveal/<str:label>/<int:pk>/<str:field>/",  # audited: lives with the log
        reveal_views.reveal,
        name="reveal",
    ),
    path("accounts/", include("campus_safety.accounts.urls")),
    path("", include("campus_safety.orgs.urls")),  # /schools/import/<kind>/template.xlsx
    path("", include("campus_safety.workforce.school_urls")),  # /schools/… and /map/
    path("workforce/", include("campus_safety.workforce.urls")),
    path("devices/", include("campus_safety.devices.urls")),
    path("alarms/", include("campus_safety.alarms.urls")),
    path("hazards/", include("campus_safety.hazards.urls")),
    path("patrols/", include("campus_safety.patrols.urls")),
    path("audit/", include("campus_safety.audit.urls")),
    path("live/", include("campus_safety.live.urls")),
    path("imports/", include("campus_safety.imports.urls")),
    path("video/", include("campus_safety.video.urls")),
    path("gate/", include("campus_safety.gate.urls")),
    path("messages/", include("campus_safety.messaging.urls")),
    path("intel/", include("campus_safety.intel.urls")),
    path("inspections/", include("campus_safety.inspections.urls")),
    path("linkage/", include("campus_safety.linkage.urls")),
    path("", include("campus_safety.reports.urls")),
]
