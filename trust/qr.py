"""QR images of a pass's code: error correction M, alphanumeric mode (the text is upper case)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _code(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(text, optimize=0)
    code.make(fit=True)
    return code


def version(text: str) -> int:
    return _code(text).version


def png(text: str, scale: int = 8) -> bytes:
    code = _code(text)
    code.box_size = scale
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def svg(text: str) -> str:
    image = _code(text).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")
