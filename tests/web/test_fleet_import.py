"""Bulk import (CSV and XLSX): templates, a preview listing every bad row, all-or-nothing
commit, 5,000 rows; and the fleet exported back to CSV and XLSX."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from fleet.models import Driver, Vehicle
from tests.bombs import BOMBS, HEADER
from tests.bombs import workbook as xlsx_bytes
from tests.support import id_number, login, post_form


@pytest.fixture
def owner(client, make):
    user = make.enterprise_user(make.enterprise())
    login(client, user.username)
    return user


def upload(client, kind, name, data):
    from tests.support import csrf_token

    # Encoded here in memory: the test client spools large bodies to a temporary file
    # it never closes.
    fields = {
        "kind": kind,
        "csrf_token": csrf_token(client),
        "file": FileStorage(io.BytesIO(data), name),
    }
    boundary, body = encode_multipart(fields)
    return client.post(
        "/fleet/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def csv_bytes(rows, bom=True):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def count(db, model):
    db.rollback()
    return db.scalar(select(func.count()).select_from(model))


def commit(client, page):
    token = re.search(r"/fleet/import/([0-9a-f]{32})", page).group(1)
    return post_form(client, f"/fleet/import/{token}")


def test_preview_lists_every_bad_row_and_imports_nothing(client, owner, db):
    rows = [
        ["车牌号", "车辆类型", "核定载重(kg)"],
        ["浙F11111", "重型货车", "18000"],
        ["浙F1234学", "重型货车", ""],
        ["浙F22222", "飞船", ""],
        ["浙F11111", "van", ""],
    ]
    response = upload(client, "vehicles", "fleet.csv", csv_bytes(rows))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    bad_rows = re.findall(r'<td data-label="行">(\d+)</td>', page)
    assert bad_rows == ["3", "4", "5"]
    assert "教练车" in page
    assert "重复" in page
    assert "/fleet/import/" not in page.split("bad-rows")[1]  # no import button
    assert count(db, Vehicle) == 0


def test_messages_and_columns_speak_the_users_language(client, owner, db):
    rows = [["姓名", "身份证号", "手机号"], ["张伟", "330482199001011232", "12"]]
    page = upload(client, "drivers", "d.csv", csv_bytes(rows)).get_data(as_text=True)
    cells = re.findall(r'<td data-label="列">([^<]*)</td>', page)
    assert cells == ["手机号"]  # the template's header, not the field's code
    assert "phone" not in page.split("bad-rows")[1]
    # A file without its columns names them as the template does.
    missing = upload(client, "vehicles", "v.csv", csv_bytes([["车牌号"], ["浙F11111"]]))
    assert "缺少列：车辆类型。" in missing.get_data(as_text=True)
    assert "vehicle_type" not in missing.get_data(as_text=True)
    # A driver file on the vehicle tab says so.
    wrong_tab = upload(client, "vehicles", "d.csv", csv_bytes(rows))
    assert wrong_tab.status_code == 422
    assert "这是司机文件：请在“司机”标签页上传。" in wrong_tab.get_data(as_text=True)
    client.get("/lang/en")
    english = upload(client, "drivers", "d.csv", csv_bytes(rows)).get_data(as_text=True)
    assert re.findall(r'<td data-label="Column">([^<]*)</td>', english) == ["Mobile"]
    assert count(db, Driver) == 0


def test_xlsx_with_english_headers_imports_after_the_preview(client, owner, db):
    rows = [["Name", "ID number", "Mobile"]] + [
        [f"司机{i}", id_number(100 + i), f"1390000{i:04d}"] for i in range(20)
    ]
    response = upload(client, "drivers", "drivers.xlsx", xlsx_bytes(rows))
    assert response.status_code == 200
    assert count(db, Driver) == 0  # nothing until confirmed
    done = commit(client, response.get_data(as_text=True))
    assert done.status_code == 302
    assert count(db, Driver) == 20


def test_clash_with_registered_rows_imports_nothing(client, owner, make, db):
    existing = make.vehicle(owner)
    rows = [["plate", "vehicle_type"], ["浙F33333", "van"], [existing.plate, "van"]]
    response = upload(client, "vehicles", "v.csv", csv_bytes(rows))
    assert response.status_code == 422  # the preview names the clash: nothing to confirm
    shown = response.get_data(as_text=True)
    assert "该号牌已登记。" in shown
    assert re.search(r'data-label="[^"]*">3</td>', shown)  # the file's third line
    assert 'id="confirm-import"' not in shown
    assert count(db, Vehicle) == 1  # only the one registered before


def test_the_import_page_lists_vehicle_types_and_the_excel_template_offers_them(client, owner):
    page = client.get("/fleet/import").get_data(as_text=True)
    assert "重型货车、中型货车" in page.split('id="vehicle-types"')[1].split("</p>")[0]
    book = load_workbook(io.BytesIO(client.get("/fleet/template.xlsx?kind=vehicles").data))
    [listed] = book.active.data_validations.dataValidation
    assert "冷藏车" in listed.formula1
    assert "B2" in str(listed.sqref)


def test_five_thousand_rows(client, owner, db):
    rows = [["车牌号", "车辆类型"]] + [[f"浙F{10000 + i}", "van"] for i in range(5000)]
    response = upload(client, "vehicles", "big.csv", csv_bytes(rows, bom=False))
    assert response.status_code == 200
    assert "5000" in response.get_data(as_text=True)
    commit(client, response.get_data(as_text=True))
    assert count(db, Vehicle) == 5000


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("fleet.pdf", b"%PDF-1.4"),
        ("fleet.xlsx", b"not a zip"),
        ("fleet.csv", b""),
        ("fleet.csv", "车牌号,颜色\n浙F1,红\n".encode()),
    ],
)
def test_unreadable_files_are_explained(client, owner, name, data):
    response = upload(client, "vehicles", name, data)
    assert response.status_code == 422
    assert "无法读取该文件" in response.get_data(as_text=True)


def test_gb18030_csv_from_old_excel_is_read(client, owner):
    data = "车牌号,车辆类型\n浙F44444,冷藏车\n".encode("gb18030")
    assert upload(client, "vehicles", "old.csv", data).status_code == 200


def test_preview_of_another_user_cannot_be_committed(app, client, owner, make, db):
    rows = [["plate", "vehicle_type"], ["浙F55555", "van"]]
    page = upload(client, "vehicles", "v.csv", csv_bytes(rows)).get_data(as_text=True)
    token = re.search(r"/fleet/import/([0-9a-f]{32})", page).group(1)
    intruder = app.test_client()
    login(intruder, make.enterprise_user(make.enterprise()).username)
    assert post_form(intruder, f"/fleet/import/{token}").status_code == 404
    assert count(db, Vehicle) == 0


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_templates_in_both_languages_round_trip(client, owner, lang):
    client.get(f"/lang/{lang}")
    header = "车牌号" if lang == "zh_CN" else "Plate"
    text = client.get("/fleet/template.csv?kind=vehicles").data.decode("utf-8-sig")
    assert text.startswith(header)
    assert text.splitlines()[0].endswith("核定载重（kg）" if lang == "zh_CN" else "Capacity (kg)")
    assert text.splitlines()[1].split(",")[1] == ("重型货车" if lang == "zh_CN" else "Heavy truck")
    book = load_workbook(io.BytesIO(client.get("/fleet/template.xlsx?kind=drivers").data))
    assert book.active["A1"].value == ("姓名" if lang == "zh_CN" else "Name")
    assert book.active.title == ("司机" if lang == "zh_CN" else "Drivers")
    # The template's example row passes the checks as it is.
    response = upload(
        client, "vehicles", "t.csv", client.get("/fleet/template.csv?kind=vehicles").data
    )
    assert response.status_code == 200


def test_export_masks_id_numbers_and_opens_in_excel(client, owner, make):
    driver = make.driver(owner)
    make.vehicle(owner, plate="浙F77777")
    data = client.get("/fleet/export.csv?kind=drivers").data
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1][0] == driver.name
    assert rows[1][1] == driver.id_number_masked
    assert driver.id_number not in data.decode("utf-8-sig")
    book = load_workbook(io.BytesIO(client.get("/fleet/export.xlsx?kind=vehicles").data))
    assert [c.value for c in book.active[2]][0] == "浙F77777"


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_spreadsheet_bombs_are_refused_before_parsing(client, owner, db, bomb):
    response = upload(client, "drivers", "bomb.xlsx", BOMBS[bomb]())
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "无法读取该文件" in page
    assert "表格过大" in page or "不是可读取的" in page or "20000" in page
    assert count(db, Driver) == 0


def test_empty_rows_count_towards_the_row_limit(client, owner):
    rows = [HEADER] + [[""] * 3] * 20_000 + [["张伟", id_number(1), "13800000001"]]
    response = upload(client, "drivers", "padded.csv", csv_bytes(rows))
    assert response.status_code == 422
    assert "20000" in response.get_data(as_text=True)


def test_columns_past_the_limit_are_ignored(client, owner):
    rows = [HEADER + ["x"] * 5000, ["张伟", id_number(1), "13800000001"] + ["y"] * 5000]
    assert upload(client, "drivers", "wide.csv", csv_bytes(rows)).status_code == 200


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_only_an_approved_enterprise_may_import(client, make, status):
    user = make.enterprise_user(make.enterprise(status=status))
    login(client, user.username)
    assert client.get("/fleet/import").status_code == 403
    rows = [HEADER, ["张伟", id_number(1), "13800000001"]]
    assert upload(client, "drivers", "d.csv", csv_bytes(rows)).status_code == 403
