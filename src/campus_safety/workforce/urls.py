from django.urls import path

from campus_safety.workforce import views

app_name = "workforce"
urlpatterns = [
    path("", views.guard_list, name="guard_list"),
    path("equipment/", views.equipment, name="equipment"),
    path("staffing/", views.staffing, name="staffing"),
]
