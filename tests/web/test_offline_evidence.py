"""Offline uploads are evidence, not authority (DESIGN.md section 11): what a phone says
it let through is recorded only as the online rules could have produced it at that
checkpoint for that caller; unapproved or suspended enterprises record nothing; device
times are bounded; alert SMS from a burst of uploads are limited."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts import services as accounts
from checkpoints.models import Anomaly, Scan, Trip
from passes.models import Pass
from sms.models import SmsMessage
from tests.support import api_token, now

LATER = timedelta(hours=4)  # the server's clock at upload


@pytest.fixture
def world(app, client, make):
    ours, theirs = make.enterprise(), make.enterprise()
    mine = make.pass_(status="approved", destination_enterprise_id=ours.id, max_trips=3)
    other = make.pass_(status="approved", destination_enterprise_id=theirs.id, max_trips=1)
    gate = make.checkpoint("gate")
    site = make.checkpoint("site", ours)
    app.extensions["clock"] = lambda: now() + LATER
    return {
        "ours": ours,
        "mine": mine,
        "other": other,
        "gate": gate,
        "site": site,
        "officer": api_token(client, (officer := make.officer(gate)).username),
        "officer_name": officer.username,
        "receiver": api_token(client, make.enterprise_user(ours).username),
    }


def item(checkpoint, p, at=None, decision="allow", event="entry", **extra):
    return {
        "scan_id": str(uuid.uuid4()),
        "checkpoint_id": checkpoint.id,
        "code": p.code,
        "offline": True,
        "decision": decision,
        "event": event,
        "scanned_at": (at or now() + timedelta(minutes=5)).isoformat(),
        **extra,
    }


def upload(client, headers, items, status=200):
    response = client.post("/api/v1/scans/batch", json={"items": items}, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()["items"]


def recorded(db):
    db.rollback()
    return db.scalar(select(func.count()).select_from(Scan))


def test_a_site_cannot_record_exits_or_others_passes_and_keeps_each_refusal(client, world, db):
    other = world["other"]
    answers = upload(
        client,
        world["receiver"],
        [item(world["site"], other, event="exit") for _ in range(3)]
        + [item(world["site"], other, event="arrival")],
    )
    assert [a["status"] for a in answers] == ["error"] * 4
    assert {a["problem"]["status"] for a in answers} == {409}
    assert answers[0]["problem"]["detail"]  # why, in words the phone keeps on screen
    assert all("result" not in a or a["result"] is None for a in answers)  # nothing shown
    assert recorded(db) == 0
    assert db.get(Pass, other.id).trips_used == 0
    # The real truck still enters at the gate.
    entry = client.post(
        "/api/v1/scans",
        json={"scan_id": str(uuid.uuid4()), "checkpoint_id": world["gate"].id, "code": other.code},
        headers=world["officer"],
    ).get_json()
    assert (entry["decision"], entry["event"]) == ("allow", "entry")


def test_a_site_records_arrivals_of_its_own_passes(client, world, db):
    [answer] = upload(
        client, world["receiver"], [item(world["site"], world["mine"], event="arrival")]
    )
    assert answer["status"] == "recorded", answer
    assert answer["result"]["event"] == "arrival"


def test_a_manual_number_at_a_rival_site_is_refused(client, world, db):
    other = world["other"]
    guess = item(world["site"], other, event="arrival")
    del guess["code"]
    guess.update(number=other.number, plate=other.vehicle.plate[-5:])
    [answer] = upload(client, world["receiver"], [guess])
    assert answer["status"] == "error"
    assert recorded(db) == 0


def test_an_officer_cannot_stamp_an_arrival_at_a_gate(client, world, db):
    [answer] = upload(
        client, world["officer"], [item(world["gate"], world["mine"], event="arrival")]
    )
    assert answer["status"] == "error"
    assert recorded(db) == 0


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_an_enterprise_not_approved_records_nothing_online_or_offline(
    app, client, make, world, db, status
):
    # A self-registered enterprise never approved (it has no site: it tries another's), or
    # the site's own enterprise once suspended.
    enterprise = make.enterprise(status="pending") if status == "pending" else world["ours"]
    headers = api_token(client, make.enterprise_user(enterprise).username)
    site = world["site"]
    if status == "suspended":
        with app.extensions["sessions"]() as session:
            admin = make.user("admin")
            accounts.set_enterprise_status(
                session, enterprise.id, "suspended", actor=admin, now=now()
            )
    online = client.post(
        "/api/v1/scans",
        json={"scan_id": str(uuid.uuid4()), "checkpoint_id": site.id, "code": "forged"},
        headers=headers,
    )
    assert online.status_code == 403, online.get_json()
    answers = upload(client, headers, [item(site, world["mine"], event="arrival")])
    assert answers[0]["status"] == "error"
    assert answers[0]["problem"]["status"] == 403
    report = client.post(
        "/api/v1/scanner/report",
        json={"device_id": str(uuid.uuid4()), "queued": 999999},
        headers=headers,
    )
    assert report.status_code == 403
    assert client.get("/api/v1/scanner/passes", headers=headers).status_code == 403
    assert recorded(db) == 0


def test_scanner_reports_come_from_scanners_of_that_checkpoint_and_a_few_phones_each(
    client, world, db
):
    from checkpoints.models import ScannerDevice

    elsewhere = client.post(
        "/api/v1/scanner/report",
        json={"device_id": str(uuid.uuid4()), "checkpoint_id": world["gate"].id},
        headers=world["receiver"],
    )
    assert elsewhere.status_code == 403
    for _ in range(20):
        client.post(
            "/api/v1/scanner/report",
            json={"device_id": str(uuid.uuid4()), "queued": 999999},
            headers=world["receiver"],
        )
    db.rollback()
    assert db.scalar(select(func.count()).select_from(ScannerDevice)) == 3


def test_a_backdated_allow_of_a_pass_expired_now_is_a_conflict(app, client, world, db):
    # The pass was valid from now to three days on; the server's clock is a week on.
    app.extensions["clock"] = lambda: now() + timedelta(days=7)
    officer = api_token(client, world["officer_name"])  # signed in today
    at = now() + timedelta(days=1)  # six days before the server's now: "4 days ago" and more
    answers = upload(
        client,
        officer,
        [
            item(world["gate"], world["mine"], at),
            item(world["gate"], world["mine"], at + timedelta(hours=2), event="exit"),
        ],
    )
    assert [a["status"] for a in answers] == ["conflict", "conflict"]
    assert all("device_clock" in a["result"]["reasons"] for a in answers)
    db.rollback()
    kinds = db.scalars(select(Anomaly.kind).where(Anomaly.pass_id == world["mine"].id)).all()
    assert "offline_conflict" in kinds


def test_an_upload_shows_no_more_than_the_online_scan_would(client, make, world, db):
    revoked = make.pass_(status="revoked")
    [answer] = upload(client, world["officer"], [item(world["gate"], revoked)])
    assert answer["status"] == "conflict"
    shown = answer["result"]["pass"]
    assert shown["cargo"] is None
    assert shown["id"] is None
    assert "*" in shown["driver_name"]


def test_alert_sms_from_a_burst_of_uploads_are_limited(app, client, make, world, db):
    app.config["SMS_DELIVER_INLINE"] = False
    watcher = make.user("supervisor")
    headers = api_token(client, watcher.username)
    saved = client.put(
        "/api/v1/alerts",
        json={"kinds": ["no_entry", "offline_conflict"], "sms": True, "phone": "13900002222"},
        headers=headers,
    )
    assert saved.status_code == 200
    passes = [make.pass_(status="approved") for _ in range(8)]
    # Each leaves with no entry recorded: an anomaly each.
    items = [item(world["gate"], p, event="exit", direction="exit") for p in passes]
    answers = upload(client, world["officer"], items)
    assert {a["status"] for a in answers} <= {"recorded", "conflict"}
    db.rollback()
    assert db.scalar(select(func.count()).where(Trip.pass_id.in_([p.id for p in passes]))) == 8
    sent = db.scalars(select(SmsMessage).where(SmsMessage.to.like("%13900002222"))).all()
    assert len(sent) == app.config["ALERT_SMS_PER_WINDOW"] == 5
    inbox = client.get("/api/v1/notifications", headers=headers).get_json()
    assert inbox["total"] == 8  # every one in the app


def test_a_site_cannot_carry_a_rivals_pass_through_by_choosing_its_device_time(client, world, db):
    other = world["other"]
    before_valid = now() - timedelta(hours=1)  # "not valid yet" then: a status reason
    after_valid = now() + timedelta(days=4)  # "expired" then
    answers = upload(
        client,
        world["receiver"],
        [
            item(world["site"], other, before_valid, event="arrival"),
            item(world["site"], other, after_valid, event="arrival"),
        ],
    )
    assert [a["status"] for a in answers] == ["error", "error"]
    assert recorded(db) == 0
    assert db.get(Pass, other.id).trips_used == 0


def test_an_upload_repeats_only_what_happened_around_its_own_time(app, client, make, world, db):
    app.config["REPEAT_SCAN_SECONDS"] = 120
    p, gate = world["mine"], world["gate"]
    t0 = now() + timedelta(minutes=10)  # the server's clock is four hours on
    answers = upload(
        client,
        world["officer"],
        [item(gate, p, t0), item(gate, p, t0 + timedelta(hours=1), event="exit")],
    )
    assert [a["status"] for a in answers] == ["recorded", "recorded"]
    # A real new entry just after the sync, by another officer at the same gate: not a
    # repeat of the exit synced a moment ago (it happened three hours before).
    other = api_token(client, make.officer(gate).username)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
    entry = client.post("/api/v1/scans", json=body, headers=other).get_json()
    assert (entry["event"], entry["repeat_of"]) == ("entry", None)
    # An older offline scan uploaded now repeats nothing newer than itself.
    [late] = upload(client, world["officer"], [item(gate, p, t0 + timedelta(minutes=30))])
    assert late["result"]["repeat_of"] is None


def test_annulling_an_offline_conflict_resolves_it(client, make, world, db):
    revoked = make.pass_(status="revoked")
    [answer] = upload(client, world["officer"], [item(world["gate"], revoked)])
    assert answer["status"] == "conflict"
    supervisor = api_token(client, make.user("supervisor").username)
    response = client.post(
        f"/api/v1/scans/{answer['scan_id']}/annul",
        json={"reason": "wrong_vehicle"},
        headers=supervisor,
    )
    assert response.status_code == 200, response.get_json()
    db.rollback()
    [conflict] = db.scalars(select(Anomaly).where(Anomaly.pass_id == revoked.id)).all()
    assert (conflict.kind, conflict.note) == ("offline_conflict", "cause_annulled")
