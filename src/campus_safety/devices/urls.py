from django.urls import path

from campus_safety.devices import views
from campus_safety.web import spreadsheet_views as import_views

app_name = "devices"
urlpatterns = [
    path("", views.device_list, name="device_list"),
    path("new/", views.device_new, name="device_new"),
    path("<int:pk>/", views.device_detail, name="device_detail"),
    path("<int:pk>/edit/", views.device_edit, name="device_edit"),
    path("<int:pk>/query/", views.device_query, name="device_query"),
    path("<int:pk>/snapshot.jpg", views.device_snapshot, name="device_snapshot"),
    path("online-rate/", views.online_rate, name="online_rate"),
    path("faults/", views.fault_list, name="faults"),
    path("pending/", views.pending_list, name="pending"),
    path("pending/<int:pk>/approve/", views.approve, name="approve"),
    path("pending/<int:pk>/reject/", views.reject, name="reject"),
    path("maintenance/", views.maintenance, name="maintenance"),
    path("map/", views.device_map, name="map"),
    path("map.geojson", views.device_map_data, name="map_data"),
    # The device registry's import template (devices/imports.py); the upload page is
    # the imports app's, shared by every registry.
    path(
        "import/template.xlsx",
        import_views.template_download,
        {"kind": "devices"},
        name="import_template",
    ),
]
