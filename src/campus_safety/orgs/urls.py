from django.urls import path

from campus_safety.orgs import import_views, views

app_name = "orgs"
urlpatterns = [
    path("schools/", views.school_list, name="school_list"),
    path("schools/<int:pk>/", views.school_detail, name="school_detail"),
    path("schools/map.geojson", views.school_map_data, name="map_data"),
    path("map/", views.school_map, name="map"),
    path(
        "schools/import/<str:kind>/template.xlsx",
        import_views.template_download,
        name="import_template",
    ),
]
