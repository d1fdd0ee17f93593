"""SaTScan's files: a parameter file (.prm), case file (.cas) and coordinates file
(.geo) in, a results text (or JSON with the same fields) out, so analysts can run the
same analysis here and in SaTScan and compare.

Only the prospective space-time permutation analysis is supported; a parameter file
asking for anything else is refused, naming the key."""

from __future__ import annotations

import configparser
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np

from .engine import Cluster, ScanInput, ScanResult, cartesian, latlong_to_xyz, scan

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 2_000_000


class SatscanError(ValueError):
    """A file or setting this reader cannot honour; the message says which and why."""


# Keys read; their meaning follows SaTScan's parameter file.
SUPPORTED = {
    "CaseFile",
    "CoordinatesFile",
    "PrecisionCaseTimes",
    "StartDate",
    "EndDate",
    "CoordinatesType",
    "AnalysisType",
    "ModelType",
    "ScanAreas",
    "TimeAggregationUnits",
    "TimeAggregationLength",
    "MaxSpatialSizeInPopulationAtRisk",
    "UseDistanceFromCenterOption",
    "MaxSpatialSizeInDistanceFromCenter",
    "MaxTemporalSizeInterpretation",
    "MaxTemporalSize",
    "MonteCarloReps",
    "ProspectiveStartDate",
    "MinimumCasesInHighRateClusters",
    "MinimumTemporalClusterSize",
    "ResultsTitle",
    "ResultsFile",
    "RandomizationSeed",
}

# Keys accepted only with the value that leaves the analysis as above (SaTScan's defaults
# for features this reader does not have). Empty file names count as unset.
NEUTRAL = {
    "ControlFile": {""},
    "PopulationFile": {""},
    "UseGridFile": {"n"},
    "GridFile": {""},
    "UseNeighborsFile": {"n"},
    "NeighborsFilename": {""},
    "UseMetaLocationsFile": {"n"},
    "MetaLocationsFilename": {""},
    "MultipleCoordinatesType": {"0"},
    "UseMaxCirclePopulationFileOption": {"n"},
    "MaxCirclePopulationFile": {""},
    "IncludePurelyTemporal": {"n"},
    "SpatialWindowShapeType": {"0"},
    "NonCompactnessPenalty": {"0", "1", "2"},
    "IsotonicScan": {"0"},
    "IncludePurelySpatial": {"n"},
    "IncludeClusters": {"0"},
    "RiskLimitHighClusters": {"n"},
    "RiskLimitLowClusters": {"n"},
    "TimeTrendAdjustmentType": {"0"},
    "AdjustForWeeklyTrends": {"n"},
    "SpatialAdjustmentType": {"0"},
    "UseAdjustmentsByRRFile": {"n"},
    "PValueReportType": {"0", "1"},
    "ReportGumbel": {"n"},
    "AdjustForEarlierAnalyses": {"n"},
    "IterativeScan": {"n"},
    "CalculateOliveira": {"n"},
    "PerformPowerEvaluation": {"n"},
    "CriteriaForReportingSecondaryClusters": {"0"},
    "UseReportOnlySmallerClusters": {"n"},
    "StudyPeriodCheckType": {"0"},
    "GeographicalCoordinatesCheckType": {"0"},
    "MultipleDataSetsPurposeType": {"0"},
    "SimulatedDataMethodType": {"0"},
    "SimulatedDataInputFilename": {""},
    "AdjustmentsByKnownRelativeRisksFilename": {""},
    "ReportGiniClusters": {"n"},
    "OutputGoogleEarthKML": {"n"},
}
# Sections that only shape SaTScan's own output files, its GUI or its run: ignored.
IGNORED_SECTIONS = {
    "output",
    "spatial output",
    "temporal output",
    "other output",
    "run options",
    "system",
    "elliptic scan",
    "power simulations",
    "border analysis",
    "power evaluation",
    "multiple data sets",
    "notifications",
    "line list",
}
IGNORED_KEYS = {
    "MaxSpatialSizeInMaxCirclePopulationFile",
    "IntervalStartRange",
    "IntervalEndRange",
    "RiskThresholdHighClusters",
    "RiskThresholdLowClusters",
    "MinimumCasesInLowRateClusters",
    "TimeTrendPercentage",
    "TimeTrendType",
    "EarlyTerminationThreshold",
    "IterativeScanMaxIterations",
    "IterativeScanMaxPValue",
    "CaseFile-SourceType",
    "CoordinatesFile-SourceType",
}


@dataclass
class Parameters:
    folder: Path
    case_file: Path
    coordinates_file: Path
    generic_time: bool
    start: int  # ordinal day (day precision) or the generic integer
    end: int
    latlong: bool
    max_share: float = 0.5
    max_distance: float = math.inf
    max_days: int = 7
    replications: int = 999
    min_cases: int = 2
    title: str = ""
    seed: int = 12345
    notes: list[str] = field(default_factory=list)

    def label(self, time: int) -> str:
        if self.generic_time:
            return str(time)
        day = dt.date.fromordinal(time)
        return f"{day.year}/{day.month}/{day.day}"


def _date(value: str, key: str) -> int:
    parts = value.strip().split("/")
    try:
        numbers = [int(p) for p in parts]
        while len(numbers) < 3:
            numbers.append(1)
        return dt.date(*numbers[:3]).toordinal()
    except (ValueError, TypeError) as exc:
        raise SatscanError(f"{key}: {value!r} is not a date (YYYY/MM/DD)") from exc


def read_prm(path: str | Path) -> Parameters:
    """Read a SaTScan parameter file; refuse what it asks for and this cannot do."""
    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise SatscanError(f"{path.name}: larger than {MAX_FILE_BYTES} bytes")
    parser = configparser.ConfigParser(
        interpolation=None, comment_prefixes=(";", "#"), strict=False
    )
    parser.optionxform = str  # keep SaTScan's key case
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.lstrip().startswith("["):
        text = "[Input]\n" + text
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise SatscanError(f"{path.name}: not a parameter file ({exc})") from exc
    values: dict[str, str] = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            value = value.strip()
            if section.strip().lower() in IGNORED_SECTIONS or key in IGNORED_KEYS:
                continue
            if key in SUPPORTED:
                values[key] = value
            elif key in NEUTRAL:
                if value not in NEUTRAL[key]:
                    raise SatscanError(
                        f"{key}={value}: not supported (only {sorted(NEUTRAL[key])})"
                    )
            else:
                raise SatscanError(f"{key}: not supported by this reader")

    def need(key: str) -> str:
        if not values.get(key):
            raise SatscanError(f"{key}: missing")
        return values[key]

    if need("AnalysisType") != "4":
        raise SatscanError("AnalysisType: only 4 (prospective space-time) is supported")
    if need("ModelType") != "2":
        raise SatscanError("ModelType: only 2 (space-time permutation) is supported")
    if values.get("ScanAreas", "1") != "1":
        raise SatscanError("ScanAreas: only 1 (high rates) is supported")
    precision = need("PrecisionCaseTimes")
    if precision not in {"3", "4"}:
        raise SatscanError("PrecisionCaseTimes: only 3 (day) or 4 (generic) is supported")
    generic = precision == "4"
    units = values.get("TimeAggregationUnits", precision)
    if units not in {precision, "0"} and not (generic and units == "4"):
        raise SatscanError("TimeAggregationUnits: only the case times' precision is supported")
    if values.get("TimeAggregationLength", "1") != "1":
        raise SatscanError("TimeAggregationLength: only 1 is supported")
    if values.get("MinimumTemporalClusterSize", "1") != "1":
        raise SatscanError("MinimumTemporalClusterSize: only 1 is supported")
    if generic:
        try:
            start, end = int(need("StartDate")), int(need("EndDate"))
        except ValueError as exc:
            raise SatscanError("StartDate/EndDate: generic times are integers") from exc
    else:
        start, end = _date(need("StartDate"), "StartDate"), _date(need("EndDate"), "EndDate")
    if end < start:
        raise SatscanError("EndDate: before StartDate")
    prospective = values.get("ProspectiveStartDate", "")
    if prospective:
        value = int(prospective) if generic and prospective.lstrip("-").isdigit() else None
        if value is None and not generic:
            value = _date(prospective, "ProspectiveStartDate")
        if value != end:
            raise SatscanError(
                "ProspectiveStartDate: only the study end is supported (one analysis, "
                "no adjustment for earlier ones)"
            )
    coordinates_type = values.get("CoordinatesType", "0")
    if coordinates_type not in {"0", "1"}:
        raise SatscanError("CoordinatesType: 0 (Cartesian) or 1 (latitude/longitude)")
    folder = path.resolve().parent
    params = Parameters(
        folder=folder,
        case_file=folder / need("CaseFile"),
        coordinates_file=folder / need("CoordinatesFile"),
        generic_time=generic,
        start=start,
        end=end,
        latlong=coordinates_type == "1",
        title=values.get("ResultsTitle", ""),
    )
    try:
        share = float(values.get("MaxSpatialSizeInPopulationAtRisk", "50"))
        if not 0 < share <= 50:
            raise SatscanError("MaxSpatialSizeInPopulationAtRisk: between 0 and 50 (%)")
        params.max_share = share / 100
        if values.get("UseDistanceFromCenterOption", "n") == "y":
            params.max_distance = float(need("MaxSpatialSizeInDistanceFromCenter"))
            if params.max_distance <= 0:
                raise SatscanError("MaxSpatialSizeInDistanceFromCenter: must be positive")
        days_total = end - start + 1
        size = float(values.get("MaxTemporalSize", "50"))
        if values.get("MaxTemporalSizeInterpretation", "0") == "1":
            params.max_days = int(size)
        else:
            if not 0 < size <= 90:
                raise SatscanError("MaxTemporalSize: a percentage up to 90")
            params.max_days = math.floor(days_total * size / 100)
        if params.max_days < 1:
            raise SatscanError("MaxTemporalSize: shorter than one time unit")
        params.replications = int(values.get("MonteCarloReps", "999"))
        if params.replications < 0 or params.replications > 1_000_000:
            raise SatscanError("MonteCarloReps: between 0 and 1,000,000")
        params.min_cases = int(values.get("MinimumCasesInHighRateClusters", "2"))
        params.seed = int(values.get("RandomizationSeed", "12345"))
    except ValueError as exc:
        raise SatscanError(f"not a number: {exc}") from exc
    return params


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise SatscanError(f"{path.name}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise SatscanError(f"{path.name}: larger than {MAX_FILE_BYTES} bytes")
    rows = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if number > MAX_ROWS:
                raise SatscanError(f"{path.name}: more than {MAX_ROWS} rows")
            line = line.split("//")[0].strip()
            if line:
                rows.append((number, line.replace(",", " ").split()))
    return rows


def read_geo(path: Path, latlong: bool) -> tuple[list[str], np.ndarray]:
    """Location IDs and coordinates; a bad row fails the file with its line number."""
    ids: list[str] = []
    coords: list[tuple[float, float]] = []
    seen: set[str] = set()
    for number, fields in _rows(path):
        if len(fields) != 3:
            raise SatscanError(f"{path.name} line {number}: expected ID and two coordinates")
        try:
            a, b = float(fields[1]), float(fields[2])
        except ValueError as exc:
            raise SatscanError(f"{path.name} line {number}: coordinates not numbers") from exc
        if not (math.isfinite(a) and math.isfinite(b)):
            raise SatscanError(f"{path.name} line {number}: coordinates not finite")
        if latlong and not (-90 <= a <= 90 and -180 <= b <= 180):
            raise SatscanError(f"{path.name} line {number}: latitude/longitude out of range")
        if fields[0] in seen:
            raise SatscanError(f"{path.name} line {number}: location {fields[0]} twice")
        seen.add(fields[0])
        ids.append(fields[0])
        coords.append((a, b))
    if not ids:
        raise SatscanError(f"{path.name}: no locations")
    return ids, np.asarray(coords, dtype=np.float64)


def read_cas(path: Path, params: Parameters, ids: list[str]) -> np.ndarray:
    """Counts per location and day of the study period."""
    where = {loc: i for i, loc in enumerate(ids)}
    counts = np.zeros((len(ids), params.end - params.start + 1), dtype=np.int64)
    for number, fields in _rows(path):
        if len(fields) < 3:
            raise SatscanError(f"{path.name} line {number}: expected location, count, time")
        loc = where.get(fields[0])
        if loc is None:
            raise SatscanError(
                f"{path.name} line {number}: location {fields[0]} not in "
                f"{params.coordinates_file.name}"
            )
        try:
            count = int(fields[1])
        except ValueError as exc:
            raise SatscanError(f"{path.name} line {number}: count not a whole number") from exc
        if count < 0:
            raise SatscanError(f"{path.name} line {number}: negative count")
        if params.generic_time:
            try:
                time = int(fields[2])
            except ValueError as exc:
                raise SatscanError(f"{path.name} line {number}: time not an integer") from exc
        else:
            try:
                time = _date(fields[2], "time")
            except SatscanError as exc:
                raise SatscanError(f"{path.name} line {number}: {exc}") from exc
        if not params.start <= time <= params.end:
            raise SatscanError(f"{path.name} line {number}: time outside the study period")
        counts[loc, time - params.start] += count
    return counts


@dataclass
class Analysis:
    params: Parameters
    ids: list[str]
    coords: np.ndarray
    result: ScanResult


def reported(result: ScanResult) -> list[Cluster]:
    """The clusters SaTScan lists: with Monte Carlo, the most likely one and those
    secondary ones beating at least one replication (p < 1)."""
    if not result.replications:
        return result.clusters
    return [c for i, c in enumerate(result.clusters) if i == 0 or c.p_value < 1]


def run_prm(path: str | Path, replications: int | None = None) -> Analysis:
    params = read_prm(path)
    ids, coords = read_geo(params.coordinates_file, params.latlong)
    counts = read_cas(params.case_file, params, ids)
    xyz = (
        latlong_to_xyz(coords[:, 0], coords[:, 1])
        if params.latlong
        else cartesian(coords[:, 0], coords[:, 1])
    )
    data = ScanInput(
        xyz=xyz,
        counts=counts,
        centres=xyz,
        max_radius=params.max_distance,
        max_share=params.max_share,
        max_days=params.max_days,
        min_cases=params.min_cases,
    )
    reps = params.replications if replications is None else replications
    return Analysis(params, ids, coords, scan(data, replications=reps, seed=params.seed))


def _recurrence(cluster: Cluster, reps: int, generic: bool) -> str:
    if reps == 0:
        return ""
    value = cluster.recurrence_days()
    unit = "unit" if generic else "day"
    if value >= 365.25 * 2 and not generic:
        years = value / 365.25
        return f"{years:.0f} years"
    rounded = round(value)
    return f"{rounded} {unit}{'s' if rounded != 1 else ''}"


def fixed(value: float, places: int) -> str:
    """Rounded half up, as SaTScan prints (12.125 -> 12.13)."""
    if not math.isfinite(value):
        return str(value)
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def _p_value(cluster: Cluster, reps: int) -> str:
    digits = len(str(reps + 1)) - 1
    return f"{cluster.p_value:.{max(digits, 1)}f}"


def cluster_fields(analysis: Analysis, cluster: Cluster) -> dict:
    params, result = analysis.params, analysis.result
    centre = analysis.coords[cluster.centre]
    if params.latlong:
        lat, lon = centre
        coords = (
            f"({abs(lat):.6f} {'N' if lat >= 0 else 'S'}, "
            f"{abs(lon):.6f} {'W' if lon < 0 else 'E'}) / {fixed(cluster.radius, 2)} km"
        )
    else:
        coords = f"({centre[0]:g},{centre[1]:g}) / {cluster.radius:.2f}"
    return {
        "location_ids": [analysis.ids[i] for i in cluster.locations],
        "coordinates_radius": coords,
        "centre": [float(centre[0]), float(centre[1])],
        "radius": cluster.radius,
        "time_frame": [params.label(params.end - cluster.days + 1), params.label(params.end)],
        "observed": cluster.observed,
        "expected": cluster.expected,
        "observed_expected": cluster.ratio,
        "test_statistic": cluster.llr,
        "p_value": cluster.p_value if result.replications else None,
        "recurrence_interval": _recurrence(cluster, result.replications, params.generic_time),
        "recurrence_interval_days": cluster.recurrence_days() if result.replications else None,
    }


def results_json(analysis: Analysis) -> str:
    params, result = analysis.params, analysis.result
    return json.dumps(
        {
            "analysis": "prospective space-time, space-time permutation model, high rates",
            "study_period": [params.label(params.start), params.label(params.end)],
            "locations": len(analysis.ids),
            "cases": result.total_cases,
            "replications": result.replications,
            "clusters": [cluster_fields(analysis, c) for c in reported(result)],
        },
        indent=2,
        ensure_ascii=False,
    )


def results_text(analysis: Analysis) -> str:
    """Laid out like SaTScan's results file, for side-by-side reading."""
    params, result = analysis.params, analysis.result
    bar = "_" * 95
    lines = []
    if params.title:
        lines += [params.title, ""]
    lines += [
        "Prospective Space-Time analysis",
        "scanning for clusters with high rates",
        "using the Space-Time Permutation model.",
        bar,
        "",
        "SUMMARY OF DATA",
        "",
        f"Study period.......................: {params.label(params.start)} to "
        f"{params.label(params.end)}",
        f"Number of locations................: {len(analysis.ids)}",
        f"Total number of cases..............: {result.total_cases}",
        bar,
        "",
        "CLUSTERS DETECTED",
        "",
    ]
    for number, cluster in enumerate(reported(result), start=1):
        f = cluster_fields(analysis, cluster)
        lead = f"{number}."
        pad = " " * len(lead)
        lines += [
            f"{lead}Location IDs included.: {', '.join(f['location_ids'])}",
            f"{pad}Coordinates / radius..: {f['coordinates_radius']}",
            f"{pad}Time frame............: {f['time_frame'][0]} to {f['time_frame'][1]}",
            f"{pad}Number of cases.......: {f['observed']}",
            f"{pad}Expected cases........: {fixed(f['expected'], 2)}",
            f"{pad}Observed / expected...: {fixed(f['observed_expected'], 2)}",
            f"{pad}Test statistic........: {f['test_statistic']:.6f}",
        ]
        if result.replications:
            lines += [
                f"{pad}P-value...............: {_p_value(cluster, result.replications)}",
                f"{pad}Recurrence interval...: {f['recurrence_interval']}",
            ]
        lines.append("")
    if not result.clusters:
        lines += ["No clusters were found.", ""]
    lines += [bar, "", f"Monte Carlo replications: {result.replications}"]
    return "\n".join(lines) + "\n"
