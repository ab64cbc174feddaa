"""Fleet rules: mainland plates, vehicle types, resident ID numbers.

Pure standard library; validators return a normalised value or raise ValueError with an
untranslated message (N_).
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from core.errors import N_

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# The plate's province character of an administrative area code's first two digits (GB/T 2260).
AREA_PROVINCE = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉",
    "23": "黑", "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣",
    "37": "鲁", "41": "豫", "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼",
    "50": "渝", "51": "川", "52": "贵", "53": "云", "54": "藏", "61": "陕", "62": "甘",
    "63": "青", "64": "宁", "65": "新",
}  # fmt: skip


def provinces_from(area_code: str) -> list[str]:
    """Every province character, the jurisdiction's own first (a picker's order)."""
    own = AREA_PROVINCE.get(area_code[:2])
    return ([own] if own else []) + [p for p in PROVINCES if p != own]


# Issuing-office letters and serial letters never use I or O (they read as 1 and 0).
LETTER = "A-HJ-NP-Z"
ALNUM = f"{LETTER}0-9"
PLATE_PATTERNS = (
    # Ordinary plate: 浙F12345, 浙FA1B23.
    re.compile(f"[{PROVINCES}][{LETTER}][{ALNUM}]{{5}}"),
    # New-energy small car: 浙FD12345 (D electric, F hybrid, then a letter or digit, 4 digits).
    re.compile(f"[{PROVINCES}][{LETTER}][DF][{ALNUM}][0-9]{{4}}"),
    # New-energy large vehicle: 浙F12345D.
    re.compile(f"[{PROVINCES}][{LETTER}][0-9]{{5}}[DF]"),
    # Trailer: 浙F1234挂.
    re.compile(f"[{PROVINCES}][{LETTER}][{ALNUM}]{{4}}挂"),
)


# What people type between a plate's characters; never part of the plate. (The offline
# scanner's copy, static/js/rules.js, is held to this one by a test.)
PLATE_NOISE = re.compile(r"[\s·•.\-]")


def clean_plate(raw: str) -> str:
    """A plate as typed, without spaces, dots and dashes, in capitals (not yet judged)."""
    return PLATE_NOISE.sub("", raw).upper()


def normalise_plate(raw: str) -> str:
    plate = clean_plate(raw)
    if "学" in plate:
        raise ValueError(N_("Learner plates (学) cannot apply for freight passes."))
    if "警" in plate:
        raise ValueError(N_("Police plates (警) do not need freight passes."))
    if not any(p.fullmatch(plate) for p in PLATE_PATTERNS):
        raise ValueError(N_("Enter a mainland plate such as 浙F12345, 浙FD12345 or 浙F1234挂."))
    return plate


class VehicleType(StrEnum):
    HEAVY_TRUCK = "heavy_truck"
    MEDIUM_TRUCK = "medium_truck"
    LIGHT_TRUCK = "light_truck"
    VAN = "van"
    TRACTOR = "tractor"
    TRAILER = "trailer"
    TANKER = "tanker"
    REFRIGERATED = "refrigerated"
    OTHER = "other"


# GB 11643-1999: 17 digits, then a check character over them with these weights, mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str) -> str:
    number = re.sub(r"\s", "", raw).upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise ValueError(N_("A resident ID number has 17 digits and a final digit or X."))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError(N_("The birth date inside this ID number is not a real date.")) from None
    if born.year < 1900:
        raise ValueError(N_("The birth date inside this ID number is not a real date."))
    if id_check_char(number[:17]) != number[17]:
        raise ValueError(N_("The last character of this ID number is wrong; please re-check it."))
    return number
