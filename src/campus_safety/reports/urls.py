from django.urls import path

from campus_safety.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("report/summary/", views.summary_report, name="summary"),
    path("report/summary.json", views.summary_json, name="summary_json"),
    path("report/summary.xlsx", views.summary_xlsx, name="summary_xlsx"),
]
