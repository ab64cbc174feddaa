"""The QR code of a pass's code in each token version: characters, QR version (error
correction M, alphanumeric mode) and the size of one module when the code is shown 40 mm
wide (a phone's screen) and printed 30 mm wide (the PDF), for a few base URLs and plates.

    .venv/bin/python scripts/measure_qr.py
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trust import qr, tokens  # noqa: E402

BASES = ("https://pass.pinghu.gov.cn", "https://txz.jiaxing.zj.gov.cn:8443")
PLATES = ("浙F12345", "浙FD12345", "沪A·12345挂")
START = datetime(2026, 12, 1, tzinfo=UTC)


def row(base: str, plate: str, issuer: str | None) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    claims = tokens.Claims(3, 123_456, START, START + timedelta(days=30), plate, issuer)
    text = tokens.qr_text(base, tokens.sign(replace(claims), key))
    version = qr.version(text)
    modules = 17 + 4 * version + 8  # with the 4-module quiet zone on each side
    name = f"v{2 if issuer else 1}"
    return (
        f"| {base} | {plate} | {name} | {len(text)} | {version} | {modules} | "
        f"{40 / modules:.2f} | {30 / modules:.2f} |"
    )


def main() -> None:
    print(
        "| base URL | plate | token | QR text chars | QR version | modules | "
        "mm per module at 40 mm | at 30 mm |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for base in BASES:
        for plate in PLATES:
            for issuer in (None, "330482"):
                print(row(base, plate, issuer))


if __name__ == "__main__":
    main()
