"""Trip history search (every filter), and exports of trips, passes, scans and anomalies in
CSV and XLSX: content, masking, tenant isolation and the audit entry."""

import csv
import io
import re
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.audit import AuditEntry
from tests.support import api_token, login, now


@pytest.fixture
def trips(client, make):
    """Two enterprises' trucks: one inside (entered), one through the whole loop."""
    destination = make.enterprise()
    site = make.checkpoint("site", destination)
    first, second = make.enterprise(), make.enterprise()
    inside = make.pass_(
        enterprise=first, status="approved", destination_enterprise_id=destination.id
    )
    done = make.pass_(
        enterprise=second, status="approved", destination_enterprise_id=destination.id
    )
    gate, gate2 = make.checkpoint("gate"), make.checkpoint("gate")
    officer = api_token(client, make.officer(gate, gate2).username)
    receiver = api_token(client, make.enterprise_user(destination).username)

    def scan(headers, checkpoint, p):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": p.code}
        return client.post("/api/v1/scans", json=body, headers=headers).get_json()

    scan(officer, gate, inside)
    scan(officer, gate, done)
    scan(receiver, site, done)
    scan(officer, gate2, done)
    return {
        "inside": inside,
        "done": done,
        "gate": gate,
        "gate2": gate2,
        "first": first,
        "second": second,
    }


def export(client, url):
    """The body of a streamed export; closing the response ends its database session."""
    with client.get(url) as response:
        assert response.status_code == 200
        return response.data


def ids(client, query, headers):
    response = client.get(f"/api/v1/trips?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [t["pass_id"] for t in response.get_json()["items"]]


def test_every_filter(client, make, trips):
    headers = api_token(client, make.user("supervisor").username)
    inside, done = trips["inside"].id, trips["done"].id
    assert sorted(ids(client, "", headers)) == sorted([inside, done])
    assert ids(client, f"plate={trips['inside'].vehicle.plate[:-1]}", headers)[-1] == inside
    assert ids(client, f"number={trips['done'].number}", headers) == [done]
    assert ids(client, f"driver={trips['done'].driver.name[:1]}", headers)  # name prefix
    assert ids(client, f"driver={trips['done'].driver.phone[-4:]}", headers) == [done]
    # Filters match their characters literally: % and _ are no wildcards.
    assert ids(client, "driver=%25", headers) == []
    assert ids(client, "driver=____", headers) == []
    assert ids(client, f"enterprise_id={trips['first'].id}", headers) == [inside]
    assert ids(client, f"checkpoint_id={trips['gate2'].id}", headers) == [done]
    assert ids(client, "state=entered", headers) == [inside]
    assert ids(client, "state=exited", headers) == [done]
    assert ids(client, "anomaly=no_arrival", headers) == []
    today = now().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()  # a local day
    assert len(ids(client, f"from={today}&to={today}", headers)) in (1, 2)
    tomorrow = (now() + timedelta(days=2)).date().isoformat()
    assert ids(client, f"from={tomorrow}", headers) == []
    plates = ids(client, "sort=plate", headers)
    assert len(plates) == 2
    assert client.get("/api/v1/trips?from=yesterday", headers=headers).status_code == 422
    assert client.get("/api/v1/trips?sort=random", headers=headers).status_code == 422


def test_history_page_searches_and_links_timelines(client, make, trips):
    login(client, make.user("supervisor").username)
    page = client.get(f"/trips?plate={trips['done'].vehicle.plate}").get_data(as_text=True)
    assert len(re.findall(r'<tr id="trip-', page)) == 1
    assert "/trips/" in page
    assert "已离开辖区" in page
    bad = client.get("/trips?from=not-a-date")
    assert bad.status_code == 422
    assert "请输入日期" in bad.get_data(as_text=True)


def test_enterprise_history_and_exports_hold_only_its_own_trips(client, make, trips):
    owner = make.enterprise_user(trips["first"])
    login(client, owner.username)
    page = client.get("/trips").get_data(as_text=True)
    assert trips["inside"].vehicle.plate in page
    assert trips["done"].vehicle.plate not in page
    data = export(client, "/exports/trips.csv").decode("utf-8-sig")
    assert trips["inside"].vehicle.plate in data
    assert trips["done"].vehicle.plate not in data
    scans = export(client, "/exports/scans.csv").decode("utf-8-sig")
    assert trips["done"].vehicle.plate not in scans


def test_csv_export_opens_with_chinese_headings_and_is_audited(client, make, trips, db):
    user = make.user("supervisor")
    login(client, user.username)
    data = export(client, "/exports/trips.csv?state=exited")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["行程", "车牌号", "通行证编号"]
    assert [r[1] for r in rows[1:]] == [trips["done"].vehicle.plate]
    assert rows[1][10]  # exited at, local time
    db.rollback()
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "export.trips")).one()
    assert entry.actor_id == user.id
    assert entry.data == {"state": "exited"}


def test_passes_export_masks_id_numbers_in_xlsx(client, make, trips):
    login(client, make.user("supervisor").username)
    client.get("/lang/en")
    with client.get("/exports/passes.xlsx") as response:  # closes the spooled file
        sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    assert header[5] == "Resident ID number"
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    driver = trips["done"].driver
    assert any(row[5] == driver.id_number_masked for row in values)
    assert all(driver.id_number not in str(row) for row in values)


@pytest.mark.parametrize("kind", ["trips", "passes", "scans", "anomalies"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_export_opens(client, make, trips, kind, fmt):
    login(client, make.user("supervisor").username)
    with client.get(f"/exports/{kind}.{fmt}") as response:
        assert response.status_code == 200
        data = response.data
    if fmt == "csv":
        assert len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) >= 1
    else:
        assert load_workbook(io.BytesIO(data)).active.max_row >= 1


def test_unknown_export_is_404_and_officers_get_none(client, make):
    login(client, make.user("supervisor").username)
    with client.get("/exports/users.csv") as response:
        assert response.status_code == 404
    officer = client.application.test_client()
    login(officer, make.officer().username)
    with officer.get("/exports/trips.csv") as response:
        assert response.status_code == 403


def test_vehicle_and_driver_histories(client, make, trips):
    done = trips["done"]
    login(client, make.user("supervisor").username)
    page = client.get(f"/history/plate/{done.vehicle.plate}").get_data(as_text=True)
    assert done.number in page
    assert page.count("/trips/") >= 1
    driver_page = client.get(f"/history/driver/{done.driver_id}").get_data(as_text=True)
    assert done.number in driver_page
    assert done.driver.id_number not in driver_page
    assert client.get("/history/plate/浙A00000").status_code == 404


def test_histories_are_scoped(client, make, trips):
    done = trips["done"]
    stranger = make.enterprise_user(trips["first"])  # owns the other truck, not this one
    login(client, stranger.username)
    assert client.get(f"/history/plate/{done.vehicle.plate}").status_code == 404
    assert client.get(f"/history/driver/{done.driver_id}").status_code == 404


def test_stored_codes_appear_in_words_and_exports_keep_them_for_machines(client, make, trips):
    """The trip state filter, the plate history and the exports used to show `exited`."""
    login(client, make.user("supervisor").username)
    page = client.get("/trips").get_data(as_text=True)
    options = re.findall(r'<option value="(entered|arrived|exited|void)"[^>]*>([^<]*)<', page)
    assert [label for _, label in options] == [
        "在辖区内，运输途中",
        "已到达，尚未离开",
        "已离开辖区",
        "已作废",
    ]
    plate = trips["done"].vehicle.plate
    history = client.get(f"/history/plate/{plate}").get_data(as_text=True)
    assert ">exited<" not in history
    assert "已离开辖区" in history
    rows = list(csv.reader(io.StringIO(export(client, "/exports/trips.csv").decode("utf-8-sig"))))
    assert rows[0][5] == "状态"
    assert rows[0][-1] == "状态代码"
    done = next(r for r in rows[1:] if r[1] == plate)
    assert done[5] == "已离开辖区"
    assert done[-1] == "exited"
    scans = list(csv.reader(io.StringIO(export(client, "/exports/scans.csv").decode("utf-8-sig"))))
    assert scans[0][-3:] == ["事件代码", "结果代码", "原因代码"]
    assert {r[7] for r in scans[1:]} == {"放行"}
    assert {r[-2] for r in scans[1:]} == {"allow"}


def test_xlsx_holds_real_local_times_sensible_widths_and_a_frozen_header(client, make, trips, app):
    login(client, make.user("supervisor").username)
    with client.get("/exports/trips.xlsx") as response:
        book = load_workbook(io.BytesIO(response.data))
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    entered = header.index("进入时间")
    cell = sheet.cell(row=2, column=entered + 1)
    assert cell.is_date  # a date the sheet can sort and filter, not text
    zone = ZoneInfo(app.config["TIMEZONE"])
    assert abs(cell.value - now().astimezone(zone).replace(tzinfo=None)) < timedelta(minutes=5)
    widths = {k: d.width for k, d in sheet.column_dimensions.items()}
    assert widths["A"] >= 6
    letter = chr(ord("A") + entered)
    assert widths[letter] >= len("2026-01-01 00:00:00")
    plate_column = chr(ord("A") + header.index("车牌号"))
    assert widths[plate_column] >= 10


def test_vehicles_inside_now_lists_open_trips_searchable_and_exportable(client, make, trips):
    """The dashboard's "vehicles inside now" used to open the anomaly list."""
    login(client, make.user("supervisor").username)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'href="/inside" id="inside-now"', dashboard)
    page = client.get("/inside").get_data(as_text=True)
    inside, done = trips["inside"], trips["done"]
    assert inside.vehicle.plate in page
    assert done.vehicle.plate not in page  # it has left
    assert 'id="inside-total">（1）' in page
    assert inside.destination.name in page
    link = re.search(r'href="(/exports/trips\.csv\?[^"]+)" id="inside-csv"', page).group(1)
    rows = list(
        csv.reader(io.StringIO(export(client, link.replace("&amp;", "&")).decode("utf-8-sig")))
    )
    assert [r[1] for r in rows[1:]] == [inside.vehicle.plate]
    searched = client.get(f"/inside?plate={done.vehicle.plate}").get_data(as_text=True)
    assert inside.vehicle.plate not in searched
    assert "没有与该车牌相符的在辖区内车辆" in searched
    # an enterprise sees its own trucks only
    other = client.application.test_client()
    login(other, make.enterprise_user(trips["second"]).username)
    assert inside.vehicle.plate not in other.get("/inside").get_data(as_text=True)


def test_a_plate_typed_without_its_province_is_found_through_an_index(app, client, make, trips):
    """ "f88" found nothing: the search walked the plate from its province character."""
    from sqlalchemy import text as sql

    from checkpoints import history

    headers = api_token(client, make.user("supervisor").username)
    plate = trips["done"].vehicle.plate  # 浙F…
    tail = plate[1:].lower()  # "f12345"
    assert set(ids(client, f"plate={tail}", headers)) == {trips["done"].id}
    assert set(ids(client, f"plate={tail[:-1]}", headers)) >= {trips["done"].id}
    assert set(ids(client, f"plate={plate}", headers)) == {trips["done"].id}  # as before
    user = make.user("supervisor")
    stmt = history.search({"plate": plate[1:4]}, user, tz=app.config["TIMEZONE"])
    engine = app.extensions["engine"]
    # (without the listing's order: on a tiny table PostgreSQL may rather walk the
    # opened_at index and filter, which says nothing about what the plate search can use)
    compiled = stmt.order_by(None).compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sql("SET enable_seqscan = off"))  # a tiny table: ask what it can use
        plan = " ".join(str(row) for row in conn.execute(sql(explain + str(compiled))))
    assert "ix_trip_plate_tail" in plan, plan


def test_a_plates_history_shows_the_scans_that_refused_it(client, make):
    from urllib.parse import quote

    p = make.pass_(status="approved")
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    reviewer = api_token(client, make.user("reviewer").username)
    revoked = client.post(
        f"/api/v1/passes/{p.id}/revoke", json={"reason": "线索核查"}, headers=reviewer
    )
    assert revoked.status_code == 200, revoked.get_json()
    for _ in range(2):  # tried again and again at the gate
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
        assert client.post("/api/v1/scans", json=body, headers=officer).get_json()["decision"] == (
            "deny"
        )
    login(client, make.user("supervisor").username)
    trips = client.get(f"/trips?plate={p.vehicle.plate}").get_data(as_text=True)
    assert "No trips" in trips or "没有符合条件的行程" in trips
    assert f'href="/history/plate/{quote(p.vehicle.plate)}"' in trips
    page = client.get(f"/history/plate/{p.vehicle.plate}").get_data(as_text=True)
    refused = page.split('id="history-refused"')[1].split("</section>")[0]
    assert refused.count('id="refused-') == 2
    assert gate.name in refused
    assert p.number in refused
    assert ">通行证已被吊销<" in refused  # the reason, as a label (no full stop)


def test_the_trips_export_names_the_driver_masked_the_destination_and_the_anomalies(client, make):
    p = make.pass_(status="approved")
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    client.application.config["REPEAT_SCAN_SECONDS"] = 0
    for _ in range(2):  # in, then out without arriving: an anomaly
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
        client.post("/api/v1/scans", json=body, headers=officer)
    login(client, make.user("supervisor").username)
    rows = list(csv.reader(io.StringIO(export(client, "/exports/trips.csv").decode("utf-8-sig"))))
    heading = rows[0]
    [row] = [r for r in rows[1:] if r[1] == p.vehicle.plate]
    shown = dict(zip(heading, row, strict=True))
    assert shown["司机"] == p.driver.name
    assert shown["身份证号"] != p.driver.id_number
    assert shown["身份证号"].endswith(p.driver.id_number[-4:])  # masked
    assert shown["目的地"] == p.consignee
    assert shown["异常"] == "未到达目的地即离开"  # in words, as on the pages


def test_every_export_is_linked_from_the_page_it_belongs_to(client, make, trips):
    login(client, make.user("supervisor").username)
    for page, links in (
        ("/trips?state=exited", ["/exports/trips.csv?state=exited", "/exports/scans.csv?state"]),
        ("/passes?status=approved", ["/exports/passes.csv?status=approved"]),
        ("/anomalies?show=open&kind=no_arrival", ["/exports/anomalies.csv?open=true&amp;kind="]),
    ):
        html = client.get(page).get_data(as_text=True)
        for link in links:
            assert f'href="{link}' in html, (page, link)
    assert client.get("/exports/anomalies.csv?kind=nonsense").status_code == 422
    assert client.get("/exports/anomalies.csv?kind=no_arrival").status_code == 200


def test_a_trips_timeline_prints_as_a_page_and_a_pdf(client, make, trips):
    from pypdf import PdfReader

    from checkpoints.models import Trip

    with make.session() as session:
        trip = session.scalars(select(Trip).where(Trip.pass_id == trips["done"].id)).one()
    login(client, make.user("supervisor").username)
    page = client.get(f"/trips/{trip.id}").get_data(as_text=True)
    assert 'id="trip-print"' in page
    assert f'href="/trips/{trip.id}/timeline.pdf"' in page
    answer = client.get(f"/trips/{trip.id}/timeline.pdf")
    assert answer.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.data)).pages)
    assert trips["done"].vehicle.plate in text
    assert trips["done"].number in text
    for said in ("进入", "到达", "离开", "放行"):
        assert said in text, said
