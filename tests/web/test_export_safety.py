"""Every export opens safely whatever an enterprise typed: text that starts like a formula
is never a formula (CSV: a leading apostrophe; XLSX: string cells), and control characters
stored before input refused them neither break an export nor reach the file."""

import csv
import io
import uuid
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from accounts.models import Enterprise
from core.tabular import CONTROL, FORMULA_START
from fleet.models import Driver
from passes.models import Pass
from tests.support import api_token, login

HOSTILE = {
    "enterprise": "=cmd|' /C calc'!A0",
    "driver": "=1+1 张三",
    "cargo": "-2+3 大米\x01\x02",
    "origin": "@SUM(A1) 嘉兴\x7f",
}


@pytest.fixture
def hostile(client, make, app):
    """A whole loop whose texts were stored by an older release that did not check them."""
    destination = make.enterprise()
    site = make.checkpoint("site", destination)
    p = make.pass_(status="approved", destination_enterprise_id=destination.id)
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
    assert client.post("/api/v1/scans", json=body, headers=officer).status_code in (200, 201)
    session = app.extensions["sessions"]()
    with session.begin():
        session.execute(
            update(Enterprise)
            .where(Enterprise.id == p.enterprise_id)
            .values(name=HOSTILE["enterprise"])
        )
        session.execute(
            update(Driver).where(Driver.id == p.driver_id).values(name=HOSTILE["driver"])
        )
        session.execute(
            update(Pass)
            .where(Pass.id == p.id)
            .values(cargo=HOSTILE["cargo"], origin=HOSTILE["origin"])
        )
    session.close()
    return {"pass": p, "site": site, "owner": make.enterprise_user(p.enterprise)}


def cells_of(data: bytes, fmt: str) -> list[str]:
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        return [cell for row in rows for cell in row]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name), "a formula in the workbook"
    book = load_workbook(io.BytesIO(data))
    cells = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    return [str(c.value) for c in cells]


def assert_safe(data: bytes, fmt: str, expect: list[str]) -> None:
    cells = cells_of(data, fmt)
    text = "\n".join(cells)
    for value in expect:  # the hostile text is there, defused
        assert CONTROL.sub("\ufffd", value) in text
    if fmt == "csv":
        assert not [c for c in cells if c.startswith(FORMULA_START)]
    assert not any(ch in text for ch in "\x01\x02\x7f")


EXPORTS = [("trips", ["enterprise"]), ("passes", ["enterprise", "driver", "cargo"])]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(("kind", "fields"), EXPORTS)
def test_supervision_exports_defuse_formulas_and_control_characters(
    client, make, hostile, kind, fields, fmt
):
    login(client, make.user("supervisor").username)
    with client.get(f"/exports/{kind}.{fmt}") as response:
        assert response.status_code == 200
        data = response.data
    assert_safe(data, fmt, [HOSTILE[f] for f in fields])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_fleet_export_defuses_formulas(client, hostile, fmt):
    login(client, hostile["owner"].username)
    response = client.get(f"/fleet/export.{fmt}?kind=drivers")
    assert response.status_code == 200
    assert_safe(response.data, fmt, [HOSTILE["driver"]])
