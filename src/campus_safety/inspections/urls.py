from django.urls import path

from campus_safety.inspections import views

app_name = "inspections"
urlpatterns = [
    path("", views.home, name="home"),
    path("rules/", views.rule_set, name="rules"),
    path("schools/<int:pk>/", views.school, name="school"),
    path("results/<int:pk>/notice/", views.issue_from_result, name="issue_from_result"),
    path("patrols/", views.patrol_list, name="patrols"),
    path("patrols/<int:pk>/", views.patrol, name="patrol"),
    path("cameras/<int:pk>/snapshot/", views.snapshot, name="snapshot"),
    path("findings/<int:pk>/snapshot/", views.finding_snapshot, name="finding_snapshot"),
    path("notices/", views.notice_list, name="notices"),
    path("notices/<int:pk>/", views.notice, name="notice"),
    path("vqd/", views.vqd_list, name="vqd"),
    path("vqd/cameras/<int:pk>/", views.vqd_camera, name="vqd_camera"),
    path("vqd/cameras/<int:pk>/summary/", views.vqd_summary, name="vqd_summary"),
    path("vqd/checks/<int:pk>/picture/", views.vqd_picture, name="vqd_picture"),
]
