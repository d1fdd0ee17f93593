"""Linkage pages: /linkage/ …"""

from django.urls import path

from campus_safety.linkage import discipline_views, views

app_name = "linkage"
urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/", views.room_list, name="rooms"),
    path("rooms/<int:pk>/", views.room_detail, name="room_detail"),
    path("discipline/", discipline_views.record_list, name="discipline"),
    path("discipline/new/", discipline_views.record_new, name="discipline_new"),
    path("discipline/sealed/", discipline_views.sealed_search, name="sealed"),
    path("discipline/<int:pk>/", discipline_views.record_detail, name="discipline_detail"),
    path(
        "discipline/<int:pk>/guardian-notice/",
        discipline_views.guardian_notice,
        name="guardian_notice",
    ),
    path("discipline/<int:pk>/unseal/", discipline_views.unseal_request, name="unseal_request"),
    path(
        "discipline/follow-ups/<int:pk>/done/",
        discipline_views.follow_up_done,
        name="follow_up_done",
    ),
    path(
        "discipline/unseal/<int:pk>/approve/",
        discipline_views.unseal_approve,
        name="unseal_approve",
    ),
    path("drills/", views.drills, name="drills"),
    path("drills/new/", views.drill_new, name="drill_new"),
    path("drills/joint/", views.joint_drill_new, name="joint_drill_new"),
    path("drills/<int:pk>/photo/", views.drill_photo, name="drill_photo"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/decide/", views.plan_decide, name="plan_decide"),
    path("notices/", views.notice_list, name="notices"),
    path("notices/new/", views.notice_new, name="notice_new"),
    path("notices/<int:pk>/", views.notice_detail, name="notice_detail"),
    path("notices/<int:pk>/remind/", views.notice_remind, name="notice_remind"),
    path("notices/<int:pk>/attachment/", views.notice_attachment, name="notice_attachment"),
    path("warnings/banner/", views.warning_banner, name="warning_banner"),
    path("lectures/", views.lectures, name="lectures"),
    path("lectures/new/", views.lecture_new, name="lecture_new"),
]
