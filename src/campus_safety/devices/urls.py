from django.urls import path

from campus_safety.devices import views

app_name = "devices"
urlpatterns = [
    path("", views.device_list, name="device_list"),
    path("<int:pk>/", views.device_detail, name="device_detail"),
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
    path("import/", views.import_page, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
]
