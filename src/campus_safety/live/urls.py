from django.urls import path

from campus_safety.live import views

app_name = "live"
urlpatterns = [path("stream", views.stream, name="stream")]
