"""Document numbers and licence plates as the gate reads them.

GB 11643-1999: an 18-character resident ID is a 6-digit division code, an 8-digit
birth date, a 3-digit sequence and a check character (ISO 7064 MOD 11-2, ``X`` for 10).
Plates (GA 36): a province character, an issuing-office letter and five characters;
new-energy plates have six after the letter (8 in all); police, coach, trailer, Hong
Kong/Macao and consular plates end in a special character; embassy plates start with
使; armed-police plates with WJ; military plates with two letters.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"  # index: weighted sum mod 11

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTER = "A-HJ-NP-Z"  # plate letters never use I or O (they read as 1 and 0)
SUFFIXES = "学警挂港澳领试超"

PLATE_PATTERNS = (
    # ordinary (blue/yellow): 鲁N12345, 鲁NA1B23; special last character: 鲁N1234学
    re.compile(rf"^[{PROVINCES}][{LETTER}][{LETTER}0-9]{{5}}$"),
    re.compile(rf"^[{PROVINCES}][{LETTER}][{LETTER}0-9]{{4}}[{SUFFIXES}]$"),
    # new energy, small car: 鲁ND12345 / 鲁NDA1234 (D electric, F hybrid, 3rd place)
    re.compile(rf"^[{PROVINCES}][{LETTER}][DF][{LETTER}0-9][0-9]{{4}}$"),
    # new energy, large vehicle: 鲁N12345D
    re.compile(rf"^[{PROVINCES}][{LETTER}][0-9]{{5}}[DF]$"),
    # embassy: 使014578; armed police: WJ鲁12345 / WJ鲁1234X; military: VA12345
    re.compile(r"^使[0-9]{6}$"),
    re.compile(rf"^WJ[{PROVINCES}]?[0-9]{{4}}[0-9A-Z]$"),
    re.compile(r"^[A-Z]{2}[0-9]{5}$"),
)


def id_check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def normalise_id_number(value: str) -> str:
    return re.sub(r"[\s\-]", "", value or "").upper()


def birth_date_from_id(number: str) -> dt.date | None:
    """The birth date an 18-character ID carries (None when it carries no real date)."""
    number = normalise_id_number(number)
    if len(number) != 18 or not number[6:14].isdigit():
        return None
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def validate_id_number(value: str) -> str:
    """An 18-character resident ID: digits, a real birth date, the right check
    character. Returns the normalised number; raises ValidationError saying what is wrong."""
    number = normalise_id_number(value)
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise ValidationError(
            _("A resident ID number has 17 digits and a check digit (0-9 or X)."),
            code="id_format",
        )
    born = birth_date_from_id(number)
    if born is None or born.year < 1800:
        raise ValidationError(
            _("The ID number does not contain a valid birth date."), code="id_birth"
        )
    if id_check_character(number[:17]) != number[17]:
        raise ValidationError(
            _("The ID number's check digit is wrong: please check the number."), code="id_check"
        )
    return number


def normalise_plate(value: str) -> str:
    """Spaces, dots and dashes are how plates are written, not part of them."""
    return re.sub(r"[\s\-·•.]", "", value or "").upper()


def is_valid_plate(value: str) -> bool:
    plate = normalise_plate(value)
    return any(p.fullmatch(plate) for p in PLATE_PATTERNS)


def validate_plate(value: str) -> str:
    """A Chinese licence plate in any current format; returns it normalised."""
    plate = normalise_plate(value)
    if not any(p.fullmatch(plate) for p in PLATE_PATTERNS):
        raise ValidationError(
            _("Not a valid licence plate (e.g. 鲁N12345, or 8 characters for new energy)."),
            code="plate",
        )
    return plate
