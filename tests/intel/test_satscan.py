"""SaTScan's NYCfever sample analysis reproduced, and the file readers' refusals."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campus_safety.intel.scan.engine import llr_high
from campus_safety.intel.scan.satscan import (
    SatscanError,
    fixed,
    read_prm,
    reported,
    results_text,
    run_prm,
)

DATA = Path(__file__).parent / "data"

# SaTScan v10.1.2 on NYCfever (see data/SOURCE.md): locations (as sets: the published map
# lists them by coordinates), time frame, observed, expected, O/E, p-value, recurrence.
PUBLISHED = [
    (
        {"11418", "11415", "11419", "11435", "11416", "11421", "11451", "11375", "11417"},
        ("2001/11/22", "2001/11/24"),
        4,
        "0.67",
        "5.97",
        0.242,
        "4 days",
    ),
    ({"11372"}, ("2001/11/24", "2001/11/24"), 2, "0.16", "12.13", 0.575, "2 days"),
    ({"10472"}, ("2001/11/23", "2001/11/24"), 2, "0.29", "6.81", 0.966, "1 day"),
]


@pytest.fixture(scope="module")
def nycfever():
    return run_prm(DATA / "NYCfever.prm")


def test_nycfever_clusters_as_published(nycfever):
    from campus_safety.intel.scan.satscan import cluster_fields

    clusters = reported(nycfever.result)
    assert len(clusters) == len(PUBLISHED)
    total = nycfever.result.total_cases
    assert total == 194 and len(nycfever.ids) == 192
    for cluster, (ids, frame, observed, expected, ratio, p, recurrence) in zip(
        clusters, PUBLISHED, strict=True
    ):
        fields = cluster_fields(nycfever, cluster)
        assert set(fields["location_ids"]) == ids
        assert tuple(fields["time_frame"]) == frame
        assert fields["observed"] == observed
        assert fixed(fields["expected"], 2) == expected
        assert fixed(fields["observed_expected"], 2) == ratio
        # the statistic from the published observed count and our exact expectation
        assert math.isclose(
            fields["test_statistic"],
            llr_high(observed, fields["expected"], total),
            abs_tol=1e-9,
        )
        # Monte Carlo p-values differ between runs: within 4 standard errors of SaTScan's
        assert fields["recurrence_interval"] == recurrence or abs(fields["p_value"] - p) > 0.02
        assert abs(fields["p_value"] - p) <= 4 * math.sqrt(p * (1 - p) / 999) + 0.002
    # the most likely cluster's statistic worked out by hand from the case file: its
    # ZIP codes' cases over the period (a), all cases of 2001/11/22-24 (b)
    rows = [line.split() for line in (DATA / "NYCfever.cas").read_text().splitlines()]
    a = sum(int(r[1]) for r in rows if r[0] in PUBLISHED[0][0])
    b = sum(int(r[1]) for r in rows if r[2] in {"2001/11/22", "2001/11/23", "2001/11/24"})
    first = clusters[0]
    assert math.isclose(first.expected, a * b / 194)
    mu = a * b / 194
    by_hand = 4 * math.log(4 / mu) + 190 * math.log(190 / (194 - mu))
    assert math.isclose(first.llr, by_hand, abs_tol=1e-9)
    assert f"{first.llr:.6f}" == "3.845418"


def test_results_text_layout(nycfever):
    text = results_text(nycfever)
    assert "1.Location IDs included.: 11418, 11415" in text
    assert "Coordinates / radius..: (40.699240 N, 73.831760 W) / 2.90 km" in text
    assert "Time frame............: 2001/11/22 to 2001/11/24" in text
    assert "Test statistic........: 3.845418" in text
    assert "Recurrence interval...: 4 days" in text


def test_command_json(capsys):
    call_command(
        "intel", "scan", "--prm", str(DATA / "NYCfever.prm"), "--json", "--replications", "9"
    )
    data = json.loads(capsys.readouterr().out)
    assert data["cases"] == 194 and data["replications"] == 9
    assert data["clusters"][0]["observed"] == 4
    assert set(data["clusters"][0]) >= {
        "location_ids",
        "coordinates_radius",
        "time_frame",
        "observed",
        "expected",
        "observed_expected",
        "test_statistic",
        "p_value",
        "recurrence_interval",
    }


def write(tmp_path, prm_extra="", cas="a 1 2001/1/5\nb 2 2001/1/5\n", geo="a 0 0\nb 1 1\n"):
    (tmp_path / "x.cas").write_text(cas)
    (tmp_path / "x.geo").write_text(geo)
    prm = tmp_path / "x.prm"
    prm.write_text(
        "[Input]\nCaseFile=x.cas\nCoordinatesFile=x.geo\nPrecisionCaseTimes=3\n"
        "StartDate=2001/1/1\nEndDate=2001/1/5\nCoordinatesType=0\n"
        "[Analysis]\nAnalysisType=4\nModelType=2\n" + prm_extra
    )
    return prm


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("IterativeScan=y\n", "IterativeScan"),
        ("FancyNewOption=1\n", "FancyNewOption"),
        ("[Spatial Window]\nSpatialWindowShapeType=1\n", "SpatialWindowShapeType"),
        ("ScanAreas=3\n", "ScanAreas"),
        ("UseGridFile=y\n", "UseGridFile"),
    ],
)
def test_unsupported_keys_refused_by_name(tmp_path, extra, named):
    with pytest.raises(SatscanError, match=named):
        read_prm(write(tmp_path, extra))


def test_wrong_model_refused(tmp_path):
    prm = write(tmp_path)
    prm.write_text(prm.read_text().replace("ModelType=2", "ModelType=0"))
    with pytest.raises(SatscanError, match="ModelType"):
        read_prm(prm)


@pytest.mark.parametrize(
    ("cas", "geo", "message"),
    [
        ("a 1 2001/1/5\nc 1 2001/1/5\n", "a 0 0\nb 1 1\n", "x.cas line 2: location c"),
        ("a 1 2001/2/5\n", "a 0 0\nb 1 1\n", "x.cas line 1: time outside"),
        ("a one 2001/1/5\n", "a 0 0\nb 1 1\n", "x.cas line 1: count"),
        ("a 1 2001/13/5\n", "a 0 0\nb 1 1\n", "x.cas line 1"),
        ("a 1 2001/1/5\n", "a 0 0\nb 1\n", "x.geo line 2"),
        ("a 1 2001/1/5\n", "a 0 0\na 1 1\n", "x.geo line 2: location a twice"),
        ("a 1 2001/1/5\n", "a 0 nan\n", "x.geo line 1: coordinates not finite"),
    ],
)
def test_bad_rows_named(tmp_path, cas, geo, message):
    with pytest.raises(SatscanError, match=message):
        run_prm(write(tmp_path, cas=cas, geo=geo), replications=0)


def test_relative_paths_from_prm_folder(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    analysis = run_prm(write(tmp_path), replications=0)
    assert analysis.result.total_cases == 3


def test_command_refuses_with_reason(tmp_path):
    with pytest.raises(CommandError, match="IterativeScan"):
        call_command("intel", "scan", "--prm", str(write(tmp_path, "IterativeScan=y\n")))


def test_generic_time(tmp_path):
    prm = write(tmp_path, cas="a 1 4\nb 3 5\na 1 1\n")
    text = prm.read_text().replace("PrecisionCaseTimes=3", "PrecisionCaseTimes=4")
    text = text.replace("StartDate=2001/1/1", "StartDate=1").replace(
        "EndDate=2001/1/5", "EndDate=5"
    )
    prm.write_text(text + "TimeAggregationUnits=4\n")
    analysis = run_prm(prm, replications=0)
    assert analysis.result.total_cases == 5
    assert "Study period.......................: 1 to 5" in results_text(analysis)
