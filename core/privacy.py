"""Masking of personal data wherever it is shown but not owned: lists, logs, public pages.

Pure standard library, so every layer may use it.
"""

from __future__ import annotations

import re

# Path segments that carry a secret or a person's data: pass tokens, the driver's key, an
# upload's token, a plate (the vehicle's history page).
SECRET_IN_PATH = re.compile(r"(/(?:[Pp]|d|import|history/plate)/)([^/?#\s]{0,4})[^/?#\s]*")


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


def mask_plate(plate: str) -> str:
    """浙F12345 -> 浙F1***5: what an officer who typed another plate may see of the pass's
    (that it differs, and roughly how), not a plate to read off for every number tried."""
    return plate[:3] + "*" * (len(plate) - 4) + plate[-1:] if len(plate) > 4 else "****"


def mask_target(target: str) -> str:
    """A request target for the logs: /P/ABCD1234...?driver=139... -> /P/ABCD***?driver=***.
    Tokens keep four characters (enough to tell two requests apart), every query value
    is hidden (phones, names and plates are typed into filters)."""
    path, sep, query = target.partition("?")
    path = SECRET_IN_PATH.sub(lambda m: f"{m[1]}{m[2]}***", path)
    if sep:
        query = "&".join(
            name + ("=***" if eq else "")
            for name, eq, _value in (part.partition("=") for part in query.split("&"))
        )
    return path + sep + query
