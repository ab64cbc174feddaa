"""POST /api/v1/scans/batch: scans decided on phones without network, uploaded later.
Idempotent per scan_id, an answer per item, recorded as they happened in device-time
order, and a conflict with the record is an `offline_conflict` the supervisor sees."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from checkpoints.models import Anomaly, Scan, Trip
from passes.models import Pass
from tests.support import api_token, now

LATER = timedelta(hours=4)  # the server's clock at upload: the scans happened before


@pytest.fixture
def post(app, client, make):
    destination = make.enterprise()
    p = make.pass_(status="approved", destination_enterprise_id=destination.id, max_trips=2)
    gate, gate2 = make.checkpoint("gate"), make.checkpoint("gate")
    app.extensions["clock"] = lambda: now() + LATER
    return {
        "pass": p,
        "gate": gate,
        "gate2": gate2,
        "officer": api_token(client, make.officer(gate, gate2).username),
        "other": api_token(client, make.officer(gate, gate2).username),
    }


def item(checkpoint, p, at, decision="allow", event="entry", **extra):
    return {
        "scan_id": str(uuid.uuid4()),
        "checkpoint_id": checkpoint.id,
        "code": p.code,
        "offline": True,
        "decision": decision,
        "event": event,
        "scanned_at": at.isoformat(),
        **extra,
    }


def upload(client, headers, items):
    response = client.post("/api/v1/scans/batch", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_an_offline_loop_is_recorded_with_the_phones_times(client, post, db):
    p, t0 = post["pass"], now() + timedelta(minutes=1)
    # Uploaded out of order: the server replays them by the phones' clocks.
    answers = upload(
        client,
        post["officer"],
        [item(post["gate2"], p, t0 + timedelta(hours=1), event="exit"), item(post["gate"], p, t0)],
    )
    assert [a["status"] for a in answers] == ["recorded", "recorded"]
    assert answers[1]["result"]["event"] == "entry"
    assert answers[0]["result"]["event"] == "exit"
    db.rollback()
    trip = db.scalars(select(Trip).where(Trip.pass_id == p.id)).one()
    assert trip.state == "exited"
    assert abs(trip.entered_at - t0) < timedelta(seconds=1)
    assert all(s.offline for s in db.scalars(select(Scan)))
    assert db.get(Pass, p.id).trips_used == 1


def test_a_replayed_batch_records_nothing_twice(client, post, db):
    items = [item(post["gate"], post["pass"], now() + timedelta(minutes=5))]
    first = upload(client, post["officer"], items)
    again = upload(client, post["officer"], items)
    assert again[0]["status"] == "duplicate"
    assert again[0]["result"] == first[0]["result"]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Scan)) == 1
    stolen = upload(client, post["other"], items)
    assert (stolen[0]["status"], stolen[0]["problem"]["status"]) == ("error", 409)


def test_malformed_items_get_their_own_problem_and_the_good_ones_are_kept(client, post, db):
    good = item(post["gate"], post["pass"], now() + timedelta(minutes=5))
    answers = upload(
        client,
        post["officer"],
        [
            {"scan_id": "not-a-uuid", "offline": True},
            good,
            {**item(post["gate"], post["pass"], now()), "decision": "maybe"},
            "not an object",
            {**item(post["gate"], post["pass"], now()), "checkpoint_id": 999999},
        ],
    )
    assert [a["status"] for a in answers] == ["error", "recorded", "error", "error", "error"]
    assert answers[0]["problem"]["status"] == 422
    assert "decision" in answers[2]["problem"]["errors"]
    assert "checkpoint_id" in answers[4]["problem"]["errors"]
    db.rollback()
    assert db.scalars(select(Scan.scan_id)).all() == [good["scan_id"]]


def test_two_offline_gates_admitting_the_same_pass_make_one_trip_and_a_conflict(client, post, db):
    p, t0 = post["pass"], now() + timedelta(minutes=30)
    first = upload(client, post["officer"], [item(post["gate"], p, t0)])
    second = upload(client, post["other"], [item(post["gate2"], p, t0 + timedelta(minutes=2))])
    assert first[0]["status"] == "recorded"
    assert second[0]["status"] == "conflict"
    db.rollback()
    assert db.scalar(select(func.count()).where(Trip.pass_id == p.id)) == 1
    assert db.scalars(select(Anomaly.kind)).all() == ["offline_conflict"]
    assert db.scalar(select(func.count()).select_from(Scan)) == 2  # both as they happened
    assert db.get(Pass, p.id).trips_used == 1


def test_revoked_meanwhile_is_recorded_as_it_happened_and_flagged(client, make, post, db):
    revoked = make.pass_(status="revoked")
    answers = upload(client, post["officer"], [item(post["gate"], revoked, now())])
    assert answers[0]["status"] == "conflict"
    assert "revoked" in answers[0]["result"]["reasons"]
    db.rollback()
    trip = db.scalars(select(Trip).where(Trip.pass_id == revoked.id)).one()
    assert trip.state == "entered"  # the truck is inside: the record says so
    assert trip.seq is None  # a revoked pass gives no trip
    assert db.scalars(select(Anomaly.kind).where(Anomaly.pass_id == revoked.id)).all() == [
        "offline_conflict"
    ]


def test_no_trips_left_offline_never_pushes_the_count_past_the_maximum(client, post, db):
    # Three offline loops on a two-trip pass, each crossing longer than the shortest
    # plausible one (domain.SHORTEST_CROSSING).
    p, t0 = post["pass"], now() + timedelta(minutes=1)
    loop = []
    for n in range(3):
        loop += [
            item(post["gate"], p, t0 + timedelta(minutes=60 * n)),
            item(post["gate2"], p, t0 + timedelta(minutes=60 * n + 40), event="exit"),
        ]
    answers = upload(client, post["officer"], loop)
    assert [a["status"] for a in answers] == ["recorded"] * 4 + ["conflict", "recorded"]
    db.rollback()
    assert db.get(Pass, p.id).trips_used == 2
    trips = db.scalars(select(Trip).where(Trip.pass_id == p.id).order_by(Trip.id)).all()
    assert [t.seq for t in trips] == [1, 2, None]


def test_a_denial_offline_is_recorded_and_changes_nothing(client, post, db):
    answers = upload(
        client, post["officer"], [item(post["gate"], post["pass"], now(), "deny", None)]
    )
    assert answers[0]["result"]["decision"] == "deny"
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Trip)) == 0


def test_a_device_time_far_in_the_past_is_kept_and_flagged(client, post, db):
    long_ago = now() - timedelta(days=8)
    answers = upload(client, post["officer"], [item(post["gate"], post["pass"], long_ago)])
    assert "device_clock" in answers[0]["result"]["reasons"]
    db.rollback()
    assert abs(db.scalars(select(Scan.scanned_at)).one() - long_ago) < timedelta(seconds=1)


def test_a_device_clock_in_the_future_is_kept_and_flagged(client, post, db):
    ahead = now() + LATER + timedelta(hours=3)
    answers = upload(client, post["officer"], [item(post["gate"], post["pass"], ahead)])
    assert "device_clock" in answers[0]["result"]["reasons"]
    db.rollback()
    assert abs(db.scalars(select(Scan.scanned_at)).one() - ahead) < timedelta(seconds=1)


def test_a_forged_code_allowed_offline_is_a_denial_with_a_conflict(client, post, db):
    forged = {**item(post["gate"], post["pass"], now()), "code": post["pass"].code[:-4] + "AAAA"}
    answers = upload(client, post["officer"], [forged])
    assert answers[0]["result"]["decision"] == "deny"
    assert "offline_conflict" in answers[0]["result"]["reasons"]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Trip)) == 0


def test_supervisors_see_offline_scans_on_timelines_lists_and_exports(client, make, post, db):
    import csv
    import io

    from tests.support import login

    p = post["pass"]
    at = now() + timedelta(minutes=3)
    upload(client, post["officer"], [item(post["gate"], p, at)])
    supervisor = api_token(client, make.user("supervisor").username)
    listed = client.get("/api/v1/scans", headers=supervisor).get_json()["items"]
    assert [s["offline"] for s in listed] == [True]
    db.rollback()
    trip = db.scalars(select(Trip).where(Trip.pass_id == p.id)).one()
    page = client.application.test_client()
    login(page, make.user("supervisor").username)
    html = page.get(f"/trips/{trip.id}").get_data(as_text=True)
    assert "badge-offline" in html
    with page.get("/exports/scans.csv") as response:
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    offline = rows[0].index("离线")  # the codes for machines follow it
    assert rows[1][offline] == "✓"


def test_a_plate_typed_offline_is_checked_by_the_server_on_upload(app, client, post, db):
    """The phone cannot check a typed plate (the list holds none): an allow it gave for
    a number with the wrong plate becomes a conflict for a supervisor on upload."""
    from checkpoints.models import Anomaly

    p = post["pass"]
    typed = item(post["gate"], p, now(), code=None, number=p.number, plate="浙A00000")
    del typed["code"]
    answer = client.post("/api/v1/scans/batch", json={"items": [typed]}, headers=post["officer"])
    assert answer.status_code == 200, answer.get_json()
    [result] = answer.get_json()["items"]
    assert result["status"] == "conflict"
    assert result["result"]["reasons"] == ["plate_mismatch"]
    kinds = db.scalars(select(Anomaly.kind).where(Anomaly.pass_id == p.id)).all()
    assert "offline_conflict" in kinds


def test_the_live_pass_list_for_manual_entry(app, client, make, post):
    p = post["pass"]
    body = client.get("/api/v1/scanner/passes", headers=post["officer"]).get_json()
    [entry] = [i for i in body["items"] if i["number"] == p.number]
    assert set(entry) == {
        "pass_id",
        "number",
        "valid_from",
        "valid_until",
        "destination_enterprise_id",
        "driver",
        "destination",
        "category",  # the green channel's lane; stations, crew and booking only when set
    }
    # No plate material at all: not the plate, not a hash of it, not a key to test guesses.
    assert "key" not in body
    assert p.vehicle.plate not in str(body)
    assert p.vehicle.plate[1:] not in str(body)
    # An enterprise's site gets only the passes bound for it.
    site_user = make.enterprise_user(p.destination)
    mine = client.get("/api/v1/scanner/passes", headers=api_token(client, site_user.username))
    assert [i["number"] for i in mine.get_json()["items"]] == [p.number]
    other = make.enterprise_user(make.enterprise())
    theirs = client.get("/api/v1/scanner/passes", headers=api_token(client, other.username))
    assert theirs.get_json()["items"] == []
    app.config["SCANNER_PASS_LIST_CAP"] = 0
    capped = client.get("/api/v1/scanner/passes", headers=post["officer"]).get_json()
    assert (capped["items"], capped["truncated"]) == ([], True)


def test_the_dashboard_shows_scanners_stale_or_unsynced(client, make, post):
    from tests.support import login

    report = "/api/v1/scanner/report"
    fresh, stale, unsynced = (str(uuid.uuid4()) for _ in range(3))
    server_now = now() + LATER
    bodies = [
        {"device_id": fresh, "lists_at": server_now.isoformat(), "queued": 0},
        {"device_id": stale, "lists_at": (server_now - timedelta(hours=30)).isoformat()},
        {
            "device_id": unsynced,
            "checkpoint_id": post["gate"].id,
            "lists_at": server_now.isoformat(),
            "queued": 7,
            "oldest_queued_at": (server_now - timedelta(hours=2)).isoformat(),
        },
    ]
    for body in bodies:
        assert client.post(report, json=body, headers=post["officer"]).status_code == 200
    taken = client.post(report, json=bodies[0], headers=post["other"])
    assert taken.status_code == 409  # another scanner cannot report as this device
    figures = client.get(
        "/api/v1/dashboard", headers=api_token(client, make.user("supervisor").username)
    ).get_json()
    seen = {d["device"]: d for d in figures["scanners_attention"]}
    assert set(seen) == {stale[:8], unsynced[:8]}
    assert seen[stale[:8]]["stale"]
    assert (seen[unsynced[:8]]["unsynced"], seen[unsynced[:8]]["queued"]) == (True, 7)
    page = client.application.test_client()
    login(page, make.user("supervisor").username)
    html = page.get("/dashboard").get_data(as_text=True)
    assert "名单过旧" in html
    assert "7 条离线扫码超过一小时未同步" in html


def test_a_phone_clock_a_little_behind_does_not_make_a_fresh_key_unknown(app, client, post):
    """A pass approved a moment ago, scanned by a phone whose clock is a minute slow: the
    signature still counts (the key is judged as of now), the scan stands."""
    from sqlalchemy import update

    from trust.models import SigningKey

    with app.extensions["sessions"]() as session:
        session.execute(update(SigningKey).values(not_before=now() + timedelta(minutes=2)))
        session.commit()
    app.extensions["trust_cache"].loaded_at = None  # reloaded on the next scan
    slow = now() + timedelta(minutes=1)  # before the key's not_before by the phone's clock
    answers = upload(client, post["officer"], [item(post["gate"], post["pass"], slow)])
    assert answers[0]["status"] == "recorded", answers[0]
