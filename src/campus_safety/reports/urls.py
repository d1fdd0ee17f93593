from django.urls import path

from campus_safety.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.overview, name="overview"),
]
