from django.urls import path

from campus_safety.patrols import grid_views, post_views, setup_views, views

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
    path("grid/record/", grid_views.patrol_record, name="patrol_record"),
    path("field-stops/", grid_views.field_stops, name="field_stops"),
    path("field-stops/new/", grid_views.field_stop_new, name="field_stop_new"),
    # A school's set-up: tour checkpoints, routes, plans; 护学岗 posts and windows.
    path("setup/checkpoints/", setup_views.checkpoints, name="checkpoints"),
    path("setup/checkpoints/new/", setup_views.checkpoint_new, name="checkpoint_new"),
    path("setup/checkpoints/<int:pk>/edit/", setup_views.checkpoint_edit, name="checkpoint_edit"),
    path("setup/routes/", setup_views.routes, name="routes"),
    path("setup/routes/new/", setup_views.route_new, name="route_new"),
    path("setup/routes/<int:pk>/edit/", setup_views.route_edit, name="route_edit"),
    path("setup/plans/", setup_views.plans, name="plans"),
    path("setup/plans/new/", setup_views.plan_new, name="plan_new"),
    path("setup/plans/<int:pk>/edit/", setup_views.plan_edit, name="plan_edit"),
    path("setup/posts/", setup_views.posts, name="posts"),
    path("setup/posts/new/", setup_views.post_new, name="post_new"),
    path("setup/posts/<int:pk>/edit/", setup_views.post_edit, name="post_edit"),
    path("setup/schools/<int:pk>/windows/", setup_views.timetable_edit, name="timetable_edit"),
]
