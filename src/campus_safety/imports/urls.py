from django.urls import path

from campus_safety.imports import views

app_name = "imports"
urlpatterns = [
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("<str:kind>/", views.upload, name="upload"),
]
