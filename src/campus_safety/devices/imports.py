"""Devices to and from .xlsx (rules in spreadsheets.py), like the other registries.

Credentials may be given on import (a blank cell keeps the stored one) and are never
exported: their columns come back empty.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from campus_safety import spreadsheets as xl
from campus_safety.devices import identifiers, services
from campus_safety.devices.models import Device, KeyArea
from campus_safety.orgs.models import School

KIND_ALIASES = {
    "摄像机": "camera",
    "摄像头": "camera",
    "网络摄像机": "camera",
    "枪机": "camera",
    "球机": "camera",
    "硬盘录像机": "nvr",
    "网络硬盘录像机": "nvr",
    "录像机": "nvr",
    "NVR": "nvr",
    "DVR": "nvr",
    "一键报警": "one_key_alarm",
    "一键式紧急报警": "one_key_alarm",
    "一键报警装置": "one_key_alarm",
    "入侵探测器": "intrusion_detector",
    "紧急按钮": "emergency_button",
    "紧急报警按钮": "emergency_button",
    "巡更点": "patrol_checkpoint",
    "巡查点": "patrol_checkpoint",
    "门禁控制器": "access_controller",
    "报警主机": "alarm_controller",
}
PROTOCOL_ALIASES = {
    "国标": "gb28181",
    "GB28181": "gb28181",
    "GB/T28181": "gb28181",
    "gb/t 28181": "gb28181",
    "mqtt": "mqtt",
    "http": "http",
}
KEY_AREA_ALIASES = {
    "学校周边": "surroundings",
    "大门外": "outside_gate",
    "周界": "perimeter",
    "出入口": "entrance",
    "校门": "entrance",
    "门卫室": "gate_room",
    "传达室": "gate_room",
    "操场": "outdoor_crowd",
    "运动场": "outdoor_crowd",
    "教学区": "teaching_area",
    "宿舍": "dormitory",
    "学生宿舍": "dormitory",
    "幼儿活动室": "kindergarten_rooms",
    "食堂": "canteen",
    "实验室": "hazardous_store",
    "危化品储存室": "hazardous_store",
    "配电室": "utility_rooms",
    "财务室": "finance_archives",
    "档案室": "finance_archives",
    "监控中心": "control_room",
    "安防监控中心": "control_room",
    "停车场": "parking",
    "其他": "other",
}
CREDENTIALS = ("password", "secret")


def parse_device_id(value: Any) -> str:
    """GB/T 28181: digits only, 18–20 long (a spreadsheet may have made it a number)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    try:
        return identifiers.validate_device_id(text)
    except identifiers.InvalidDeviceId:
        raise xl.CellError(_("a GB/T 28181 ID has 18 to 20 digits")) from None


def parse_url(value: Any) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 500:
        raise xl.CellError(_("not an http(s) address"))
    return text


def parse_credential(value: Any) -> str:
    text = str(value)
    if len(text) > 128:
        raise xl.CellError(_("longer than %(n)s characters") % {"n": 128})
    return text


def parse_interval(value: Any) -> int:
    number = xl.parse_int(value)
    if not 5 <= number <= 3600:
        raise xl.CellError(_("must be between %(low)s and %(high)s") % {"low": 5, "high": 3600})
    return number


def parse_count(value: Any) -> int:
    number = xl.parse_int(value)
    if not 1 <= number <= 20:
        raise xl.CellError(_("must be between %(low)s and %(high)s") % {"low": 1, "high": 20})
    return number


COLUMNS = (
    xl.Column(
        "device_id",
        "设备编码",
        parse_device_id,
        example="37140200111187000001",
        help="GB/T 28181 编码，18–20 位数字；第 11–13 位为设备类型",
    ),
    xl.Column("name", "设备名称", xl.parse_text(128), example="德城区第一实验小学 NVR"),
    xl.Column(
        "kind",
        "设备类型",
        xl.parse_choice(Device.Kind.choices, KIND_ALIASES),
        example="硬盘录像机",
        help="摄像机/硬盘录像机/一键报警/入侵探测器/紧急按钮/巡更点/门禁控制器/报警主机",
    ),
    xl.Column(
        "protocol",
        "接入协议",
        xl.parse_choice(Device.Protocol.choices, PROTOCOL_ALIASES),
        example="GB/T 28181",
        help="GB/T 28181、MQTT 或 HTTP",
    ),
    xl.Column("school", "学校标识码", xl.parse_digits(10), example="1371402001"),
    xl.Column(
        "key_area",
        "重点部位",
        xl.parse_choice(KeyArea.choices, KEY_AREA_ALIASES),
        required=False,
        example="门卫室",
        help="GB/T 29315-2022 重点部位和区域",
    ),
    xl.Column(
        "parent",
        "上级设备编码",
        parse_device_id,
        required=False,
        help="通道所属的硬盘录像机（须为同一学校的 NVR）",
    ),
    xl.Column("manufacturer", "厂商", xl.parse_text(64), required=False, example="海康威视"),
    xl.Column("model", "型号", xl.parse_text(64), required=False),
    xl.Column("address", "安装位置", xl.parse_text(255), required=False, example="校门口"),
    xl.Column("longitude", "经度", xl.parse_float(-180, 180), required=False),
    xl.Column("latitude", "纬度", xl.parse_float(-90, 90), required=False),
    xl.Column("keepalive_interval", "心跳间隔(秒)", parse_interval, required=False, example=60),
    xl.Column("keepalive_count", "心跳超时次数", parse_count, required=False, example=3),
    xl.Column("snapshot_url", "抓图地址", parse_url, required=False),
    xl.Column(
        "password",
        "设备密码",
        parse_credential,
        required=False,
        help="GB/T 28181 注册密码；留空沿用已存密码或平台默认密码。导出时不含",
    ),
    xl.Column(
        "secret",
        "签名密钥",
        parse_credential,
        required=False,
        help="HTTP 接入的 HMAC 密钥；导出时不含",
    ),
)
FIELDS = [c.key for c in COLUMNS if c.key not in ("device_id", "school", "parent", *CREDENTIALS)]


def check(
    rows: list[tuple[int, dict[str, Any]]], user: Any, errors: list[xl.RowError]
) -> list[tuple[int, dict[str, Any]]]:
    """References, scope, duplicates and GB/T 28181 consistency, all rows at once."""
    school_codes = {row["school"] for _, row in rows}
    schools = {s.code: s for s in School.objects.visible_to(user).filter(code__in=school_codes)}
    known_schools = set(School.objects.filter(code__in=school_codes).values_list("code", flat=True))
    ids = {row["device_id"] for _, row in rows} | {
        row["parent"] for _, row in rows if "parent" in row
    }
    existing = {
        d.device_id: d for d in Device.objects.filter(device_id__in=ids).select_related("school")
    }
    visible = set(
        Device.objects.visible_to(user)
        .filter(device_id__in=ids)
        .values_list("device_id", flat=True)
    )
    in_file: dict[str, tuple[int, dict[str, Any]]] = {}
    good = []
    for number, row in rows:
        problems: list[tuple[str, Any]] = []
        device_id = row["device_id"]
        if device_id in in_file:
            problems.append(
                ("设备编码", _("duplicate of row %(n)s") % {"n": in_file[device_id][0]})
            )
        in_file.setdefault(device_id, (number, row))
        if device_id in existing and device_id not in visible:
            problems.append(("设备编码", _("this device is outside your scope")))
        school = schools.get(row["school"])
        if school is None:
            outside = row["school"] in known_schools
            problems.append(
                ("学校标识码", _("outside your scope") if outside else _("unknown school code"))
            )
        if mismatch := services.type_mismatch(device_id, row["kind"]):
            problems.append(("设备类型", mismatch))
        parent_id = row.get("parent")
        if parent_id and (problem := _parent_problem(row, in_file, existing, visible)):
            problems.append(("上级设备编码", problem))
        current = existing.get(device_id)
        if row["protocol"] == Device.Protocol.HTTP and not (
            row.get("secret") or (current is not None and current.secret)
        ):
            problems.append(("签名密钥", _("an HTTP device needs its signing secret")))
        if problems:
            errors.extend(xl.RowError(number, col, str(reason)) for col, reason in problems)
            continue
        row["school"] = school
        good.append((number, row))
    return good


def _parent_problem(
    row: dict[str, Any],
    in_file: dict[str, tuple[int, dict[str, Any]]],
    existing: dict[str, Device],
    visible: set[str],
) -> str:
    """Why the row's parent cannot hold it ("" when it can): it must be an NVR of the
    same school, known already (in scope) or listed earlier in the file."""
    parent_id = row["parent"]
    if parent_id == row["device_id"]:
        return str(_("a device cannot be its own parent"))
    if parent_id in in_file:
        kind, school_code = in_file[parent_id][1]["kind"], in_file[parent_id][1]["school"]
        school_code = getattr(school_code, "code", school_code)
    elif parent_id in visible:
        parent = existing[parent_id]
        kind, school_code = parent.kind, parent.school.code if parent.school else None
    else:
        return str(_("unknown device (list NVRs before their channels)"))
    if kind not in services.PARENT_KINDS:
        return str(_("the parent device must be an NVR"))
    if school_code != row["school"]:
        return str(_("the parent NVR belongs to another school"))
    return ""


def write(rows: list[dict[str, Any]], user: Any) -> tuple[int, int]:
    """Parents first (NVRs before their channels), bulk, in the caller's transaction."""
    ids = [r["device_id"] for r in rows] + [r["parent"] for r in rows if r.get("parent")]
    existing = {d.device_id: d for d in Device.objects.filter(device_id__in=ids)}
    created, updated = 0, 0
    pending = sorted(rows, key=lambda r: bool(r.get("parent")))
    for wave in (
        [r for r in pending if not r.get("parent")],
        [r for r in pending if r.get("parent")],
    ):
        new, changed = [], []
        for row in wave:
            device = existing.get(row["device_id"]) or Device(device_id=row["device_id"])
            for key in FIELDS:
                if key in row:
                    setattr(device, key, row[key])
            device.school = row["school"]
            device.parent = existing[row["parent"]] if row.get("parent") else None
            for key in CREDENTIALS:
                if row.get(key):
                    setattr(device, key, row[key])
            (changed if device.pk else new).append(device)
        Device.objects.bulk_create(new, batch_size=500)
        Device.objects.bulk_update(
            changed, [*FIELDS, "school", "parent", *CREDENTIALS], batch_size=500
        )
        existing.update((d.device_id, d) for d in new)
        created, updated = created + len(new), updated + len(changed)
    services.refresh_directory([r["device_id"] for r in rows])
    return created, updated


def export_row(device: Device, reveal: bool) -> list[Any]:
    """Credentials are never exported, whatever the reader may reveal."""
    out = []
    for column in COLUMNS:
        key = column.key
        if key in CREDENTIALS:
            value = ""
        elif key == "school":
            value = device.school.code if device.school else ""
        elif key == "parent":
            value = device.parent.device_id if device.parent else ""
        elif key == "kind":
            value = device.get_kind_display()
        elif key == "protocol":
            value = device.get_protocol_display()
        elif key == "key_area":
            value = device.get_key_area_display() if device.key_area else ""
        else:
            value = getattr(device, key)
        out.append(value)
    return out


REGISTRY = xl.register(
    xl.Registry(
        kind="devices",
        title="设备",
        columns=COLUMNS,
        check=check,
        write=write,
        queryset=lambda user: Device.objects.visible_to(user).select_related("school", "parent"),
        export_row=export_row,
    )
)
