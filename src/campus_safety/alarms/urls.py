"""The alarm console's pages (``/alarms/``); the REST API lives in ``api.py``."""

from django.urls import path

from campus_safety.alarms import statistics_views, views, wall

app_name = "alarms"
urlpatterns = [
    path("", wall.wall, name="wall"),
    path("cases/", wall.wall_cases, name="wall_cases"),
    path("unacknowledged.json", wall.unacknowledged, name="unacknowledged"),
    path("acknowledge/", wall.acknowledge_many, name="acknowledge_many"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/part/", views.case_part, name="case_part"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/dispatch/", views.dispatch_units, name="dispatch"),
    path("<int:pk>/en-route/", views.en_route, name="en_route"),
    path("<int:pk>/arrive/", views.arrive, name="arrive"),
    path("<int:pk>/close/", views.close, name="close"),
    path("drills/", views.drill_list, name="drills"),
    path("drills/devices/", views.drill_device_options, name="drill_devices"),
    path("statistics/", statistics_views.statistics_page, name="statistics"),
]
