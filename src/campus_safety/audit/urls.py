from django.urls import path

from campus_safety.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.entry_list, name="entry_list"),
    path("export.xlsx", views.export, name="export"),
]
