"""The rows the demo city is made of, as plain values: built by ``city.py``, written by
``loading.py``, compared by the determinism tests (two plans are equal field by field).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: str
    parent_code: str | None
    outline: dict | None = None


@dataclass(frozen=True)
class OrganisationRow:
    name: str
    kind: str
    region_code: str
    parent_name: str | None
    phone: str
    address: str
    longitude: float | None
    latitude: float | None


@dataclass(frozen=True)
class SchoolRow:
    code: str
    name: str
    kind: str
    is_boarding: bool
    students: int
    boarders: int
    staff: int
    address: str
    longitude: float
    latitude: float
    region_code: str
    police_station_name: str
    principal_name: str
    principal_phone: str
    security_director_name: str
    security_director_phone: str
    has_police_room: bool
    police_room_officer: str
    police_room_phone: str
    legal_vice_principal: str
    is_urban: bool


@dataclass(frozen=True)
class GuardRow:
    name: str
    kind: str
    school_code: str
    company_name: str | None
    certificate_number: str
    phone: str
    id_number: str
    hired_on: date


@dataclass(frozen=True)
class EquipmentRow:
    school_code: str
    kind: str
    quantity: int


@dataclass(frozen=True)
class DeviceRow:
    """A device; ``parent_id`` is its NVR's device ID (cameras are the NVR's channels)."""

    device_id: str
    name: str
    kind: str
    protocol: str
    school_code: str
    key_area: str
    parent_id: str | None
    manufacturer: str
    model: str
    address: str
    longitude: float | None
    latitude: float | None
    secret: str  # HTTP signing secret ("" for the others: GB/T 28181 uses the default)


@dataclass(frozen=True)
class City:
    """Everything the demo writes, in the order it is written."""

    seed: int
    regions: tuple[RegionRow, ...]
    organisations: tuple[OrganisationRow, ...]
    schools: tuple[SchoolRow, ...]
    guards: tuple[GuardRow, ...]
    equipment: tuple[EquipmentRow, ...]
    devices: tuple[DeviceRow, ...] = ()

    @property
    def row_count(self) -> int:
        return (
            len(self.regions) + len(self.organisations) + len(self.schools)
            + len(self.guards) + len(self.equipment) + len(self.devices)
        )  # fmt: skip
