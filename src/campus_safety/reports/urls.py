from django.urls import path

from campus_safety.reports import school_home, views

app_name = "reports"
urlpatterns = [
    path("", views.home, name="home"),
    path("overview/", views.overview, name="overview"),
    path("schools/<int:pk>/home/", school_home.school_home, name="school_home"),
    path("report/summary/", views.summary_report, name="summary"),
    path("report/summary.json", views.summary_json, name="summary_json"),
    path("report/summary.xlsx", views.summary_xlsx, name="summary_xlsx"),
]
