"""Fleet spreadsheets: read CSV/XLSX uploads into checked rows, write templates and exports.

Column headers may be Chinese or English; vehicle types may be written as codes or as
their Chinese or English names. Every bad row is reported with its row number.
Over 300 lines on purpose: the columns' names, the bounds on an upload and the reading
and writing of the same files are one contract, read together.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from core.errors import N_
from fleet.domain import VehicleType
from fleet.schemas import DriverIn, VehicleIn

MAX_ROWS = 20_000
MAX_COLUMNS = 20
# An XLSX is a zip: bound what it unpacks to before any parser sees it. A 20,000-row
# driver file unpacks to about 4 MB; these leave room and stop bombs.
MAX_UNPACKED = 24 * 1024 * 1024
MAX_ENTRY = 16 * 1024 * 1024
MAX_ENTRIES = 200
MAX_SHARED_STRINGS = MAX_ROWS * MAX_COLUMNS
DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"'
)

COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    # kind -> [(field, Chinese header, English header)]
    "vehicles": [
        ("plate", "车牌号", "Plate"),
        ("vehicle_type", "车辆类型", "Vehicle type"),
        ("capacity_kg", "核定载重（kg）", "Capacity (kg)"),
    ],
    "drivers": [
        ("name", "姓名", "Name"),
        ("id_number", "身份证号", "ID number"),
        ("phone", "手机号", "Mobile"),
    ],
}
SCHEMAS: dict[str, type[BaseModel]] = {"vehicles": VehicleIn, "drivers": DriverIn}
SHEETS = {"vehicles": ("车辆", "Vehicles"), "drivers": ("司机", "Drivers")}
VEHICLE_TYPE_NAMES = {
    VehicleType.HEAVY_TRUCK: ("重型货车", "Heavy truck"),
    VehicleType.MEDIUM_TRUCK: ("中型货车", "Medium truck"),
    VehicleType.LIGHT_TRUCK: ("轻型货车", "Light truck"),
    VehicleType.VAN: ("厢式货车", "Van"),
    VehicleType.TRACTOR: ("牵引车", "Tractor unit"),
    VehicleType.TRAILER: ("挂车", "Trailer"),
    VehicleType.TANKER: ("罐车", "Tanker"),
    VehicleType.REFRIGERATED: ("冷藏车", "Refrigerated truck"),
    VehicleType.OTHER: ("其他", "Other"),
}
_TYPE_LOOKUP = {
    name.lower(): code for code, names in VEHICLE_TYPE_NAMES.items() for name in (*names, code)
}


DUPLICATE = {
    "type": "value_error",
    "ctx": {"error": ValueError(N_("This row repeats an earlier row."))},
}


class FileProblem(ValueError):
    """The file as a whole cannot be read (wrong format, no header, too large). `message`
    is untranslated (N_) with `params` for its placeholders."""

    def __init__(self, message: str, **params: Any):
        super().__init__(message % params if params else message)
        self.message, self.params = message, params
        self.fields: list[str] = []  # the columns it is about, as field codes


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def check_xlsx_bounds(data: bytes) -> None:
    """Refuse a workbook that would unpack or parse beyond the limits, before parsing it:
    declared and actual unpacked sizes, the entry count, each sheet's declared dimension,
    and the shared-strings count. Raises FileProblem."""
    too_large = N_("The spreadsheet is too large: at most %(rows)d rows and %(columns)d columns.")
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        entries = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileProblem(N_("This is not a readable .xlsx file.")) from None
    if len(entries) > MAX_ENTRIES:
        raise FileProblem(N_("This is not a readable .xlsx file."))
    if sum(e.file_size for e in entries) > MAX_UNPACKED or any(
        e.file_size > MAX_ENTRY for e in entries
    ):
        raise FileProblem(too_large, rows=MAX_ROWS, columns=MAX_COLUMNS)
    unpacked = 0
    for entry in entries:
        sheet = entry.filename.startswith("xl/worksheets/")
        strings = entry.filename == "xl/sharedStrings.xml"
        head, count, tail = b"", 0, b""
        try:
            with book.open(entry) as member:
                # Read it all (declared sizes can lie; zipfile stops at the declared size
                # and checks the CRC), counting what the parser would have to hold.
                while chunk := member.read(1 << 16):
                    unpacked += len(chunk)
                    if unpacked > MAX_UNPACKED:
                        raise FileProblem(too_large, rows=MAX_ROWS, columns=MAX_COLUMNS)
                    if sheet and len(head) < 4096:
                        head += chunk[:4096]
                    if strings:
                        count += (tail + chunk).count(b"<si") - tail.count(b"<si")
                        tail = chunk[-3:]
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
            raise FileProblem(N_("This is not a readable .xlsx file.")) from None
        if count > MAX_SHARED_STRINGS:
            raise FileProblem(too_large, rows=MAX_ROWS, columns=MAX_COLUMNS)
        if sheet and (found := DIMENSION.search(head)):
            last_column, last_row = (
                found.group(3) or found.group(1),
                found.group(4) or found.group(2),
            )
            if int(last_row) > MAX_ROWS + 1 or _column_number(last_column) > MAX_COLUMNS:
                raise FileProblem(too_large, rows=MAX_ROWS, columns=MAX_COLUMNS)


@dataclass
class Checked:
    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # validated, JSON-ready
    bad: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (row, field, msgs)
    numbers: list[int] = field(default_factory=list)  # each good row's line in the file

    def refuse(self, taken: set[str], key: str, message: str) -> None:
        """Rows whose `key` is in `taken` (registered already) move to the problems."""
        kept, numbers = [], []
        for row, number in zip(self.rows, self.numbers, strict=True):
            if row[key] in taken:
                self.bad.append((number, key, [message]))
            else:
                kept.append(row)
                numbers.append(number)
        self.rows, self.numbers = kept, numbers
        self.bad.sort(key=lambda problem: problem[0])


def _cells(data: bytes, filename: str) -> Iterator[list[str]]:
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        check_xlsx_bounds(data)
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise FileProblem(N_("This is not a readable .xlsx file.")) from exc
        # Bounded both ways whatever the sheet declares: empty rows count towards the limit.
        rows = sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)
        try:
            for row in rows:
                yield ["" if v is None else str(v).strip() for v in row]
        finally:
            book.close()
        return
    if not name.endswith(".csv"):
        raise FileProblem(N_("Upload a .csv or .xlsx file."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileProblem(N_("The CSV file is neither UTF-8 nor GB18030 text."))
    try:
        for row in csv.reader(io.StringIO(text)):
            yield [cell.strip() for cell in row[:MAX_COLUMNS]]
    except csv.Error:
        raise FileProblem(N_("This is not a readable CSV file.")) from None


def _header_map(kind: str, header: list[str]) -> list[str | None]:
    mapped, missing = _fit(kind, header)
    if missing:
        other = "drivers" if kind == "vehicles" else "vehicles"
        if not _fit(other, header)[1]:
            if other == "drivers":
                raise FileProblem(N_("This is a driver file: upload it on the Drivers tab."))
            raise FileProblem(N_("This is a vehicle file: upload it on the Vehicles tab."))
        problem = FileProblem(N_("Columns missing: %(columns)s."), columns=", ".join(missing))
        problem.fields = missing
        raise problem
    return mapped


def _fit(kind: str, header: list[str]) -> tuple[list[str | None], list[str]]:
    """The field under each header cell, and the required fields no cell names."""
    names = {_plain(h): f for f, zh, en in COLUMNS[kind] for h in (zh, en, f)}
    mapped = [names.get(_plain(cell)) for cell in header]
    missing = [f for f, *_ in COLUMNS[kind] if f not in mapped and f != "capacity_kg"]
    return mapped, missing


def _plain(heading: str) -> str:
    """A header cell as matched: any case, brackets full-width or not, spaces ignored
    (核定载重(kg) from an older template is 核定载重（kg）)."""
    return heading.lower().replace("（", "(").replace("）", ")").replace(" ", "")


def column_name(kind: str, field: str, locale: str) -> str:
    """A field's column header in the user's language (the template's header)."""
    for code, zh, en in COLUMNS.get(kind, []):
        if code == field:
            return zh if locale.startswith("zh") else en
    return field


def check_file(kind: str, data: bytes, filename: str, messages: Any) -> Checked:
    """Validate every row; `messages(error)` turns a pydantic error into display text."""
    if kind not in COLUMNS:
        raise FileProblem(N_("Choose vehicles or drivers."))
    rows = _cells(data, filename)
    try:
        header = next(rows)
    except StopIteration:
        raise FileProblem(N_("The file is empty.")) from None
    fields = _header_map(kind, header)
    checked = Checked(kind)
    schema, seen = SCHEMAS[kind], set()
    key = "plate" if kind == "vehicles" else "id_number"
    for number, cells in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:  # counted before empty rows are skipped
            raise FileProblem(N_("At most %(rows)d rows per file."), rows=MAX_ROWS)
        if not any(cells):
            continue
        record = {f: c for f, c in zip(fields, cells, strict=False) if f and c != ""}
        if kind == "vehicles" and "vehicle_type" in record:
            record["vehicle_type"] = _TYPE_LOOKUP.get(
                record["vehicle_type"].lower(), record["vehicle_type"]
            )
        try:
            item = schema.model_validate(record)
        except PydanticError as exc:
            for error in exc.errors():
                where = str(error["loc"][0]) if error["loc"] else ""
                checked.bad.append((number, where, [messages(error)]))
            continue
        value = getattr(item, key)
        if value in seen:
            checked.bad.append((number, key, [messages(DUPLICATE)]))
            continue
        seen.add(value)
        checked.rows.append(item.model_dump(mode="json"))
        checked.numbers.append(number)
    return checked


def example_row(kind: str, locale: str) -> list[str]:
    """The template's filled-in row, in the template's language: it passes as it is."""
    if kind == "drivers":
        return ["张伟", "330482199001011232", "13800000001"]
    return ["浙F12345", _in(locale, VEHICLE_TYPE_NAMES[VehicleType.HEAVY_TRUCK]), "18000"]


def sheet_title(kind: str, locale: str) -> str:
    return _in(locale, SHEETS[kind])


def _in(locale: str, names: tuple[str, str]) -> str:
    return names[0] if locale.startswith("zh") else names[1]


def vehicle_type_names(locale: str) -> list[str]:
    return [zh if locale.startswith("zh") else en for zh, en in VEHICLE_TYPE_NAMES.values()]


def with_type_choices(xlsx: bytes, kind: str, locale: str) -> bytes:
    """The vehicles template's type column as a list to choose from (Excel's validation):
    a clerk picks a type the import knows instead of guessing its name."""
    if kind != "vehicles":
        return xlsx
    from openpyxl import load_workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    book = load_workbook(io.BytesIO(xlsx))
    sheet = book.active
    names = ",".join(vehicle_type_names(locale))
    listed = DataValidation(type="list", formula1=f'"{names}"', allow_blank=True)
    sheet.add_data_validation(listed)
    listed.add(f"B2:B{MAX_ROWS + 1}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def header_row(kind: str, locale: str) -> list[str]:
    return [zh if locale.startswith("zh") else en for _, zh, en in COLUMNS[kind]]
