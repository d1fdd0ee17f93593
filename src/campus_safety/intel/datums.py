"""Chinese map datums to WGS-84: GCJ-02 (国测局坐标, "Mars coordinates": AMap/高德,
Tencent, most Chinese dispatch systems) and BD-09 (Baidu). The platform stores WGS-84,
so a 110 export in GCJ-02 or BD-09 is converted on import (per source, see
``DispatchSource.coordinate_system``).

Written here from the published formulas rather than taken from PyPI: the packages
(eviltransform 2018, coord-convert 2019, coordinatesconverter 2022, …) are small,
unmaintained copies of the same thirty lines, and most of them invert GCJ-02 by one
subtraction, off by up to a couple of metres; here the inverse is iterated to 1e-10°.

* WGS-84 → GCJ-02: the offset of the GCJ-02 obfuscation as published (Krasovsky 1940
  ellipsoid, a = 6,378,245 m, e² = 0.00669342162296594323), zero outside China's
  bounding box (72.004–137.8347 E, 0.8293–55.8271 N) as GCJ-02 itself does.
* GCJ-02 → WGS-84: no closed form; the fixed point ``w ← w − (gcj(w) − g)``, which
  converges in a few steps because the offset changes slowly (≈ 1e-5 per degree).
* BD-09 ↔ GCJ-02: Baidu's published ``bd_encrypt`` / ``bd_decrypt`` pair."""

from __future__ import annotations

import math

WGS84, GCJ02, BD09 = "wgs84", "gcj02", "bd09"
SYSTEMS = (WGS84, GCJ02, BD09)

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def out_of_china(lat: float, lon: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2 / 3
    return ret


def _offset_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    return ret


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 position of a WGS-84 one (unchanged outside China)."""
    if out_of_china(lat, lon):
        return lat, lon
    dlat = _offset_lat(lon - 105.0, lat - 35.0)
    dlon = _offset_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float, tolerance: float = 1e-10) -> tuple[float, float]:
    """The WGS-84 position whose GCJ-02 image is (lat, lon), by fixed-point iteration."""
    if out_of_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _step in range(30):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        d_lat, d_lon = g_lat - lat, g_lon - lon
        w_lat, w_lon = w_lat - d_lat, w_lon - d_lon
        if abs(d_lat) < tolerance and abs(d_lon) < tolerance:
            break
    return w_lat, w_lon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """Baidu's ``bd_encrypt``."""
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """Baidu's ``bd_decrypt``."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def to_wgs84(lat: float, lon: float, system: str) -> tuple[float, float]:
    """(lat, lon) given in ``system`` (wgs84, gcj02 or bd09) as WGS-84."""
    if system == GCJ02:
        return gcj02_to_wgs84(lat, lon)
    if system == BD09:
        return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))
    if system == WGS84:
        return lat, lon
    raise ValueError(f"unknown coordinate system {system!r}")
