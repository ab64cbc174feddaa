"""The consignee receives its truck (货主接引): its board shows the passes bound for it as
they move (expected, inside, arrived, left), it reads the trips arriving at it, it is told
when one enters (notification, one-segment SMS to its contact) and when one is late to
arrive, and it records who met the truck at the gate."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from checkpoints import services
from checkpoints.domain import SweepPolicy
from sms.domain import segments
from sms.models import SmsMessage
from supervision.models import Notification
from tests.support import api_token, login, now, post_form


@pytest.fixture
def world(app, client, make):
    app.config["REPEAT_SCAN_SECONDS"] = 0
    consignee = make.enterprise()
    receiver = make.enterprise_user(consignee)
    p = make.pass_(status="approved", destination_enterprise_id=consignee.id)
    gate, site = make.checkpoint("gate"), make.checkpoint("site", consignee)
    return {
        "pass": p,
        "consignee": consignee,
        "receiver": receiver,
        "gate": gate,
        "site": site,
        "officer": api_token(client, make.officer(gate).username),
        "consignee_api": api_token(client, receiver.username),
        "applicant_api": api_token(client, make.enterprise_user(p.enterprise).username),
    }


def scan(client, headers, checkpoint, code, **extra):
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": code, **extra}
    response = client.post("/api/v1/scans", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def board(client, headers, state=None):
    query = f"?state={state}" if state else ""
    response = client.get(f"/api/v1/arrivals{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_board_follows_the_truck_from_expected_to_left(client, world):
    w, code = world, world["pass"].code
    first = board(client, w["consignee_api"])
    assert [i["state"] for i in first["items"]] == ["expected"]
    assert first["items"][0]["pass"]["number"] == w["pass"].number
    assert first["counts"] == {"expected": 1, "inside": 0, "arrived": 0, "left": 0}

    scan(client, w["officer"], w["gate"], code)
    (inside,) = board(client, w["consignee_api"], "inside")["items"]
    assert inside["entry_checkpoint"] == w["gate"].name
    assert inside["entered_at"]
    assert inside["pass"]["plate"] == w["pass"].vehicle.plate
    assert board(client, w["consignee_api"], "expected")["items"] == []

    # The consignee reads the trip arriving at it, though another enterprise filed it.
    trips = client.get("/api/v1/trips", headers=w["consignee_api"]).get_json()["items"]
    assert [t["id"] for t in trips] == [inside["trip_id"]]
    one = client.get(f"/api/v1/trips/{inside['trip_id']}", headers=w["consignee_api"])
    assert one.status_code == 200

    scan(client, w["consignee_api"], w["site"], code)
    assert [i["state"] for i in board(client, w["consignee_api"])["items"]] == ["arrived"]
    scan(client, w["officer"], w["gate"], code)
    assert board(client, w["consignee_api"])["items"] == []  # one trip, made: nothing live
    (left,) = board(client, w["consignee_api"], "left")["items"]
    assert left["exited_at"]
    assert left["arrived_at"]


def test_nobody_else_sees_the_board_of_a_consignee(client, make, world):
    scan(client, world["officer"], world["gate"], world["pass"].code)
    stranger = api_token(client, make.enterprise_user(make.enterprise()).username)
    assert board(client, stranger)["items"] == []
    assert client.get("/api/v1/trips", headers=stranger).get_json()["items"] == []
    # The applicant sees its own trips, not the consignee's board (nothing is bound for it).
    assert board(client, world["applicant_api"])["items"] == []
    officer = client.get("/api/v1/arrivals", headers=world["officer"])
    assert officer.status_code == 403
    bad = client.get("/api/v1/arrivals?state=gone", headers=world["consignee_api"])
    assert bad.status_code == 422


def test_an_entry_tells_the_consignee_in_the_app_and_by_one_sms(app, client, db, world):
    w = world
    scan(client, w["officer"], w["gate"], w["pass"].code)
    db.rollback()
    (notice,) = db.scalars(select(Notification).where(Notification.user_id == w["receiver"].id))
    assert notice.kind == "truck_entered"
    assert notice.data["plate"] == w["pass"].vehicle.plate
    assert notice.data["gate"] == w["gate"].name
    sms = db.scalars(select(SmsMessage).where(SmsMessage.to == w["consignee"].contact_phone)).all()
    (text,) = [m.body for m in sms if m.dedupe_key.startswith("entered:")]
    assert w["pass"].vehicle.plate in text
    assert w["gate"].name in text
    assert segments(text)[2] == 1
    # The inbox shows it, in words, with a way to the board.
    login(client, w["receiver"].username)
    page = client.get("/notifications").get_data(as_text=True)
    assert w["pass"].vehicle.plate in page
    assert "/arrivals?state=inside" in page
    # A read again at the gate (a repeat, or the exit) tells nothing more.
    scan(client, w["officer"], w["gate"], w["pass"].code)
    db.rollback()
    told = db.scalars(select(Notification).where(Notification.kind == "truck_entered")).all()
    assert len(told) == 1


def test_the_entered_sms_fits_one_segment_in_both_languages():
    from sms.text import truck_entered_text

    long_gate = "平湖市独山港镇乍浦高速公路出口防疫检查站第二通道东侧临时卡口"
    for locale in ("zh_CN", "en"):
        text = truck_entered_text(
            locale, plate="浙F12345", gate=long_gate, code="G-PH-DUSHAN-02", time="03:05"
        )
        assert segments(text)[2] == 1, text
        assert "03:05" in text
    assert "Zhe F12345" in truck_entered_text(
        "en", plate="浙F12345", gate=long_gate, code="G-1", time="03:05"
    )


def test_the_consignee_records_who_received_the_truck(client, make, db, world):
    w = world
    answer = scan(client, w["officer"], w["gate"], w["pass"].code)
    trip_id = answer["trip"]["id"]
    recorded = client.post(
        f"/api/v1/trips/{trip_id}/escort", json={"name": "王五"}, headers=w["consignee_api"]
    )
    assert recorded.status_code == 200, recorded.get_json()
    (row,) = board(client, w["consignee_api"], "inside")["items"]
    assert row["escort"]["name"] == "王五"
    # Not the applicant's to record, nor a stranger's; nothing but a name.
    other = client.post(
        f"/api/v1/trips/{trip_id}/escort", json={"name": "赵六"}, headers=w["applicant_api"]
    )
    assert other.status_code == 404
    empty = client.post(
        f"/api/v1/trips/{trip_id}/escort", json={"name": " "}, headers=w["consignee_api"]
    )
    assert empty.status_code == 422
    # Once the truck has left there is nobody to receive.
    scan(client, w["officer"], w["gate"], w["pass"].code)
    late = client.post(
        f"/api/v1/trips/{trip_id}/escort", json={"name": "王五"}, headers=w["consignee_api"]
    )
    assert late.status_code == 409


def test_the_board_page_at_phone_width_shows_tabs_and_records_the_escort(client, db, world):
    w = world
    login(client, w["receiver"].username)
    page = client.get("/arrivals").get_data(as_text=True)
    assert w["pass"].vehicle.plate in page
    assert 'id="tab-inside"' in page
    answer = scan(client, w["officer"], w["gate"], w["pass"].code)
    inside = client.get("/arrivals?state=inside").get_data(as_text=True)
    assert "escort-form" in inside
    assert w["gate"].name in inside
    response = post_form(
        client, f"/arrivals/{answer['trip']['id']}/escort", {"name": "王五", "state": "inside"}
    )
    assert response.status_code == 302
    after = client.get("/arrivals?state=inside").get_data(as_text=True)
    assert "王五" in after
    client.get("/lang/en")
    empty = client.get("/arrivals?state=left").get_data(as_text=True)
    assert "No truck bound for you has left yet." in empty


def test_a_truck_late_to_arrive_is_the_consignees_notice_too(app, client, db, world):
    w = world
    scan(client, w["officer"], w["gate"], w["pass"].code)
    with app.extensions["sessions"]() as session:
        raised = services.sweep(session, now=now() + timedelta(hours=7), policy=SweepPolicy())
    assert [a.kind for a in raised] == ["no_arrival_yet"]
    db.rollback()
    kinds = db.scalars(
        select(Notification.kind).where(Notification.user_id == w["receiver"].id)
    ).all()
    assert sorted(kinds) == ["no_arrival_yet", "truck_entered"]
    texts = db.scalars(
        select(SmsMessage.body).where(SmsMessage.dedupe_key.like("consignee:%"))
    ).all()
    assert len(texts) == 1
    assert w["pass"].vehicle.plate in texts[0]


def test_a_pass_a_week_past_its_validity_leaves_the_board_unless_its_truck_is_inside(
    client, make, world
):
    """The board reads the passes that can be on it, not every pass ever received: one
    that left and expired over a week ago is history; one whose truck is still inside
    stays, however old."""
    from passes.models import Pass

    w = world
    inside = make.pass_(status="approved", destination_enterprise_id=w["consignee"].id)
    for p in (w["pass"], inside):
        scan(client, w["officer"], w["gate"], p.code)
    scan(client, w["officer"], w["gate"], w["pass"].code)  # left
    assert board(client, w["consignee_api"])["counts"]["left"] == 1
    with make.session() as session:
        for p in (w["pass"], inside):
            row = session.get(Pass, p.id)
            row.valid_from -= timedelta(days=20)
            row.valid_until = now() - timedelta(days=8)
        session.commit()
    shown = board(client, w["consignee_api"])
    assert shown["counts"] == {"expected": 0, "inside": 1, "arrived": 0, "left": 0}
    assert [i["pass"]["number"] for i in shown["items"]] == [inside.number]
    with make.session() as session:
        session.get(Pass, w["pass"].id).valid_until = now() - timedelta(days=6)
        session.commit()
    assert board(client, w["consignee_api"])["counts"]["left"] == 1
