"""The demo city's devices (设备): NVRs with their cameras, one-key alarms, a few others.

As in real school deployments, every school has one NVR (type 118, GB/T 28181) and its
cameras are the NVR's catalog channels (131/132), placed in the key areas of
GB/T 29315-2022 (entrance, gate room, perimeter, teaching area, canteen, dormitories for
boarding schools, activity rooms for kindergartens …), more in bigger schools. The
city has 35,640 cameras (17.6 per school on average) and exactly 722 one-key alarm
boxes (alarm inputs, 134) in gate rooms — not every school has one — most speaking
GB/T 28181 and a share MQTT or HTTP. A few MQTT intrusion detectors and HTTP
guard-tour checkpoints add variety. IDs follow ``make_device_id`` (region + "00" +
industry 11 + type + network 7 + serial). Pure Python, from its own random stream,
so adding devices left the rest of the city exactly as it was.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from campus_safety.devices.identifiers import make_device_id
from campus_safety.simulator.plan import DeviceRow, SchoolRow
from campus_safety.simulator.quotas import apportion

TOTAL_SCHOOLS = 2029
CAMERA_TOTAL = 35_640  # "35,600余路" in the reference city
ONE_KEY_ALARMS = 722
ALARM_PROTOCOL_SHARES = {"gb28181": 0.8, "mqtt": 0.12, "http": 0.08}
INTRUSION_DETECTORS = 60  # MQTT, on perimeters and laboratory stores
PATROL_CHECKPOINTS = 40  # HTTP, guard-tour checkpoints
SECONDARY = {"junior", "senior", "nine_year", "twelve_year", "vocational"}
# Vendors: an NVR and its cameras come from one (NVR model, camera model, short name).
VENDORS = (
    ("海康威视", "DS-7832N-K4", "DS-2CD3T46WDV3-I3", 0.5),
    ("大华", "DH-NVR4232-4KS2", "DH-IPC-HFW2433M-I1", 0.3),
    ("宇视", "NVR302-32E-B", "IPC2124LB-SF40KM-G", 0.2),
)
AREA_LABELS = {
    "outside_gate": "大门外",
    "entrance": "校门口",
    "gate_room": "门卫室",
    "perimeter": "周界",
    "outdoor_crowd": "操场",
    "teaching_area": "教学楼走廊",
    "dormitory": "宿舍楼出入口",
    "kindergarten_rooms": "幼儿活动室",
    "canteen": "食堂",
    "hazardous_store": "实验室",
    "parking": "停车场",
    "control_room": "安防监控室",
}


def _seed(city_seed: int) -> str:
    return f"{city_seed}-devices"


def natural_cameras(school: SchoolRow) -> dict[str, int]:
    """The cameras a school of this kind and size would have, by key area (before the
    city total is shared out): every 应 (shall) area of GB/T 29315-2022 gets at least
    one, busy areas more with size."""
    students, kind = school.students, school.kind
    areas = {"outside_gate": 1, "entrance": 2, "gate_room": 1, "perimeter": 2, "outdoor_crowd": 1}
    areas["canteen"] = 1 + (students > 1000)
    if kind == "kindergarten":
        areas["kindergarten_rooms"] = 2 + students // 60
    else:
        areas["teaching_area"] = 2 + students // 350
    if school.boarders:
        areas["dormitory"] = 1 + school.boarders // 300
    if kind in SECONDARY:
        areas["hazardous_store"] = 1
    if students > 1500:
        areas["parking"] = 1
    if students > 1000:
        areas["control_room"] = 1
        areas["perimeter"] += students // 1500
    return areas


def _weighted_sample(
    items: Sequence[SchoolRow], weights: Sequence[float], k: int, rng: random.Random
) -> list[SchoolRow]:
    """``k`` items without replacement, each with chance by weight (Efraimidis–Spirakis)."""
    keyed = sorted(((rng.random() ** (1.0 / w), i) for i, w in enumerate(weights)), reverse=True)
    chosen = sorted(i for _, i in keyed[:k])
    return [items[i] for i in chosen]


class _Ids:
    """Serials per (region, type code): IDs unique city-wide and stable per seed."""

    def __init__(self) -> None:
        self.next: dict[tuple[str, str], int] = {}

    def __call__(self, region: str, type_code: str) -> str:
        serial = self.next.get((region, type_code), 1)
        self.next[(region, type_code)] = serial + 1
        return make_device_id(region, type_code, serial)


def _near(school: SchoolRow, rng: random.Random, spread: float = 0.0006) -> tuple[float, float]:
    return (
        round(school.longitude + rng.uniform(-spread, spread), 6),
        round(school.latitude + rng.uniform(-spread, spread), 6),
    )


def equip_schools(schools: Sequence[SchoolRow], city_seed: int) -> list[DeviceRow]:
    """Every device of the city, NVRs first, then alarm boxes and the others, then the
    cameras (channels name their NVR, so a loader can write them in this order)."""
    rng = random.Random(_seed(city_seed))
    scale = len(schools) / TOTAL_SCHOOLS
    ids = _Ids()
    vendors = {s.code: rng.choices(VENDORS, weights=[v[3] for v in VENDORS])[0] for s in schools}
    nvrs: list[DeviceRow] = []
    nvr_of: dict[str, str] = {}
    for school in schools:
        vendor, nvr_model = vendors[school.code][:2]
        device_id = ids(school.region_code, "118")
        nvr_of[school.code] = device_id
        lon, lat = _near(school, rng, 0.0002)
        nvrs.append(
            DeviceRow(device_id, f"{school.name}硬盘录像机", "nvr", "gb28181", school.code,
                      "control_room", None, vendor, nvr_model, "安防监控室", lon, lat, "")
        )  # fmt: skip

    # one-key alarm boxes: secondary schools and big ones first, by chance
    alarm_total = round(ONE_KEY_ALARMS * scale)
    weights = [
        (3.0 if s.kind in SECONDARY else 1.5 if s.kind == "primary" else 1.0)
        * (1.0 + s.students / 1000)
        for s in schools
    ]
    with_alarm = _weighted_sample(schools, weights, alarm_total, rng)
    shares = apportion(alarm_total, list(ALARM_PROTOCOL_SHARES.values()))
    protocols = [p for p, n in zip(ALARM_PROTOCOL_SHARES, shares, strict=True) for _ in range(n)]
    rng.shuffle(protocols)
    others: list[DeviceRow] = []
    for school, protocol in zip(with_alarm, protocols, strict=True):
        lon, lat = _near(school, rng)
        secret = f"{rng.getrandbits(128):032x}" if protocol == "http" else ""
        others.append(
            DeviceRow(ids(school.region_code, "134"), "门卫室一键报警", "one_key_alarm", protocol,
                      school.code, "gate_room", None, "", "", "门卫室", lon, lat, secret)
        )  # fmt: skip

    for school in rng.sample(list(schools), min(len(schools), round(INTRUSION_DETECTORS * scale))):
        area = "hazardous_store" if school.kind in SECONDARY and rng.random() < 0.4 else "perimeter"
        lon, lat = _near(school, rng)
        others.append(
            DeviceRow(ids(school.region_code, "134"), f"{AREA_LABELS[area]}入侵探测器",
                      "intrusion_detector", "mqtt", school.code, area, None, "", "",
                      AREA_LABELS[area], lon, lat, "")
        )  # fmt: skip
    for school in rng.sample(list(schools), min(len(schools), round(PATROL_CHECKPOINTS * scale))):
        lon, lat = _near(school, rng)
        others.append(
            DeviceRow(ids(school.region_code, "139"), "周界巡更点", "patrol_checkpoint", "http",
                      school.code, "perimeter", None, "", "", "周界", lon, lat,
                      f"{rng.getrandbits(128):032x}")
        )  # fmt: skip

    # cameras: the city total shared by each school's natural need, then by area
    natural = [natural_cameras(s) for s in schools]
    per_school = apportion(
        round(CAMERA_TOTAL * scale),
        [sum(n.values()) for n in natural],
        floors=[len(n) for n in natural],  # one camera at least in every area
    )
    cameras: list[DeviceRow] = []
    for school, need, count in zip(schools, natural, per_school, strict=True):
        vendor, _, camera_model = vendors[school.code][:3]
        areas = list(need)
        by_area = apportion(count, [need[a] for a in areas], floors=[1] * len(areas))
        for area, n in zip(areas, by_area, strict=True):
            for k in range(1, n + 1):
                type_code = "131" if rng.random() < 0.15 else "132"
                cameras.append(
                    DeviceRow(ids(school.region_code, type_code), f"{AREA_LABELS[area]}{k:02d}",
                              "camera", "gb28181", school.code, area, nvr_of[school.code],
                              vendor, camera_model, AREA_LABELS[area], None, None, "")
                )  # fmt: skip
    return [*nvrs, *others, *cameras]
