"""POST /api/v1/scans end to end: decisions, trips, anomalies, idempotency, annulment,
concurrency and the audit chain."""

import threading
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from checkpoints.models import Anomaly, Scan, Trip
from core import audit
from core.privacy import mask_plate
from tests.support import api_token, audit_log_verifies, now
from trust import tokens


@pytest.fixture
def loop(client, make):
    """A destination enterprise with its site, two gates, an officer, and an approved pass."""
    destination = make.enterprise()
    shipper = make.enterprise()
    p = make.pass_(
        enterprise=shipper, status="approved", destination_enterprise_id=destination.id, max_trips=2
    )
    gate, gate2 = make.checkpoint("gate"), make.checkpoint("gate")
    site = make.checkpoint("site", destination)
    officer = make.officer(gate, gate2)
    return {
        "pass": p,
        "gate": gate,
        "gate2": gate2,
        "site": site,
        "officer": api_token(client, officer.username),
        "officer_name": officer.username,
        "receiver": api_token(client, make.enterprise_user(destination).username),
    }


def scan(client, headers, checkpoint, code=None, scan_id=None, **extra):
    body = {"scan_id": scan_id or str(uuid.uuid4()), "checkpoint_id": checkpoint.id, **extra}
    if code is not None:
        body["code"] = code
    response = client.post("/api/v1/scans", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_full_loop_entry_arrival_exit(client, loop, db):
    code = loop["pass"].code
    entry = scan(client, loop["officer"], loop["gate"], code)
    assert (entry["decision"], entry["event"], entry["trip"]["state"]) == (
        "allow",
        "entry",
        "entered",
    )
    assert entry["pass"]["plate"] == loop["pass"].vehicle.plate
    arrival = scan(client, loop["receiver"], loop["site"], code)
    assert (arrival["event"], arrival["trip"]["state"]) == ("arrival", "arrived")
    leave = scan(client, loop["officer"], loop["gate2"], code)
    assert (leave["event"], leave["trip"]["state"]) == ("exit", "exited")
    assert leave["trip"]["id"] == entry["trip"]["id"]
    trip = client.get(f"/api/v1/trips/{entry['trip']['id']}", headers=loop["officer"])
    assert trip.status_code == 403  # officers do not browse trips
    assert db.scalar(select(func.count()).select_from(Anomaly)) == 0


def test_same_scan_id_returns_the_same_answer_and_records_nothing_new(client, loop, db):
    scan_id = str(uuid.uuid4())
    first = scan(client, loop["officer"], loop["gate"], loop["pass"].code, scan_id=scan_id)
    again = scan(client, loop["officer"], loop["gate"], loop["pass"].code, scan_id=scan_id)
    assert again == first
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Scan)) == 1
    assert db.scalar(select(func.count()).select_from(Trip)) == 1


def test_manual_entry_with_number_and_plate(client, loop):
    p = loop["pass"]
    ok = scan(client, loop["officer"], loop["gate"], number=p.number, plate=p.vehicle.plate.lower())
    assert ok["decision"] == "allow"
    # The number matched, the plate did not: say so, with the pass's plate masked.
    wrong = scan(client, loop["officer"], loop["gate"], number=p.number, plate="浙A00000")
    assert (wrong["decision"], wrong["reasons"]) == ("deny", ["plate_mismatch"])
    assert wrong["pass"]["plate"] == mask_plate(p.vehicle.plate)
    assert wrong["pass"]["id"] is None  # no more than the public status page shows
    unknown = scan(client, loop["officer"], loop["gate"], number="330482999999", plate="浙A00000")
    assert (unknown["decision"], unknown["reasons"], unknown["pass"]) == (
        "deny",
        ["not_found"],
        None,
    )


def test_only_officers_and_the_destination_learn_a_plate_from_a_number(client, loop, make):
    """A rival with a site of its own trying pass numbers learns nothing; junk plates
    (a dash, one letter) are no plate at all."""
    p = loop["pass"]
    rival = make.enterprise()
    rival_site = make.checkpoint("site", rival)
    rival_scanner = api_token(client, make.enterprise_user(rival).username)
    tried = scan(client, rival_scanner, rival_site, number=p.number, plate="浙A00000")
    assert (tried["reasons"], tried["pass"]) == (["not_found"], None)
    mine = scan(client, loop["receiver"], loop["site"], number=p.number, plate="浙A00000")
    # the pass's plate masked: it differs, but no plate is read off a number tried
    assert (mine["reasons"], mine["pass"]["plate"]) == (
        ["plate_mismatch"],
        mask_plate(p.vehicle.plate),
    )
    assert p.vehicle.plate not in str(mine)
    for junk in ("-", " x ", p.vehicle.plate[-3:]):
        answer = scan(client, loop["officer"], loop["gate"], number=p.number, plate=junk)
        assert (answer["reasons"], answer["pass"]) == (["not_found"], None), junk


def test_manual_entry_accepts_the_plate_without_its_province(client, loop):
    p = loop["pass"]
    tail = p.vehicle.plate[1:].lower()  # f12345: the province character is slow to type
    ok = scan(client, loop["officer"], loop["gate"], number=p.number, plate=f" {tail} ")
    assert (ok["decision"], ok["event"]) == ("allow", "entry")
    one_off = tail[:-1] + ("0" if tail[-1] != "0" else "1")
    wrong = scan(client, loop["officer"], loop["gate"], number=p.number, plate=one_off)
    assert wrong["reasons"] == ["plate_mismatch"]


def test_exit_without_arrival_raises_no_arrival_anomaly(client, loop, db):
    scan(client, loop["officer"], loop["gate"], loop["pass"].code)
    leave = scan(client, loop["officer"], loop["gate"], loop["pass"].code)
    assert leave["anomalies"] == ["no_arrival"]
    assert db.scalars(select(Anomaly.kind)).all() == ["no_arrival"]


def test_arrival_without_entry_raises_no_entry(client, loop, db):
    arrival = scan(client, loop["receiver"], loop["site"], loop["pass"].code)
    assert (arrival["decision"], arrival["anomalies"]) == ("allow", ["no_entry"])


def test_arrival_at_the_wrong_site_is_denied(client, loop, make):
    other = make.enterprise()
    site = make.checkpoint("site", other)
    headers = api_token(client, make.enterprise_user(other).username)
    scan(client, loop["officer"], loop["gate"], loop["pass"].code)
    wrong = scan(client, headers, site, loop["pass"].code)
    assert (wrong["decision"], wrong["reasons"]) == ("deny", ["wrong_destination"])


def test_officer_must_be_assigned(client, loop, make):
    stranger = make.officer(make.checkpoint("gate"))
    response = scan(client, api_token(client, stranger.username), loop["gate"], loop["pass"].code)
    assert (response["decision"], response["reasons"], response["pass"]) == (
        "deny",
        ["wrong_checkpoint"],
        None,
    )


def test_multi_trip_pass_counts_trips_and_stops_when_used(client, loop):
    code = loop["pass"].code
    for _ in range(2):
        assert scan(client, loop["officer"], loop["gate"], code)["event"] == "entry"
        assert scan(client, loop["officer"], loop["gate"], code)["event"] == "exit"
    third = scan(client, loop["officer"], loop["gate"], code)
    assert third["reasons"] == ["no_trips_left"]


def test_forged_revoked_and_expired_codes(app, client, loop, make):
    code = loop["pass"].code
    token = tokens.token_from_text(code)
    forged = code.replace(token, token[:50] + ("A" if token[50] != "A" else "B") + token[51:])
    assert scan(client, loop["officer"], loop["gate"], forged)["reasons"] == ["bad_signature"]
    assert scan(client, loop["officer"], loop["gate"], "HELLO")["reasons"] == ["malformed"]
    revoked = make.pass_(status="revoked")
    assert scan(client, loop["officer"], loop["gate"], revoked.code)["reasons"] == ["revoked"]
    app.extensions["clock"] = lambda: now() + timedelta(days=5)
    later = api_token(client, loop["officer_name"])  # the first token expired meanwhile
    assert scan(client, later, loop["gate"], code)["reasons"] == ["expired"]


def test_denied_scans_are_recorded_too(client, loop, db):
    scan(client, loop["officer"], loop["gate"], "garbage")
    db.rollback()
    [row] = db.scalars(select(Scan)).all()
    assert (row.decision, row.reasons, row.pass_id) == ("deny", ["malformed"], None)


def test_bad_requests_are_422(client, loop):
    headers = loop["officer"]
    for body in (
        {"checkpoint_id": loop["gate"].id, "code": "x"},
        {"scan_id": "not-a-uuid", "checkpoint_id": loop["gate"].id, "code": "x"},
        {"scan_id": str(uuid.uuid4()), "checkpoint_id": loop["gate"].id},
        {"scan_id": str(uuid.uuid4()), "checkpoint_id": 999999, "code": "x"},
        {
            "scan_id": str(uuid.uuid4()),
            "checkpoint_id": loop["gate"].id,
            "code": "x",
            "scanned_at": "2026-11-22T08:00:00",
        },
    ):
        assert client.post("/api/v1/scans", json=body, headers=headers).status_code == 422


def test_officer_annuls_a_mistaken_exit_and_the_trip_reopens(client, loop, db):
    code = loop["pass"].code
    scan(client, loop["officer"], loop["gate"], code)
    scan(client, loop["receiver"], loop["site"], code)
    scan(client, loop["officer"], loop["gate"], code)
    db.rollback()
    exit_scan = db.scalars(select(Scan).where(Scan.event == "exit")).one()
    response = client.post(
        f"/api/v1/scans/{exit_scan.scan_id}/annul",
        json={"reason": "wrong_vehicle"},
        headers=loop["officer"],
    )
    assert response.status_code == 200, response.get_json()
    db.rollback()
    assert db.scalars(select(Trip.state)).one() == "arrived"
    assert db.scalar(select(func.count()).select_from(Scan)) == 4  # nothing deleted
    again = client.post(
        f"/api/v1/scans/{exit_scan.scan_id}/annul",
        json={"reason": "read_twice"},
        headers=loop["officer"],
    )
    assert again.status_code == 409


def test_annulling_the_only_entry_voids_the_trip_and_returns_the_trip(client, loop, db):
    scan(client, loop["officer"], loop["gate"], loop["pass"].code)
    db.rollback()
    entry = db.scalars(select(Scan)).one()
    client.post(
        f"/api/v1/scans/{entry.scan_id}/annul",
        json={"reason": "read_twice"},
        headers=loop["officer"],
    )
    db.rollback()
    assert db.scalars(select(Trip.state)).one() == "void"
    from passes.models import Pass

    assert db.get(Pass, loop["pass"].id).trips_used == 0


def test_officer_may_not_annul_after_ten_minutes_but_a_supervisor_may(app, client, loop, make, db):
    scan(client, loop["officer"], loop["gate"], loop["pass"].code)
    db.rollback()
    entry = db.scalars(select(Scan)).one()
    app.extensions["clock"] = lambda: now() + timedelta(minutes=11)
    late = client.post(
        f"/api/v1/scans/{entry.scan_id}/annul",
        json={"reason": "read_twice"},
        headers=loop["officer"],
    )
    assert late.status_code == 403
    supervisor = api_token(client, make.user("supervisor").username)
    ok = client.post(
        f"/api/v1/scans/{entry.scan_id}/annul",
        json={"reason": "other", "note": "监管更正"},
        headers=supervisor,
    )
    assert ok.status_code == 200


def test_scans_and_annulments_are_in_the_audit_chain(app, client, loop, db):
    scan(client, loop["officer"], loop["gate"], loop["pass"].code)
    scan(client, loop["officer"], loop["gate"], "bad")
    db.rollback()
    actions = db.scalars(
        select(audit.AuditEntry.action).where(audit.AuditEntry.object_type == "scan")
    ).all()
    assert actions == ["scan.allow", "scan.deny"]
    assert audit_log_verifies(app).ok


def test_concurrent_scans_at_two_gates_open_one_trip_and_lose_nothing(app, loop, make):
    from checkpoints import scanning
    from checkpoints.schemas import ScanIn
    from tests.support import FAST_HASH  # noqa: F401 - same factories as the API
    from trust import keys

    with app.extensions["sessions"]() as session:
        from accounts.models import User

        officer = session.scalars(select(User).where(User.role == "officer")).first()
    results, errors = [], []

    def worker(gate):
        try:
            with app.extensions["sessions"]() as session:
                trusted = keys.trusted_keys(session, now())
                data = ScanIn(scan_id=uuid.uuid4(), checkpoint_id=gate.id, code=loop["pass"].code)
                results.append(
                    scanning.record(session, officer, data, keys=trusted, clock=now).response
                )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(g,)) for g in [loop["gate"], loop["gate2"]] * 4
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 8
    with app.extensions["sessions"]() as session:
        assert session.scalar(select(func.count()).select_from(Scan)) == 8
        trips = session.scalars(select(Trip)).all()
        open_trips = [t for t in trips if t.state in ("entered", "arrived")]
        assert len(open_trips) <= 1
        # One entry; the same gate's other reads repeat it, the other gate's are told the
        # pass is inside already (a copy of the code, or a crossing too short to be true).
        entries = [r for r in results if r["event"] == "entry" and r["repeat_of"] is None]
        assert len(entries) == len(trips) == 1
        others = [r for r in results if r not in entries]
        assert all(r["repeat_of"] or r["reasons"] == ["inside_elsewhere"] for r in others)
    assert audit_log_verifies(app).ok


# who issued the pass is as public as its number (the status page is the issuer's own)
PUBLIC_VIEW = {"number", "plate", "driver_name", "destination_enterprise", "valid_until", "issuer"}


def assert_public_view(answer, p):
    shown = {k for k, v in answer["pass"].items() if v is not None}
    assert shown == PUBLIC_VIEW, answer["pass"]
    assert answer["pass"]["driver_name"] == p.driver.name_masked != p.driver.name


def test_a_rival_with_its_own_site_learns_only_the_public_facts(client, loop, make):
    """Any approved enterprise can open a site and scan or type any number: a denial
    there shows no cargo, full name or trip count."""
    rival = make.enterprise()
    site = make.checkpoint("site", rival)
    headers = api_token(client, make.enterprise_user(rival).username)
    p = loop["pass"]
    scanned = scan(client, headers, site, p.code)
    typed = scan(client, headers, site, number=p.number, plate=p.vehicle.plate)
    for answer in (scanned, typed):
        assert (answer["decision"], answer["reasons"]) == ("deny", ["wrong_destination"])
        assert_public_view(answer, p)


def test_denials_at_a_gate_and_to_the_destination_show_only_the_public_facts(client, loop, make):
    revoked = make.pass_(status="revoked")
    gate_denial = scan(client, loop["officer"], loop["gate"], revoked.code)
    assert gate_denial["reasons"] == ["revoked"]
    assert_public_view(gate_denial, revoked)
    # The destination's own scanner: a denial (here the trips are used up) is public too.
    p = loop["pass"]
    for gate in ("gate", "gate2"):
        scan(client, loop["officer"], loop[gate], p.code)  # entry, then exit
        scan(client, loop["officer"], loop[gate], p.code)
    used_up = scan(client, loop["receiver"], loop["site"], p.code)
    assert used_up["reasons"] == ["no_trips_left"]
    assert_public_view(used_up, p)


def test_an_allowed_scan_shows_the_whole_pass(client, loop):
    allowed = scan(client, loop["officer"], loop["gate"], loop["pass"].code)
    assert allowed["pass"]["driver_name"] == loop["pass"].driver.name
    assert allowed["pass"]["cargo"] == loop["pass"].cargo
    assert allowed["pass"]["trips_used"] == 1


def test_another_scanners_scan_id_is_a_conflict_not_its_answer(client, loop, make, db):
    scan_id = str(uuid.uuid4())
    first = scan(client, loop["officer"], loop["gate"], loop["pass"].code, scan_id=scan_id)
    other = make.officer(loop["gate"])
    body = {"scan_id": scan_id, "checkpoint_id": loop["gate"].id, "code": "x"}
    stolen = client.post("/api/v1/scans", json=body, headers=api_token(client, other.username))
    assert stolen.status_code == 409
    assert stolen.mimetype == "application/problem+json"
    assert "driver_name" not in stolen.get_data(as_text=True)
    assert scan(client, loop["officer"], loop["gate"], "x", scan_id=scan_id) == first
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Scan)) == 1


def test_exits_without_entry_never_push_trips_past_the_maximum(client, loop, make, db):
    """A revoked three-trip pass once reached trips_used 4 by 'exiting' again and again."""
    from passes.models import Pass

    revoked = make.pass_(status="revoked", max_trips=3)
    for _ in range(4):
        leave = scan(client, loop["officer"], loop["gate"], revoked.code, direction="exit")
        assert (leave["decision"], leave["event"], leave["anomalies"]) == (
            "allow",
            "exit",
            ["no_entry"],
        )
        assert leave["trip"]["seq"] is None  # an exit-only record
    db.rollback()
    assert db.get(Pass, revoked.id).trips_used == 0
    trips = db.scalars(select(Trip).where(Trip.pass_id == revoked.id)).all()
    assert [(t.seq, t.state) for t in trips] == [(None, "exited")] * 4
    kinds = db.scalars(select(Anomaly.kind).where(Anomaly.pass_id == revoked.id)).all()
    assert kinds == ["no_entry"] * 4
    never = make.pass_(status="submitted")
    refused = scan(client, loop["officer"], loop["gate"], never.code or "x", direction="exit")
    assert refused["decision"] == "deny"


def test_a_never_approved_pass_typed_at_the_gate_may_not_exit(client, loop, make):
    never = make.pass_(status="submitted")
    answer = scan(
        client,
        loop["officer"],
        loop["gate"],
        number=never.number,
        plate=never.vehicle.plate,
        direction="exit",
    )
    assert (answer["decision"], answer["reasons"]) == ("deny", ["not_approved"])


def test_suspending_the_applicant_stops_entry_and_approvals_until_lifted(client, loop, make):
    p = loop["pass"]
    waiting = make.pass_(enterprise=p.enterprise)
    admin = api_token(client, make.user("admin").username)
    reviewer = api_token(client, make.user("reviewer").username)
    enterprise_id = p.enterprise_id
    assert (
        client.post(f"/api/v1/enterprises/{enterprise_id}/suspend", headers=admin).status_code
        == 200
    )

    refused = client.post(f"/api/v1/passes/{waiting.id}/approve", headers=reviewer)
    assert refused.status_code == 409
    assert "暂停" in refused.get_json()["detail"]
    bulk = client.post(
        "/api/v1/passes/bulk-approve", json={"ids": [waiting.id]}, headers=reviewer
    ).get_json()
    assert bulk == {"approved": [], "skipped": [waiting.id]}
    entry = scan(client, loop["officer"], loop["gate"], p.code)
    assert (entry["decision"], entry["reasons"]) == ("deny", ["enterprise_suspended"])
    status = client.get(urlsplit(p.code).path)  # the public page the QR opens
    assert "暂停" in status.get_data(as_text=True)
    leave = scan(client, loop["officer"], loop["gate"], p.code, direction="exit")
    assert (leave["decision"], leave["event"]) == ("allow", "exit")
    assert "enterprise_suspended" in leave["reasons"]

    assert (
        client.post(f"/api/v1/enterprises/{enterprise_id}/approve", headers=admin).status_code
        == 200
    )
    assert scan(client, loop["officer"], loop["gate"], p.code)["decision"] == "allow"
    approved = client.post(f"/api/v1/passes/{waiting.id}/approve", headers=reviewer)
    assert approved.status_code == 200
