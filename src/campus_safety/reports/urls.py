from django.urls import path

from campus_safety.reports import board_views, school_home, screen_views, views

app_name = "reports"
urlpatterns = [
    path("", views.home, name="home"),
    path("overview/", views.overview, name="overview"),
    path("schools/<int:pk>/home/", school_home.school_home, name="school_home"),
    path("report/summary/", views.summary_report, name="summary"),
    path("report/summary.json", views.summary_json, name="summary_json"),
    path("report/summary.xlsx", views.summary_xlsx, name="summary_xlsx"),
    path("big-screen/", screen_views.big_screen, name="big_screen"),
    path("big-screen/live.json", screen_views.big_screen_live, name="big_screen_live"),
    path("big-screen/kpi.json", screen_views.big_screen_kpi, name="big_screen_kpi"),
    path("report/targets/", board_views.targets_board, name="targets"),
    path("report/targets.json", board_views.targets_json, name="targets_json"),
    path("report/targets/trend.json", board_views.targets_trend, name="targets_trend"),
    path("report/targets.xlsx", board_views.targets_xlsx, name="targets_xlsx"),
    path("report/availability/", board_views.availability_page, name="availability"),
    path("report/availability.json", board_views.availability_json, name="availability_json"),
    path("report/availability.xlsx", board_views.availability_xlsx, name="availability_xlsx"),
    path(
        "report/availability/device/<int:pk>/",
        board_views.device_availability,
        name="device_availability",
    ),
    path(
        "report/availability/school/<int:pk>/",
        board_views.school_availability,
        name="school_availability",
    ),
    path("report/campaign/", board_views.campaign_page, name="campaign"),
    path("report/campaign.json", board_views.campaign_json, name="campaign_json"),
    path("report/campaign.pdf", board_views.campaign_pdf, name="campaign_pdf"),
    path("report/inbox/", board_views.inbox, name="inbox"),
    path("report/inbox/generate/", board_views.report_generate, name="report_generate"),
    path("report/generated/<int:pk>.pdf", board_views.report_pdf, name="report_pdf"),
    path("report/generated/<int:pk>.xlsx", board_views.report_xlsx, name="report_xlsx"),
    path("report/generated/<int:pk>.json", board_views.report_figures, name="report_figures"),
]
