"""110 import over REST (same mapping, row errors and dedup as the page; size-limited;
in the OpenAPI schema), and GCJ-02 / BD-09 exports converted to WGS-84 per source."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from campus_safety.audit.models import AuditEntry
from campus_safety.intel import datums
from campus_safety.intel.models import DispatchSource, Incident
from tests.factories import sign_in

from .test_dispatch_import import HEADER, MAPPING, _csv, _rows

pytestmark = pytest.mark.django_db
URL = "/api/v1/intel/dispatch-imports/"
COLUMNS = {k.removeprefix("col_"): v for k, v in MAPPING.items()}


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _upload(client, data, name="110.csv", **fields):
    return client.post(URL, {**fields, "file": SimpleUploadedFile(name, data)})


def test_api_import_same_rows_errors_and_dedup_as_the_page(client, world):
    sign_in(client, world["officer"])
    response = _upload(
        client,
        _csv(_rows(world)),
        source="德州市110指挥中心",
        column_map=json.dumps(COLUMNS, ensure_ascii=False),
        kind_map=json.dumps({"校园滋扰": "harassment"}, ensure_ascii=False),
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    body = response.json()
    assert (body["rows"], body["created"], body["duplicates"]) == (8, 3, 1)
    assert [(e["row"], e["column"]) for e in body["errors"]] == [
        (4, "报警时间"), (5, "接警单编号"), (6, "纬度"), (7, "纬度"),
    ]  # fmt: skip
    assert "outside your area" in body["errors"][-1]["reason"]
    assert body["coordinate_system"] == "wgs84" and body["source"] == "德州市110指挥中心"
    kinds = dict(Incident.objects.values_list("source_ref", "kind"))
    assert kinds["J2026050100002"] == "harassment"
    assert AuditEntry.objects.filter(action="intel.dispatch.import").count() == 1
    # again by the source's name alone: its saved mapping is used, all duplicates
    again = _upload(client, _csv(_rows(world)), source="德州市110指挥中心").json()
    assert (again["created"], again["duplicates"]) == (0, 4)
    assert DispatchSource.objects.get().kind_map == {"校园滋扰": "harassment"}


@pytest.mark.parametrize(
    ("fields", "name", "data", "key"),
    [
        ({"column_map": "{not json"}, "x.csv", None, "column_map"),
        ({"column_map": json.dumps({"call_no": "接警单编号"})}, "x.csv", None, "column_map"),
        ({"kind_map": json.dumps({"盗窃案件": "burglary"})}, "x.csv", None, "kind_map"),
        ({"coordinate_system": "utm"}, "x.csv", None, "coordinate_system"),
        ({}, "x.txt", None, "file"),  # not csv/xlsx
        ({"column_map": json.dumps({"call_number": "单号"})}, "x.csv", None, "file"),
        ({}, "x.csv", b"", "file"),  # empty upload
    ],
)
def test_api_refuses_bad_input_with_400_and_saves_nothing(client, world, fields, name, data, key):
    sign_in(client, world["officer"])
    payload = {"source": "新源", "column_map": json.dumps(COLUMNS, ensure_ascii=False)}
    payload.update(fields)
    response = _upload(client, _csv(_rows(world)) if data is None else data, name, **payload)
    assert response.status_code == 400, response.content.decode()
    assert key in response.json()
    assert not DispatchSource.objects.exists() and not Incident.objects.exists()


def test_api_new_source_without_a_mapping_is_refused(client, world):
    sign_in(client, world["officer"])
    response = _upload(client, _csv(_rows(world)), source="从未保存过")
    assert response.status_code == 400 and "Map these fields" in str(response.json())


def test_api_size_limit_is_413(client, world, settings):
    settings.IMPORT_MAX_BYTES = 200
    sign_in(client, world["officer"])
    response = _upload(
        client,
        _csv(_rows(world)),
        source="大文件",
        column_map=json.dumps(COLUMNS, ensure_ascii=False),
    )
    assert response.status_code == 413
    assert not Incident.objects.exists()


def test_api_import_is_police_only(client, world):
    for role in ("education", "school_admin"):
        sign_in(client, world[role])
        response = _upload(client, _csv(_rows(world)), source="x", column_map=json.dumps(COLUMNS))
        assert response.status_code == 403
    assert not DispatchSource.objects.exists()


def test_api_import_is_in_the_openapi_schema(client, world):
    sign_in(client, world["officer"])
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/v1/intel/dispatch-imports/"]["post"]
    body = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "413" in post["responses"] and "200" in post["responses"]
    name = body["$ref"].rsplit("/", 1)[-1]
    props = schema["components"]["schemas"][name]["properties"]
    assert {"source", "column_map", "kind_map", "coordinate_system", "file"} <= set(props)


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_gcj02_and_bd09_exports_are_converted_to_wgs84(client, world, system):
    school = world["school"]
    wgs = (school.latitude + 0.003, school.longitude + 0.002)
    shown = datums.wgs84_to_gcj02(*wgs)
    if system == "bd09":
        shown = datums.gcj02_to_bd09(*shown)
    row = ["G1", "2026-05-01 10:00", f"{shown[1]:.7f}", f"{shown[0]:.7f}", "盗窃"]
    sign_in(client, world["officer"])
    # the page: a new source saved with its coordinate system
    page = client.post(
        "/intel/incidents/import/",
        {
            **MAPPING,
            "new_source": f"{system}源",
            "coordinate_system": system,
            "file": SimpleUploadedFile("g.csv", _csv([row + [""] * (len(HEADER) - 5)])),
        },
    )
    assert page.status_code == 200 and page.context["result"].created == 1
    incident = Incident.objects.get(source_ref="G1")
    # stored in WGS-84: within a metre of the true place (a few hundred metres unconverted)
    assert abs(incident.latitude - wgs[0]) * 111_320 < 1
    assert abs(incident.longitude - wgs[1]) * 88_000 < 1
    source = DispatchSource.objects.get()
    assert source.coordinate_system == system
    form = client.get(f"/intel/incidents/import/?source={source.pk}").content.decode()
    assert f'value="{system}" selected' in form
    # the API takes the source's saved setting
    row[0] = "G2"
    body = _upload(client, _csv([row]), source=source.name).json()
    assert body["created"] == 1 and body["coordinate_system"] == system
    second = Incident.objects.get(source_ref="G2")
    assert abs(second.latitude - wgs[0]) * 111_320 < 1
