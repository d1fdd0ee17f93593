from django.urls import path

from campus_safety.hazards import views

app_name = "hazards"
urlpatterns = [
    path("", views.hazard_list, name="list"),
    path("report/", views.hazard_report, name="report"),
    path("<int:pk>/", views.hazard_detail, name="detail"),
    path("<int:pk>/step/", views.hazard_step, name="step"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("map/", views.hazard_map, name="map"),
    path("map.geojson", views.hazard_map_data, name="map_data"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("checklists/<int:pk>/", views.checklist_detail, name="checklist"),
]
