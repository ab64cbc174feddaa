"""Where a change reaches an older day: each test brings the kept figures up with the
timer (`statistics refresh`), then counts every day again (`--all`) and expects the same
figures (supervision/statistics_refresh.py, touched_days)."""

import uuid
from datetime import timedelta

from sqlalchemy import select

from supervision import statistics_refresh
from supervision.models import DailyFigure
from tests.support import api_token, now
from tests.web.test_statistics_refresh import kept, local_day, move_back


def scan(client, headers, gate, p, **extra):
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code, **extra}
    answer = client.post("/api/v1/scans", json=body, headers=headers).get_json()
    assert answer["decision"] == "allow", answer
    return answer


def refreshed_then_all(runner, db):
    result = runner.invoke(args=["statistics", "refresh"])
    assert result.exit_code == 0, result.output
    db.rollback()
    timer = kept(db)
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code == 0
    db.rollback()
    return timer, kept(db)


def differing(timer, everything):
    keys = set(timer) | set(everything)
    out = {}
    for key in sorted(keys):
        a, b = timer.get(key), everything.get(key)
        if a != b:
            out[key] = {
                n: (a and a.get(n), b and b.get(n))
                for n in (b or a)
                if (a or {}).get(n) != (b or {}).get(n)
            }
    return out


def test_an_entry_closing_an_old_open_trip_counts_that_trips_day_again(
    app, client, make, runner, db
):
    """Trip A opened days ago and left open; the truck comes in again (explicit entry):
    A is closed by a scan that names the new trip, and A's day is counted again."""
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    shipper = make.enterprise()
    p = make.pass_(enterprise=shipper, status="approved", max_trips=3)
    scan(client, officer, gate, p)  # trip A: in, never out
    with make.session() as session:
        move_back(session, p, 3)
        session.commit()
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code == 0
    scan(client, officer, gate, p, direction="entry")  # closes A (no_exit), opens B
    timer, everything = refreshed_then_all(runner, db)
    day = (local_day(now() - timedelta(days=3), app).isoformat(), shipper.id)
    assert everything[day]["trips_closed"] == 1
    assert differing(timer, everything) == {}, differing(timer, everything)


def test_annulling_a_later_trip_counts_the_day_of_the_earlier_one_it_reopens(
    app, client, make, runner, db
):
    """A (days ago) was closed by B's entry; a supervisor annuls B's entry: the replay
    opens A again, and A's day is counted again though the annulment names B's trip."""
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    supervisor = api_token(client, make.user("supervisor").username)
    shipper = make.enterprise()
    p = make.pass_(enterprise=shipper, status="approved", max_trips=3)
    scan(client, officer, gate, p)  # A
    with make.session() as session:
        move_back(session, p, 3)
        session.commit()
    b = scan(client, officer, gate, p, direction="entry")  # B closes A
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code == 0
    db.rollback()
    day = (local_day(now() - timedelta(days=3), app).isoformat(), shipper.id)
    assert kept(db)[day]["trips_closed"] == 1
    answer = client.post(
        f"/api/v1/scans/{b['scan_id']}/annul",
        json={"reason": "wrong_vehicle"},
        headers=supervisor,
    )
    assert answer.status_code in (200, 201), answer.get_json()
    timer, everything = refreshed_then_all(runner, db)
    assert everything[day]["trips_closed"] == 0
    assert differing(timer, everything) == {}, differing(timer, everything)


def test_an_offline_exit_uploaded_late_counts_its_anomaly_on_the_phones_day(
    app, client, make, runner, db
):
    """Trip opened three days ago; the phone let the truck out offline two days ago
    (no arrival: no_arrival, detected at the phone's time) and syncs today: the
    anomaly's day is counted again too."""
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    shipper = make.enterprise()
    p = make.pass_(enterprise=shipper, status="approved")
    scan(client, officer, gate, p)
    with make.session() as session:
        move_back(session, p, 3)
        session.commit()
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code == 0
    item = {
        "scan_id": str(uuid.uuid4()),
        "checkpoint_id": gate.id,
        "code": p.code,
        "offline": True,
        "decision": "allow",
        "event": "exit",
        "scanned_at": (now() - timedelta(days=2)).isoformat(),
    }
    answer = client.post("/api/v1/scans/batch", json={"items": [item]}, headers=officer)
    [result] = answer.get_json()["items"]
    assert result["status"] != "error", result
    timer, everything = refreshed_then_all(runner, db)
    day = (local_day(now() - timedelta(days=2), app).isoformat(), shipper.id)
    assert sum(everything[day]["anomalies"].values()) >= 1
    assert differing(timer, everything) == {}, differing(timer, everything)


def test_a_day_of_refused_codes_alone_keeps_them_when_counted_again_without_scans(app, make, db):
    """A day whose only kept row is everyone's (scans of codes that named no pass) keeps
    it when its other figures are counted again."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(app.config["TIMEZONE"])
    day = local_day(now() - timedelta(days=3), app)
    with make.session() as session:
        session.add(
            DailyFigure(
                day=day.isoformat(),
                enterprise_id=0,
                scans=5,
                denials={"bad_signature": 5},
                waits={},
                anomalies={},
                slot_waits={},
            )
        )
        session.commit()
        statistics_refresh._recount_without_scans(session, day, zone, now())
        session.commit()
    db.rollback()
    rows = db.scalars(select(DailyFigure).where(DailyFigure.day == day.isoformat())).all()
    assert [(r.enterprise_id, r.scans) for r in rows] == [(0, 5)]
