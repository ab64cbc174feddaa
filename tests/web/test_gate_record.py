"""The gate's record stays true (DESIGN.md section 11): a code read twice is one scan,
corrections replay the trip as if the scan had not happened, a pass inside at one gate is
not let out at another moments later without the officer confirming."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from checkpoints.models import Anomaly, Scan, Trip
from passes.models import Pass
from tests.support import api_token, audit_log_verifies, now


@pytest.fixture
def gate(app, client, make):
    """Two gates, a site, an officer on both gates, a two-trip pass; repeats on (120 s)."""
    app.config["REPEAT_SCAN_SECONDS"] = 120
    destination = make.enterprise()
    p = make.pass_(status="approved", destination_enterprise_id=destination.id, max_trips=2)
    clock = {"at": now()}  # from after the signing key's first use
    app.extensions["clock"] = lambda: clock["at"]
    g1, g2 = make.checkpoint("gate"), make.checkpoint("gate")
    officer = make.officer(g1, g2)
    return {
        "pass": p,
        "g1": g1,
        "g2": g2,
        "site": make.checkpoint("site", destination),
        "officer": api_token(client, officer.username),
        "receiver": api_token(client, make.enterprise_user(destination).username),
        "supervisor": api_token(client, make.user("supervisor").username),
        "clock": clock,
    }


def later(g, **delta):
    g["clock"]["at"] += timedelta(**delta)


def scan(client, headers, checkpoint, code, **extra):
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": code, **extra}
    response = client.post("/api/v1/scans", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def annul(client, headers, scan_id, reason, **extra):
    return client.post(
        f"/api/v1/scans/{scan_id}/annul", json={"reason": reason, **extra}, headers=headers
    )


def trips_of(db, p):
    db.rollback()
    return db.scalars(select(Trip).where(Trip.pass_id == p.id).order_by(Trip.id)).all()


def open_anomalies(db, p):
    return sorted(
        db.scalars(
            select(Anomaly.kind).where(Anomaly.pass_id == p.id, Anomaly.resolved_at.is_(None))
        ).all()
    )


def test_a_code_read_again_within_the_window_is_a_repeat_and_records_no_event(client, gate, db):
    code = gate["pass"].code
    first = scan(client, gate["officer"], gate["g1"], code)
    later(gate, seconds=6)  # "OK, next vehicle" tapped with the driver's phone still in view
    again = scan(client, gate["officer"], gate["g1"], code)
    assert (first["event"], first["repeat_of"]) == ("entry", None)
    assert again["repeat_of"] == first["scan_id"]
    assert again["scan_id"] != first["scan_id"]
    assert (again["decision"], again["event"], again["trip"]) == ("allow", "entry", first["trip"])
    [trip] = trips_of(db, gate["pass"])
    assert (trip.state, trip.exited_at) == ("entered", None)
    assert db.get(Pass, gate["pass"].id).trips_used == 1
    assert open_anomalies(db, gate["pass"]) == []
    repeat = db.scalars(select(Scan).where(Scan.scan_id == again["scan_id"])).one()
    assert (repeat.event, repeat.reasons, repeat.trip_id) == ("none", ["repeat"], trip.id)
    # Past the window the same gate records the exit.
    later(gate, seconds=121)
    leave = scan(client, gate["officer"], gate["g1"], code)
    assert (leave["event"], leave["repeat_of"]) == ("exit", None)
    assert audit_log_verifies(client.application).ok


def test_a_repeat_answers_its_scan_id_again_as_a_retry(client, gate):
    code = gate["pass"].code
    scan(client, gate["officer"], gate["g1"], code)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate["g1"].id, "code": code}
    one = client.post("/api/v1/scans", json=body, headers=gate["officer"]).get_json()
    two = client.post("/api/v1/scans", json=body, headers=gate["officer"]).get_json()
    assert one == two
    assert one["repeat_of"]


def test_an_annulled_scan_is_not_repeated(client, gate, db):
    code = gate["pass"].code
    first = scan(client, gate["officer"], gate["g1"], code)
    assert annul(client, gate["officer"], first["scan_id"], "wrong_vehicle").status_code == 200
    again = scan(client, gate["officer"], gate["g1"], code)
    assert (again["event"], again["repeat_of"]) == ("entry", None)
    trips = trips_of(db, gate["pass"])
    assert [t.state for t in trips] == ["void", "entered"]
    assert [t.seq for t in trips] == [None, 1]  # the trip given back is used again
    assert db.get(Pass, gate["pass"].id).trips_used == 1


def test_read_twice_undo_of_a_false_exit_restores_the_trip_and_resolves_its_anomaly(
    app, client, gate, db
):
    app.config["REPEAT_SCAN_SECONDS"] = 0  # the false exit the repeat rule now prevents
    code = gate["pass"].code
    scan(client, gate["officer"], gate["g1"], code)
    false_exit = scan(client, gate["officer"], gate["g1"], code)
    assert (false_exit["event"], false_exit["anomalies"]) == ("exit", ["no_arrival"])
    assert open_anomalies(db, gate["pass"]) == ["no_arrival"]
    response = annul(client, gate["officer"], false_exit["scan_id"], "read_twice")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["redo"] is None
    [trip] = trips_of(db, gate["pass"])
    assert (trip.state, trip.seq, trip.exited_at) == ("entered", 1, None)
    assert db.get(Pass, gate["pass"].id).trips_used == 1
    assert open_anomalies(db, gate["pass"]) == []
    resolved = db.scalars(select(Anomaly).where(Anomaly.pass_id == gate["pass"].id)).one()
    assert (resolved.note, resolved.resolved_by_id) == ("cause_annulled", None)
    annulment = db.scalars(select(Scan).where(Scan.event == "annul")).one()
    assert annulment.reasons == ["read_twice"]  # the reason's code, never a direction's word
    # The truck arrives and leaves: the loop closes on trip 1, as it should have.
    scan(client, gate["receiver"], gate["site"], code)
    leave = scan(client, gate["officer"], gate["g2"], code)
    assert (leave["event"], leave["trip"]["seq"], leave["anomalies"]) == ("exit", 1, [])
    assert audit_log_verifies(app).ok


def test_wrong_direction_on_an_entry_annuls_it_and_records_the_exit_in_one_step(client, gate, db):
    # The truck was leaving (it entered by a road with no gate): the scanner said entry.
    code = gate["pass"].code
    entry = scan(client, gate["officer"], gate["g1"], code)
    response = annul(client, gate["officer"], entry["scan_id"], "wrong_direction")
    assert response.status_code == 200, response.get_json()
    redo = response.get_json()["redo"]
    assert (redo["decision"], redo["event"], redo["anomalies"]) == ("allow", "exit", ["no_entry"])
    trips = trips_of(db, gate["pass"])
    assert [(t.state, t.seq) for t in trips] == [("void", None), ("exited", 1)]
    assert db.get(Pass, gate["pass"].id).trips_used == 1
    # Sent again (a retry), the correction is refused and records nothing more.
    assert annul(client, gate["officer"], entry["scan_id"], "wrong_direction").status_code == 409
    assert len(trips_of(db, gate["pass"])) == 2


def test_wrong_direction_on_an_exit_of_a_trip_left_open_reopens_nothing_extra(
    app, client, gate, db
):
    # Trip 1 was left open (the truck left by an unmanned road); the truck comes back and
    # the scanner, following the open trip, says exit. The officer says: wrong direction.
    code = gate["pass"].code
    scan(client, gate["officer"], gate["g1"], code)
    later(gate, hours=10)
    wrong = scan(client, gate["officer"], gate["g2"], code)
    assert wrong["event"] == "exit"
    response = annul(client, gate["officer"], wrong["scan_id"], "wrong_direction")
    assert response.status_code == 200, response.get_json()
    redo = response.get_json()["redo"]
    assert (redo["event"], redo["trip"]["seq"]) == ("entry", 2)
    trips = trips_of(db, gate["pass"])
    # Trip 1 closed by the new entry (no exit recorded), trip 2 open: the truck is inside.
    assert [(t.state, t.seq) for t in trips] == [("exited", 1), ("entered", 2)]
    assert open_anomalies(db, gate["pass"]) == ["no_exit"]
    assert db.get(Pass, gate["pass"].id).trips_used == 2
    # The supervisor annuls that entry from the trip's page: trip 1 is open again.
    assert annul(client, gate["supervisor"], redo["scan_id"], "wrong_vehicle").status_code == 200
    trips = trips_of(db, gate["pass"])
    assert [(t.state, t.seq) for t in trips] == [("entered", 1), ("void", None)]
    assert open_anomalies(db, gate["pass"]) == []
    assert db.get(Pass, gate["pass"].id).trips_used == 1


def test_an_annulment_needs_a_reason_from_the_list_and_a_note_for_other(client, gate, db):
    entry = scan(client, gate["officer"], gate["g1"], gate["pass"].code)
    assert annul(client, gate["officer"], entry["scan_id"], "进入").status_code == 422
    assert annul(client, gate["supervisor"], entry["scan_id"], "other").status_code == 422
    db.rollback()
    assert db.scalar(select(func.count()).where(Scan.event == "annul")) == 0
    ok = annul(client, gate["supervisor"], entry["scan_id"], "other", note="司机换车")
    assert ok.status_code == 200
    assert ok.get_json()["note"] == "司机换车"


def test_a_pass_inside_at_one_gate_is_not_let_out_at_another_moments_later(client, gate, db):
    code = gate["pass"].code
    scan(client, gate["officer"], gate["g1"], code)
    later(gate, seconds=40)  # a screenshot of the code, on a second truck at the other gate
    copy = scan(client, gate["officer"], gate["g2"], code)
    assert (copy["decision"], copy["event"]) == ("deny", None)
    assert copy["reasons"] == ["inside_elsewhere"]
    assert copy["pass"]["plate"] == gate["pass"].vehicle.plate  # what the officer compares
    assert copy["pass"]["driver_name"] == gate["pass"].driver.name  # unmasked: to compare
    [trip] = trips_of(db, gate["pass"])
    assert trip.state == "entered"
    # The officer checked plate and driver: it is the truck, turning back. Exit, confirmed.
    confirmed = scan(client, gate["officer"], gate["g2"], code, direction="exit")
    assert (confirmed["decision"], confirmed["event"]) == ("allow", "exit")
    # After the shortest crossing, the other gate lets the truck out without asking.
    second = make_second_trip(client, gate)
    assert (second["decision"], second["event"]) == ("allow", "exit")


def make_second_trip(client, gate):
    code = gate["pass"].code
    later(gate, minutes=5)
    scan(client, gate["officer"], gate["g1"], code)
    later(gate, minutes=31)
    return scan(client, gate["officer"], gate["g2"], code)


def test_a_pass_revoked_since_is_not_shown_green_again(app, client, make, gate, db):
    from passes import services as passes

    code = gate["pass"].code
    scan(client, gate["officer"], gate["g1"], code)
    with app.extensions["sessions"]() as session:
        reviewer = make.user("reviewer")
        from accounts.models import User

        passes.revoke_pass(
            session, gate["pass"].id, session.get(User, reviewer.id), "吊销", now=now()
        )
    later(gate, seconds=10)
    again = scan(client, gate["officer"], gate["g1"], code)
    assert again["repeat_of"]
    assert (again["decision"], again["event"], again["reasons"]) == ("deny", None, ["revoked"])
    [trip] = trips_of(db, gate["pass"])
    assert trip.state == "entered"  # what was recorded stands: the truck is inside


def test_a_suspended_enterprise_cannot_annul(app, client, make, gate, db):
    from accounts import services as accounts

    code = gate["pass"].code
    scan(client, gate["officer"], gate["g1"], code)
    arrival = scan(client, gate["receiver"], gate["site"], code)
    admin = make.user("admin")
    with app.extensions["sessions"]() as session:
        accounts.set_enterprise_status(
            session, gate["site"].enterprise_id, "suspended", actor=admin, now=now()
        )
    assert annul(client, gate["receiver"], arrival["scan_id"], "read_twice").status_code == 403
    assert trips_of(db, gate["pass"])[0].state == "arrived"


def test_the_reasons_words_follow_the_page_language(client, make, gate):
    from tests.support import login

    officer = make.officer(gate["g1"])
    login(client, officer.username)
    chinese = client.get("/scan").get_data(as_text=True)
    client.get("/lang/en")
    english = client.get("/scan").get_data(as_text=True)
    # The scanner's words for the history (a literal code through the `word` filter).
    assert words_of(chinese)["annul_reasons"]["read_twice"] == "重复扫码"
    assert words_of(english)["annul_reasons"]["read_twice"] == "Read twice"


def words_of(page):
    import json
    import re

    found = re.search(
        r'<script type="application/json" id="scanner-text">(.*?)</script>', page, re.S
    )
    return json.loads(found.group(1))
