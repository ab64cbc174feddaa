"""A pass as a PDF, A4 for printing or phone-sized, or in the national layout of 2022 (A4,
green ground, the 12-digit number, the QR, plate, crew, route and validity): the same QR
text as every other copy, so each is equally valid. The Chinese text is set in WenQuanYi
Micro Hei (passes/fonts/), embedded (the glyphs used), so every viewer shows the same
letters; a viewer's own substitute for a named-only font once spaced a plate apart."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from trust import qr

FONT = "WenQuanYiMicroHei"
FONT_FILE = Path(__file__).with_name("fonts") / "wqy-microhei" / "wqy-microhei.ttc"
PHONE = (90 * mm, 160 * mm)
SIZES = {"a4": A4, "phone": PHONE, "national": A4}
GREEN, GROUND = (0.04, 0.42, 0.23), (0.86, 0.95, 0.88)  # the national pass's green


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE), subfontIndex=0))
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


def render_national(
    *, code: str, plate: str, title: str, number: str, facts: Sequence[tuple[str, str]]
) -> bytes:
    """The national layout: a green ground and frame, the title, the 12-digit number, the
    plate, the code, then the facts in a ruled table (crew, route with county codes,
    validity, issuer)."""
    width, height = A4
    font = _font()
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle(f"{title} {number}")
    page.setFillColorRGB(*GROUND)
    page.rect(0, 0, width, height, stroke=0, fill=1)
    page.setStrokeColorRGB(*GREEN)
    page.setLineWidth(3)
    page.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm, stroke=1, fill=0)
    page.setFillColorRGB(*GREEN)
    y = height - 32 * mm
    page.setFont(font, 24)
    page.drawCentredString(width / 2, y, title)
    y -= 12 * mm
    page.setFont(font, 18)
    page.drawCentredString(width / 2, y, number)
    y -= 16 * mm
    page.setFillColorRGB(0, 0, 0)
    page.setFont(font, 30)
    page.drawCentredString(width / 2, y, plate)
    side = 80 * mm
    y -= side + 6 * mm
    page.setFillColorRGB(1, 1, 1)  # the code on white, with its quiet zone
    page.rect((width - side) / 2, y, side, side, stroke=0, fill=1)
    page.drawImage(
        ImageReader(io.BytesIO(qr.png(code, scale=10))), (width - side) / 2, y, side, side
    )
    left, right, row = 28 * mm, width - 28 * mm, 11 * mm
    y -= 8 * mm
    page.setLineWidth(0.8)
    page.setFont(font, 12)
    for label, value in facts:
        page.setStrokeColorRGB(*GREEN)
        page.line(left, y, right, y)
        page.setFillColorRGB(*GREEN)
        page.drawString(left + 2 * mm, y - 7.5 * mm, label)
        page.setFillColorRGB(0, 0, 0)
        page.drawString(left + 42 * mm, y - 7.5 * mm, value)
        y -= row
    page.line(left, y, right, y)
    page.showPage()
    page.save()
    return buffer.getvalue()


def render_lines(*, title: str, subtitle: str, lines: Sequence[str]) -> bytes:
    """A record to print and sign (a trip's timeline): the title, a line under it, then
    one line each, on as many A4 pages as they need."""
    width, height = A4
    font = _font()
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle(title)
    margin, line = 20 * mm, 7 * mm

    def top() -> float:
        page.setFont(font, 16)
        page.drawString(margin, height - margin, title)
        page.setFont(font, 10)
        page.drawString(margin, height - margin - 7 * mm, subtitle)
        page.setFont(font, 11)
        return height - margin - 18 * mm

    y = top()
    for text in lines:
        if y < margin:
            page.showPage()
            y = top()
        page.drawString(margin, y, text)
        y -= line
    page.showPage()
    page.save()
    return buffer.getvalue()
