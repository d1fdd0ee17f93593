from django.urls import path

from campus_safety.patrols import grid_views, post_views, views

app_name = "patrols"
urlpatterns = [
    path("", post_views.posts_today, name="posts_today"),
    path("posts/live.json", post_views.posts_live, name="posts_live"),
    path("duty/", post_views.duty, name="duty"),
    path("duty/<int:pk>/check-in/", post_views.duty_check_in, name="check_in"),
    path("duty/<int:pk>/check-out/", post_views.duty_check_out, name="check_out"),
    path("rosters/", post_views.rosters, name="rosters"),
    path("rosters/generate/", post_views.roster_generate, name="roster_generate"),
    path("rosters/<int:pk>/swap/", post_views.roster_swap, name="roster_swap"),
    path("tours/", views.tours, name="tours"),
    path("tours/school/<int:pk>/", views.school_rounds, name="school_rounds"),
    path("tours/checkpoint/<int:pk>/qr.svg", views.checkpoint_qr, name="checkpoint_qr"),
    path("scan/", views.scan_home, name="scan_home"),
    path("scan/<int:pk>/", views.scan, name="scan"),
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/<int:pk>/acknowledge/", views.alarm_acknowledge, name="alarm_acknowledge"),
    path("alarms/<int:pk>/resolve/", views.alarm_resolve, name="alarm_resolve"),
    path("grid/", grid_views.grid, name="grid"),
    path("field-stops/", grid_views.field_stops, name="field_stops"),
]
