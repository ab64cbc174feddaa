"""The third point of 三点往返: a pass names its crew's stations; a scan at a station
inside an open trip is a stop (counted on the trip, its state unchanged); a station the pass
does not name is refused and raised; a stop outside any trip is refused; officers are
assigned to stations as to gates; a stop annulled is taken off the count."""

import uuid

from sqlalchemy import select

from checkpoints.models import Anomaly, Trip
from tests.support import api_token, application, login, post_form


def scan(client, headers, checkpoint, code, **extra):
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": code, **extra}
    return client.post("/api/v1/scans", json=body, headers=headers).get_json()


def trip_of(make, pass_id):
    with make.session() as session:
        return session.scalars(select(Trip).where(Trip.pass_id == pass_id)).one()


def test_a_stop_at_a_named_station_counts_and_an_unnamed_one_is_refused_and_raised(
    app, client, make
):
    app.config["REPEAT_SCAN_SECONDS"] = 0
    gate, named, other = (
        make.checkpoint("gate"),
        make.checkpoint("station"),
        make.checkpoint("station"),
    )
    p = make.pass_(status="approved", station_ids=[named.id])
    assert p.station_ids == [named.id]
    officer = api_token(client, make.officer(gate, named, other).username)

    outside = scan(client, officer, named, p.code)
    assert (outside["decision"], outside["reasons"]) == ("deny", ["not_inside"])
    entry = scan(client, officer, gate, p.code)
    assert entry.get("event") == "entry", entry
    stop = scan(client, officer, named, p.code)
    assert (stop["decision"], stop["event"], stop["trip"]["state"]) == ("allow", "stop", "entered")
    assert scan(client, officer, named, p.code)["event"] == "stop"
    refused = scan(client, officer, other, p.code)
    assert (refused["decision"], refused["reasons"]) == ("deny", ["not_designated"])
    assert refused["anomalies"] == ["not_designated"]
    assert refused["trip"]["id"] == stop["trip"]["id"]  # recorded on the trip it happened in

    trip = trip_of(make, p.id)
    assert (trip.stops, trip.state) == (2, "entered")
    with make.session() as session:
        kinds = session.scalars(select(Anomaly.kind).where(Anomaly.trip_id == trip.id)).all()
    assert kinds == ["not_designated"]

    # annulled by the officer who scanned it: the count is replayed from what stands
    annulled = client.post(
        f"/api/v1/scans/{stop['scan_id']}/annul", json={"reason": "read_twice"}, headers=officer
    )
    assert annulled.status_code == 200, annulled.get_json()
    assert trip_of(make, p.id).stops == 1
    assert scan(client, officer, gate, p.code)["event"] == "exit"


def test_a_pass_naming_no_station_may_stop_at_any(app, client, make):
    app.config["REPEAT_SCAN_SECONDS"] = 0
    gate, station = make.checkpoint("gate"), make.checkpoint("station")
    p = make.pass_(status="approved")
    officer = api_token(client, make.officer(gate, station).username)
    scan(client, officer, gate, p.code)
    assert scan(client, officer, station, p.code)["event"] == "stop"


def test_stations_are_named_only_from_active_stations_and_shown_on_the_pass(app, client, make):
    station, gate = make.checkpoint("station"), make.checkpoint("gate")
    enterprise = make.enterprise()
    owner = make.enterprise_user(enterprise)
    vehicle, driver = make.vehicle(owner), make.driver(owner)
    headers = api_token(client, owner.username)
    wrong = client.post(
        "/api/v1/passes",
        json=application(vehicle.id, driver.id, station_ids=[gate.id]),
        headers=headers,
    )
    assert wrong.status_code == 422
    assert "station_ids" in wrong.get_json()["errors"]
    filed = client.post(
        "/api/v1/passes",
        json=application(vehicle.id, driver.id, station_ids=[station.id]),
        headers=headers,
    )
    assert filed.status_code == 201, filed.get_json()
    assert filed.get_json()["station_ids"] == [station.id]

    login(client, owner.username)
    form = client.get("/passes/new").get_data(as_text=True)
    assert f'value="{station.id}"' in form
    assert station.name in form
    page = client.get(f"/passes/{filed.get_json()['id']}").get_data(as_text=True)
    assert station.name in page


def test_an_officer_is_assigned_to_a_station_and_a_station_has_no_enterprise(app, client, make):
    station = make.checkpoint("station")
    officer = make.officer(station)
    admin = api_token(client, make.user("admin").username)
    mine = client.get("/api/v1/checkpoints", headers=api_token(client, officer.username))
    assert [c["id"] for c in mine.get_json()["items"]] == [station.id]
    enterprise = make.enterprise()
    owned = client.post(
        "/api/v1/checkpoints",
        json={
            "code": "ST-OWN",
            "name": "企业的点",
            "kind": "station",
            "enterprise_id": enterprise.id,
        },
        headers=admin,
    )
    assert owned.status_code == 422
    login(client, make.user("admin").username)
    made = post_form(
        client, "/admin/checkpoints", {"code": "ST-9", "name": "司机之家", "kind": "station"}
    )
    assert made.status_code in (200, 302)
    listed = client.get("/admin/checkpoints").get_data(as_text=True)
    assert "ST-9" in listed
    assert "司机之家" in listed


def test_a_stop_made_offline_is_uploaded(app, client, make):
    from tests.support import now

    gate, station = make.checkpoint("gate"), make.checkpoint("station")
    p = make.pass_(status="approved")
    officer = api_token(client, make.officer(gate, station).username)
    scan(client, officer, gate, p.code)
    item = {
        "scan_id": str(uuid.uuid4()),
        "checkpoint_id": station.id,
        "code": p.code,
        "offline": True,
        "decision": "allow",
        "event": "stop",
        "scanned_at": now().isoformat(),
    }
    answer = client.post("/api/v1/scans/batch", json={"items": [item]}, headers=officer)
    [result] = answer.get_json()["items"]
    assert result["status"] != "error", result
    assert trip_of(make, p.id).stops == 1


def test_a_stop_or_refusal_uploaded_from_before_the_open_trip_leaves_it_alone(app, client, make):
    from datetime import timedelta

    from tests.support import now

    gate, named, other = (
        make.checkpoint("gate"),
        make.checkpoint("station"),
        make.checkpoint("station"),
    )
    p = make.pass_(status="approved", station_ids=[named.id])
    officer = api_token(client, make.officer(gate, named, other).username)
    scan(client, officer, gate, p.code)
    earlier = (now() - timedelta(minutes=30)).isoformat()  # the phone was offline then
    items = [
        {
            "scan_id": str(uuid.uuid4()),
            "checkpoint_id": station.id,
            "code": p.code,
            "offline": True,
            "decision": decision,
            **({"event": "stop"} if decision == "allow" else {}),
            "scanned_at": earlier,
        }
        for station, decision in ((named, "allow"), (other, "deny"))
    ]
    answer = client.post("/api/v1/scans/batch", json={"items": items}, headers=officer)
    assert all(r["status"] != "error" for r in answer.get_json()["items"]), answer.get_json()
    trip = trip_of(make, p.id)
    assert trip.stops == 0
    with make.session() as session:
        kinds = session.scalars(select(Anomaly.kind).where(Anomaly.trip_id == trip.id)).all()
    assert kinds == []
