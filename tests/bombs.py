"""Hostile spreadsheets for the fleet import: each small on the wire, costly to parse
without bounds. Used by the import tests and by `scripts/bench_import.py`."""

from __future__ import annotations

import io
import struct
import zipfile

from openpyxl import Workbook

HEADER = ["姓名", "身份证号", "手机号"]


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewrite(data: bytes, replace: dict[str, bytes]) -> bytes:
    """The same workbook with some entries replaced or added (deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        names = [e.filename for e in source.infolist()]
        for name in names + [n for n in replace if n not in names]:
            body = replace[name] if name in replace else source.read(name)
            target.writestr(name, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _with_shared_strings(table: bytes) -> bytes:
    """A workbook whose parser must load `table` as its shared strings."""
    data = workbook([HEADER, ["a", "b", "c"]])
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        types = book.read("[Content_Types].xml")
    override = (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    types = types.replace(b"</Types>", override)
    return _rewrite(data, {"[Content_Types].xml": types, "xl/sharedStrings.xml": table})


def _sheet(dimension: str, rows_xml: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows_xml}</sheetData></worksheet>'
    ).encode()


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _header_row() -> str:
    cells = "".join(_cell(f"{c}1", h) for c, h in zip("ABC", HEADER, strict=True))
    return f'<row r="1">{cells}</row>'


def dimension_bomb() -> bytes:
    """Declares A1:XFD1048576 and has one cell in the last row."""
    last = f'<row r="1048576">{_cell("A1048576", "x")}</row>'
    sheet = _sheet("A1:XFD1048576", _header_row() + last)
    return _rewrite(workbook([HEADER]), {"xl/worksheets/sheet1.xml": sheet})


def lying_dimension_bomb() -> bytes:
    """Declares A1:C1 but has a cell a million rows down and one 16,000 columns across."""
    far = f'<row r="1048576">{_cell("A1048576", "x")}</row>'
    wide = f'<row r="2">{_cell("XFD2", "x")}</row>'
    sheet = _sheet("A1:C1", _header_row() + wide + far)
    return _rewrite(workbook([HEADER]), {"xl/worksheets/sheet1.xml": sheet})


def shared_strings_bomb(megabytes: int = 200) -> bytes:
    """A shared-strings table that unpacks to `megabytes` MB from well under 1 MB."""
    item = "<si><t>" + "x" * 1000 + "</t></si>"
    count = megabytes * 1000
    table = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{count}" uniqueCount="{count}">' + item * count + "</sst>"
    ).encode()
    return _with_shared_strings(table)


def many_strings_bomb() -> bytes:
    """Small in bytes, but a million tiny shared strings for the parser to hold."""
    count = 1_000_000
    table = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + "<si><t/></si>" * count
        + "</sst>"
    ).encode()
    return _with_shared_strings(table)


def understated_size_bomb() -> bytes:
    """The shared-strings bomb with every declared unpacked size rewritten to 1 KB."""
    data = bytearray(shared_strings_bomb(100))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            struct.pack_into("<I", data, at + offset, 1024)
            start = at + 4
    return bytes(data)


BOMBS = {
    "dimension": dimension_bomb,
    "lying dimension": lying_dimension_bomb,
    "shared strings (200 MB)": shared_strings_bomb,
    "a million empty strings": many_strings_bomb,
    "understated sizes": understated_size_bomb,
}
