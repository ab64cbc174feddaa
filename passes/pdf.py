"""A pass as a PDF, A4 for printing or phone-sized: the same QR text as every other copy,
so it is equally valid. reportlab's built-in CJK font (STSong-Light) needs no font file."""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from trust import qr

FONT = "STSong-Light"
PHONE = (90 * mm, 160 * mm)
SIZES = {"a4": A4, "phone": PHONE}


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def render(
    *, code: str, plate: str, title: str, facts: Sequence[tuple[str, str]], size: str = "a4"
) -> bytes:
    """One page: the title, the plate, the code (quiet zone kept), then label/value lines."""
    width, height = SIZES[size]
    font = _font()
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(width, height))
    page.setTitle(f"{title} {plate}")
    margin = 8 * mm if size == "phone" else 20 * mm
    y = height - margin
    page.setFont(font, 12 if size == "phone" else 18)
    page.drawCentredString(width / 2, y, title)
    y -= (10 if size == "phone" else 14) * mm
    page.setFont(font, 22 if size == "phone" else 32)
    page.drawCentredString(width / 2, y, plate)
    side = min(width - 2 * margin, (70 if size == "phone" else 110) * mm)
    y -= side + 4 * mm
    page.drawImage(
        ImageReader(io.BytesIO(qr.png(code, scale=10))), (width - side) / 2, y, side, side
    )
    page.setFont(font, 8 if size == "phone" else 11)
    line = (4.5 if size == "phone" else 7) * mm
    for label, value in facts:
        y -= line
        page.drawString(margin, y, f"{label}: {value}")
    page.showPage()
    page.save()
    return buffer.getvalue()
