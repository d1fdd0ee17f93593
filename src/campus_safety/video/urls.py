from django.urls import path

from campus_safety.video import views

app_name = "video"
urlpatterns = [
    path("", views.wall, name="wall"),
    path("cameras/<int:pk>/", views.camera_live, name="camera"),
    path("cameras/<int:pk>/start/", views.start, name="start"),
    path("cameras/<int:pk>/ptz/", views.ptz_control, name="ptz"),
    path("cameras/<int:pk>/presets/", views.presets, name="presets"),
    path("cameras/<int:pk>/presets/read/", views.presets_read, name="presets_read"),
    path("cameras/<int:pk>/recordings/", views.recordings, name="recordings"),
    path("cameras/<int:pk>/playback/", views.playback_control, name="playback"),
    path("cameras/<int:pk>/download/", views.download_start, name="download_start"),
    path("downloads/<str:download_id>/", views.download, name="download"),
    path("stream/<str:token>/", views.stream, name="stream"),
    path("cluster/holder/", views.holder, name="holder"),
]
