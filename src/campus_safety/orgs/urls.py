from django.urls import path

from campus_safety.orgs import views

app_name = "orgs"
urlpatterns = [
    path("", views.school_list, name="school_list"),
]
