"""Masking of personal data wherever it is shown but not owned: lists, logs, public pages.

Pure standard library, so every layer may use it.
"""

from __future__ import annotations


def mask_mobile(mobile: str) -> str:
    """+8613812345678 -> 138****5678 (lists and logs show no full numbers)."""
    local = mobile[3:] if mobile.startswith("+86") else mobile
    return local[:3] + "****" + local[-4:] if len(local) >= 7 else "****"


def mask_id_number(number: str) -> str:
    """330482199001011234 -> 330482********1234: region kept, birth date hidden."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "****"


def mask_name(name: str) -> str:
    """张三丰 -> 张*丰, 张三 -> 张*: enough for an officer to compare, not to identify."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
