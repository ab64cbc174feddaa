"""CSV and XLSX that are safe to open: every export and template goes through here.

Text an enterprise typed may start like a formula (`=cmd|' /C calc'!A0`); spreadsheet
programs run such cells. CSV cells that start with = + - @ tab or CR get a leading
apostrophe (OWASP's CSV injection rule); XLSX text cells are typed as strings, so they
are never formulas. Control characters stored before input refused them are replaced,
so one bad row cannot break an export for everyone.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 (and so XLSX) cannot hold, and what no exported text should carry.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
BOM = "\ufeff"  # Excel then reads UTF-8 (Chinese) correctly


def clean(value: str) -> str:
    return CONTROL.sub("\ufffd", value)


def csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):  # local time, as the exports hand it over
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if not isinstance(value, str):
        return value
    value = clean(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_stream(header: list[str], rows: Iterable[list[Any]], batch: int = 1000) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark, a chunk per `batch` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([csv_cell(v) for v in header])
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(v) for v in row])
        if n % batch == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_bytes(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    return b"".join(csv_stream(header, rows))


DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def _xlsx_row(sheet: Any, row: list[Any]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in row:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, clean(value))
            cell.data_type = "s"  # text, even when it starts with "="
            cells.append(cell)
        elif isinstance(value, datetime):  # a real date and time, sortable in the sheet
            cell = WriteOnlyCell(sheet, value.replace(tzinfo=None))
            cell.number_format = DATETIME_FORMAT
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def _width(value: Any) -> int:
    """Columns a value takes in a sheet: Chinese characters count two."""
    if isinstance(value, datetime):
        return len("2026-01-01 00:00:00")
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def xlsx_into(out: IO[bytes], header: list[str], rows: Iterable[list[Any]], title: str) -> None:
    """A write-only workbook: rows stream through, none is kept in memory. Widths come
    from the header and the first row (all a streamed sheet can know before writing);
    the header row stays in view while scrolling."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    rows = iter(rows)
    first = next(rows, None)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for i, heading in enumerate(header):
        sample = first[i] if first is not None and i < len(first) else None
        width = max(_width(heading), _width(sample), 6) + 2
        sheet.column_dimensions[get_column_letter(i + 1)].width = min(width, 60)
    sheet.append(_xlsx_row(sheet, header))
    if first is not None:
        sheet.append(_xlsx_row(sheet, first))
    for row in rows:
        sheet.append(_xlsx_row(sheet, row))
    book.save(out)


def xlsx_bytes(header: list[str], rows: Iterable[list[Any]], title: str) -> bytes:
    buffer = io.BytesIO()
    xlsx_into(buffer, header, rows, title)
    return buffer.getvalue()


def xlsx_file(header: list[str], rows: Iterable[list[Any]], title: str) -> IO[bytes]:
    """Spooled to a temporary file, rewound, for send_file (which closes it)."""
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 - handed to send_file, which closes it
    xlsx_into(spooled, header, rows, title)
    spooled.seek(0)
    return spooled
