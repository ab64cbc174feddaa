"""Fleet spreadsheets: read CSV/XLSX uploads into checked rows, write templates and exports.

Column headers may be Chinese or English; vehicle types may be written as codes or as
their Chinese or English names. Every bad row is reported with its row number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from errors import N_
from fleet.domain import VehicleType
from fleet.schemas import DriverIn, VehicleIn

MAX_ROWS = 20_000

COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    # kind -> [(field, Chinese header, English header)]
    "vehicles": [
        ("plate", "车牌号", "Plate"),
        ("vehicle_type", "车辆类型", "Vehicle type"),
        ("capacity_kg", "核定载重(kg)", "Capacity (kg)"),
    ],
    "drivers": [
        ("name", "姓名", "Name"),
        ("id_number", "身份证号", "ID number"),
        ("phone", "手机号", "Mobile"),
    ],
}
SCHEMAS: dict[str, type[BaseModel]] = {"vehicles": VehicleIn, "drivers": DriverIn}
EXAMPLES = {
    "vehicles": ["浙F12345", "重型货车", "18000"],
    "drivers": ["张伟", "330482199001011232", "13800000001"],
}
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
    """The file as a whole cannot be read (wrong format, no header, too many rows)."""


@dataclass
class Checked:
    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # validated, JSON-ready
    bad: list[tuple[int, str, list[str]]] = field(default_factory=list)  # (row, field, msgs)


def _cells(data: bytes, filename: str) -> Iterator[list[str]]:
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise FileProblem("not a readable .xlsx file") from exc
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield ["" if v is None else str(v).strip() for v in row]
        return
    if not name.endswith(".csv"):
        raise FileProblem("upload a .csv or .xlsx file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileProblem("the CSV file is neither UTF-8 nor GB18030")
    for row in csv.reader(io.StringIO(text)):
        yield [cell.strip() for cell in row]


def _header_map(kind: str, header: list[str]) -> list[str | None]:
    names = {h.lower(): f for f, zh, en in COLUMNS[kind] for h in (zh, en, f)}
    mapped = [names.get(cell.lower()) for cell in header]
    missing = [f for f, *_ in COLUMNS[kind] if f not in mapped and f != "capacity_kg"]
    if missing:
        raise FileProblem("missing columns: " + ", ".join(missing))
    return mapped


def check_file(kind: str, data: bytes, filename: str, messages: Any) -> Checked:
    """Validate every row; `messages(error)` turns a pydantic error into display text."""
    if kind not in COLUMNS:
        raise FileProblem("unknown kind")
    rows = _cells(data, filename)
    try:
        header = next(rows)
    except StopIteration:
        raise FileProblem("the file is empty") from None
    fields = _header_map(kind, header)
    checked = Checked(kind)
    schema, seen = SCHEMAS[kind], set()
    key = "plate" if kind == "vehicles" else "id_number"
    for number, cells in enumerate(rows, start=2):
        if not any(cells):
            continue
        if number > MAX_ROWS + 1:
            raise FileProblem(f"at most {MAX_ROWS} rows per file")
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
    return checked


def header_row(kind: str, locale: str) -> list[str]:
    return [zh if locale.startswith("zh") else en for _, zh, en in COLUMNS[kind]]


def to_csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def to_xlsx(header: list[str], rows: Iterable[list[Any]], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
