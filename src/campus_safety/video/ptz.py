"""GB/T 28181 PTZ command (附录 A.3, 前端设备控制协议): the 8-byte ``PTZCmd`` a
DeviceControl message carries, as 16 hex digits. Pure: no I/O, no Django.

    byte 1  0xA5
    byte 2  version (high nibble, 0) | check (low nibble) = (A + 5 + version) % 16
    byte 3  address, low 8 bits
    byte 4  instruction: 0x01 right, 0x02 left, 0x04 down, 0x08 up, 0x10 zoom in,
            0x20 zoom out; 0x81/0x82/0x83 set/call/delete preset; 0x00 stop
    byte 5  pan speed (or 0 for presets)
    byte 6  tilt speed (or the preset number)
    byte 7  zoom speed (high nibble) | address bits 8–11 (low nibble)
    byte 8  checksum = (bytes 1–7) % 256
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

MOVES = {"right": 0x01, "left": 0x02, "down": 0x04, "up": 0x08, "zoom_in": 0x10, "zoom_out": 0x20}
PRESETS = {"preset_set": 0x81, "preset_call": 0x82, "preset_delete": 0x83}
ACTIONS = ("stop", *MOVES, *PRESETS)


class PtzError(ValueError):
    pass


@dataclass(frozen=True)
class PtzCommand:
    instruction: int
    pan_speed: int = 0
    tilt_speed: int = 0
    zoom_speed: int = 0
    address: int = 0


def encode(command: PtzCommand) -> str:
    """The 16 upper-case hex digits of the command."""
    if not 0 <= command.address <= 0xFFF:
        raise PtzError("address out of range (0–4095)")
    if not (0 <= command.pan_speed <= 255 and 0 <= command.tilt_speed <= 255):
        raise PtzError("speed out of range (0–255)")
    if not 0 <= command.zoom_speed <= 15:
        raise PtzError("zoom speed out of range (0–15)")
    first, version = 0xA5, 0
    second = (version << 4) | (((first >> 4) + (first & 0x0F) + version) % 16)
    body = [
        first,
        second,
        command.address & 0xFF,
        command.instruction & 0xFF,
        command.pan_speed,
        command.tilt_speed,
        (command.zoom_speed << 4) | (command.address >> 8),
    ]
    return bytes([*body, sum(body) % 256]).hex().upper()


def decode(text: str) -> PtzCommand:
    """Back from the hex digits; PtzError when the header or a check digit is wrong."""
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise PtzError("not hexadecimal") from None
    if len(data) != 8 or data[0] != 0xA5:
        raise PtzError("not a PTZ command")
    if data[1] & 0x0F != ((0xA + 0x5 + (data[1] >> 4)) % 16):
        raise PtzError("bad check nibble")
    if sum(data[:7]) % 256 != data[7]:
        raise PtzError("bad checksum")
    return PtzCommand(
        instruction=data[3],
        pan_speed=data[4],
        tilt_speed=data[5],
        zoom_speed=data[6] >> 4,
        address=data[2] | ((data[6] & 0x0F) << 8),
    )


def command(action: str, speed: int = 128, preset: int = 1, address: int = 1) -> PtzCommand:
    """A named action: a move at ``speed`` (0–255), stop, or a preset (1–255); address 1
    as cameras are set up by default."""
    if action == "stop":
        return PtzCommand(0, address=address)
    if action in MOVES:
        instruction = MOVES[action]
        pan = speed if action in ("left", "right") else 0
        tilt = speed if action in ("up", "down") else 0
        zoom = min(speed // 16, 15) if action.startswith("zoom") else 0
        return PtzCommand(instruction, pan, tilt, zoom, address)
    if action in PRESETS:
        if not 1 <= preset <= 255:
            raise PtzError("preset out of range (1–255)")
        return PtzCommand(PRESETS[action], 0, preset, address=address)
    raise PtzError(f"unknown action {action!r}")


def device_control(channel_id: str, sn: int, ptz_cmd: str) -> bytes:
    """The MANSCDP DeviceControl body carrying the command (GB2312 declared, ASCII)."""
    return (
        '<?xml version="1.0" encoding="GB2312"?>\r\n<Control>\r\n'
        "<CmdType>DeviceControl</CmdType>\r\n"
        f"<SN>{int(sn)}</SN>\r\n<DeviceID>{escape(channel_id)}</DeviceID>\r\n"
        f"<PTZCmd>{escape(ptz_cmd)}</PTZCmd>\r\n"
        "<Info><ControlPriority>5</ControlPriority></Info>\r\n</Control>\r\n"
    ).encode("ascii")


def key_frame_request(channel_id: str, sn: int) -> bytes:
    """DeviceControl 强制关键帧 (GB/T 28181-2016 A.2.3.1, spelled ``IFameCmd`` there):
    the channel's encoder sends a key frame now instead of at the end of its GOP."""
    return (
        '<?xml version="1.0" encoding="GB2312"?>\r\n<Control>\r\n'
        "<CmdType>DeviceControl</CmdType>\r\n"
        f"<SN>{int(sn)}</SN>\r\n<DeviceID>{escape(channel_id)}</DeviceID>\r\n"
        "<IFameCmd>Send</IFameCmd>\r\n</Control>\r\n"
    ).encode("ascii")
