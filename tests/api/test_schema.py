"""The OpenAPI schema and the interactive docs, served without internet access."""

import pytest
import yaml
from django.core.management import call_command
from django.templatetags.static import static

pytestmark = pytest.mark.django_db
MAIN_PATHS = [
    "/api/v1/regions/",
    "/api/v1/organisations/",
    "/api/v1/schools/",
    "/api/v1/schools/{id}/",
    "/api/v1/guards/",
    "/api/v1/equipment/",
    "/api/v1/staffing/districts/",
    "/api/v1/reports/summary/",
]


def test_schema_generates_valid_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert set(MAIN_PATHS) <= set(schema["paths"])
    school_list = schema["paths"]["/api/v1/schools/"]["get"]
    params = {p["name"] for p in school_list["parameters"]}
    assert {"q", "region", "kind", "short", "ordering", "page", "page_size", "rule"} <= params


def test_schema_is_served(api):
    response = api().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/schools/" in response.json()["paths"]


def test_swagger_ui_loads_its_assets_from_this_server(api):
    page = api().get("/api/v1/docs/")
    assert page.status_code == 200
    bundle = static("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert bundle in page.content.decode()
    assert b"cdn." not in page.content
    asset = api().get(bundle)
    assert asset.status_code == 200
