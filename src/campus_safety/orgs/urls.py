from django.urls import path

from campus_safety.web import spreadsheet_views

app_name = "orgs"
urlpatterns = [
    path(
        "schools/import/<str:kind>/template.xlsx",
        spreadsheet_views.template_download,
        name="import_template",
    ),
]
