from django.urls import path

from campus_safety.intel import views

app_name = "intel"
urlpatterns = [
    path("", views.home, name="home"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/step/", views.alert_step, name="alert_step"),
    path("alerts/<int:pk>/operation/", views.alert_operation, name="alert_operation"),
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/new/", views.incident_new, name="incident_new"),
    path("incidents/import/", views.dispatch_import, name="dispatch_import"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident"),
    path("incidents/<int:pk>/edit/", views.incident_edit, name="incident_edit"),
    path("persons/<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("leads/", views.lead_list, name="leads"),
    path("leads/<int:pk>/", views.lead_detail, name="lead"),
    path("tip/", views.tip, name="tip"),
    path("groups/", views.group_list, name="groups"),
    path("groups/<int:pk>/", views.group_detail, name="group"),
    path("operations/", views.operation_list, name="operations"),
    path("operations/new/", views.operation_new, name="operation_new"),
    path("operations/<int:pk>/", views.operation_detail, name="operation"),
    path("operations/<int:pk>/records/", views.operation_entry, name="operation_entry"),
    path("risk/", views.risk_list, name="risk"),
]
