"""The school pages (``schools:`` names): the registry shown with its staffing."""

from django.urls import path

from campus_safety.workforce import school_views as views

app_name = "schools"
urlpatterns = [
    path("schools/", views.school_list, name="school_list"),
    path("schools/<int:pk>/", views.school_detail, name="school_detail"),
    path("schools/map.geojson", views.school_map_data, name="map_data"),
    path("schools/search.json", views.school_search, name="search"),
    path("schools/context.json", views.school_map_context, name="map_context"),
    path("map/", views.school_map, name="map"),
]
