"""Statistics on a constructed data set with known answers, its range checks, and an
enterprise seeing only its own figures."""

import uuid
from datetime import timedelta

from sqlalchemy import update

from passes.models import Pass
from tests.support import api_token, login, now


def known_world(app, client, make):
    """Four approved passes and a rejected one of one shipper; two whole loops, a truck
    inside, one that left without arriving; decisions 10 to 50 minutes after filing."""
    destination = make.enterprise()
    shipper = make.enterprise()
    site = make.checkpoint("site", destination)
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    receiver = api_token(client, make.enterprise_user(destination).username)
    passes = [
        make.pass_(enterprise=shipper, status="approved", destination_enterprise_id=destination.id)
        for _ in range(4)
    ]
    rejected = make.pass_(enterprise=shipper, destination_enterprise_id=destination.id)
    reviewer = api_token(client, make.user("reviewer").username)
    client.post(
        f"/api/v1/passes/{rejected.id}/reject", json={"reason": "资料不全"}, headers=reviewer
    )

    def scan(headers, checkpoint, p):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": p.code}
        assert (
            client.post("/api/v1/scans", json=body, headers=headers).get_json()["decision"]
            == "allow"
        )

    a, b, c, d = passes
    for p in (a, b):  # two whole loops
        scan(officer, gate, p)
        scan(receiver, site, p)
        scan(officer, gate, p)
    scan(officer, gate, c)  # still inside
    scan(officer, gate, d)
    scan(officer, gate, d)  # left without arriving
    created = now() - timedelta(hours=2)
    with app.extensions["sessions"]() as session:
        for minutes, p in zip((10, 20, 30, 40, 50), [*passes, rejected], strict=True):
            session.execute(
                update(Pass)
                .where(Pass.id == p.id)
                .values(created_at=created, reviewed_at=created + timedelta(minutes=minutes))
            )
        session.commit()
    return shipper, receiver


def test_known_answers(app, client, make):
    shipper, receiver = known_world(app, client, make)
    supervisor = api_token(client, make.user("supervisor").username)
    s = client.get("/api/v1/statistics", headers=supervisor).get_json()
    assert s["as_of"] is None  # no daily figures kept: counted from the trips themselves
    assert s["applications"] == 5
    assert s["approvals"] == 4
    assert s["rejections"] == 1
    assert s["rejection_rate"] == 0.2
    assert s["vehicles_with_approved_passes"] == 4
    assert (s["trips_opened"], s["trips_closed"]) == (4, 3)
    assert s["closed_loop_rate"] == 0.5
    assert s["anomalies"] == {"no_arrival": 1}
    assert s["median_approval_seconds"] == 30 * 60
    assert s["enterprises_registered"] >= 2
    assert sum(d["applications"] for d in s["by_day"]) == 5
    assert sum(d["trips"] for d in s["by_day"]) == 4
    [row] = [r for r in s["by_enterprise"] if r["enterprise_id"] == shipper.id]
    assert (row["applications"], row["approvals"], row["trips"]) == (5, 4, 4)

    own = api_token(client, make.enterprise_user(shipper).username)
    mine = client.get("/api/v1/statistics", headers=own).get_json()
    assert (mine["applications"], mine["trips_opened"]) == (5, 4)
    assert mine["enterprises_registered"] is None
    theirs = client.get("/api/v1/statistics", headers=receiver).get_json()
    assert (theirs["applications"], theirs["trips_opened"]) == (0, 0)

    login(client, make.user("supervisor").username)
    page = client.get("/statistics").get_data(as_text=True)
    assert "50.0%" in page
    assert "30 分钟" in page
    assert 'class="figure" id="st-loop-figure"' in page  # half the loops closed: not green
    by_day = page.split('id="by-day"')[1].split("</table>")[0]
    assert 1 <= by_day.count("<tr><td data-label") <= 2  # the days something happened, not 30


def test_range_checks(client, make):
    headers = api_token(client, make.user("supervisor").username)
    assert client.get("/api/v1/statistics?from=2026-13-01", headers=headers).status_code == 422
    assert (
        client.get("/api/v1/statistics?from=2026-11-22&to=2026-11-01", headers=headers).status_code
        == 422
    )
    assert (
        client.get("/api/v1/statistics?from=2024-01-01&to=2026-11-01", headers=headers).status_code
        == 422
    )
    empty = client.get("/api/v1/statistics?from=2020-01-01&to=2020-01-31", headers=headers)
    body = empty.get_json()
    assert (body["applications"], body["closed_loop_rate"], len(body["by_day"])) == (0, None, 31)


def test_days_follow_a_half_hour_time_zone(app, make):
    """UTC+5:30: 18:20 UTC is 23:50 on the first day, 18:40 UTC is 00:10 on the next."""
    from datetime import UTC, datetime

    from supervision import statistics

    first, second = make.pass_(), make.pass_()
    late = datetime(2026, 3, 1, 18, 20, tzinfo=UTC)
    with app.extensions["sessions"]() as session:
        session.execute(update(Pass).where(Pass.id == first.id).values(created_at=late))
        session.execute(
            update(Pass).where(Pass.id == second.id).values(created_at=late + timedelta(minutes=20))
        )
        session.commit()
        figures = statistics.figures(
            session,
            make.user("supervisor"),
            {"from": "2026-03-01", "to": "2026-03-02"},
            now=late + timedelta(days=1),
            tz="Asia/Kolkata",
        )
    assert [(d["day"], d["applications"]) for d in figures["by_day"]] == [
        ("2026-03-01", 1),
        ("2026-03-02", 1),
    ]


def test_the_figures_by_day_export_as_csv_and_xlsx_and_are_audited(app, client, make, db):
    import csv
    import io
    from datetime import date

    from openpyxl import load_workbook
    from sqlalchemy import select

    from core.audit import AuditEntry

    make.pass_(status="approved")
    login(client, make.user("supervisor").username)
    page = client.get("/statistics?from=2026-11-01&to=2026-11-07").get_data(as_text=True)
    assert "/statistics.csv?from=2026-11-01&amp;to=2026-11-07" in page
    response = client.get("/statistics.csv?from=2026-11-01&to=2026-11-07")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["日期", "申请数", "批准数"]
    assert len(rows[0]) == 17
    assert [r[0] for r in rows[1:-1]] == [f"2026-11-0{d}" for d in range(1, 8)]
    assert rows[-1][1:4] == ["0", "0", "0"]  # then the totals
    with client.get("/statistics.xlsx?from=2026-11-01&to=2026-11-07") as response:
        sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.cell(row=2, column=1).value.date() == date(2026, 11, 1)
    assert sheet.freeze_panes == "A2"
    db.rollback()
    logged = db.scalars(select(AuditEntry).where(AuditEntry.action == "export.statistics")).all()
    assert [e.data for e in logged] == [{"from": "2026-11-01", "to": "2026-11-07"}] * 2
    assert client.get("/statistics.csv?from=2026-13-01").status_code == 422
    assert client.get("/statistics.pdf").status_code == 404


def test_kept_daily_figures_give_the_same_answers_and_are_read_only_while_fresh(
    app, client, make, runner
):
    from supervision import statistics

    shipper, _ = known_world(app, client, make)
    supervisor, clerk = make.user("supervisor"), make.enterprise_user(shipper)
    year = {"from": (now() - timedelta(days=360)).date().isoformat()}
    tz = app.config["TIMEZONE"]

    def figures(user, args=None, at=None, zone=tz):
        with app.extensions["read_sessions"]() as session:
            return statistics.figures(session, user, args or {}, now=at or now(), tz=zone)

    counted = [figures(supervisor), figures(clerk), figures(supervisor, year)]
    result = runner.invoke(args=["statistics", "refresh"])
    assert result.exit_code == 0, result.output
    kept = [figures(supervisor), figures(clerk), figures(supervisor, year)]
    assert all(k["as_of"] is not None for k in kept)
    for live, read in zip(counted, kept, strict=True):
        assert {**read, "as_of": None} == live
    assert kept[1]["applications"] == 5
    assert kept[1]["enterprises_registered"] is None  # an enterprise: its own rows only

    # A new application shows after the next count, not before (the page says as of when).
    make.pass_(enterprise=shipper)
    assert figures(supervisor)["applications"] == kept[0]["applications"]
    runner.invoke(args=["statistics", "refresh"])
    assert figures(supervisor)["applications"] == kept[0]["applications"] + 1
    # A timer that stopped, or another time zone: counted from the trips again.
    later = now() + statistics.FRESH + timedelta(minutes=1)
    assert figures(supervisor, at=later)["as_of"] is None
    assert figures(supervisor, zone="Asia/Kolkata")["as_of"] is None
    login(client, supervisor.username)
    assert 'id="as-of"' in client.get("/statistics").get_data(as_text=True)


def test_bookings_kept_and_missed_the_wait_from_the_hour_and_stops_per_trip(
    app, client, make, runner
):
    """Three bookings: one kept (entered 30 minutes into its hour), one entered two hours
    after its hour, one whose hour went by; two trips with two stops between them."""
    from checkpoints import bookings
    from checkpoints.models import Booking
    from supervision import statistics

    app.config["REPEAT_SCAN_SECONDS"] = 0
    gate, station = make.checkpoint("gate"), make.checkpoint("station")
    officer = api_token(client, make.officer(gate, station).username)
    shipper = make.enterprise()
    owner = make.enterprise_user(shipper)
    kept, late, missed = (make.pass_(enterprise=shipper, status="approved") for _ in range(3))
    hour = now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    with make.session() as session:
        session.get(type(gate), gate.id).capacity_per_hour = 5
        session.commit()
        made = {
            p.id: bookings.book(session, owner, p.id, bookings.Wanted(gate.id, hour), now=now()).id
            for p in (kept, late, missed)
        }

    def scan(checkpoint, p):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": p.code}
        answer = client.post("/api/v1/scans", json=body, headers=officer).get_json()
        assert answer["decision"] == "allow", answer
        return answer

    assert scan(gate, kept)["booking"]["id"] == made[kept.id]
    scan(station, kept)
    scan(station, kept)
    assert scan(gate, late)["booking"]["id"] == made[late.id]
    with make.session() as session:  # the hours as they would have been
        for booking_id, minutes in ((made[kept.id], 30), (made[late.id], 120)):
            b = session.get(Booking, booking_id)
            b.slot_start = b.arrived_at - timedelta(minutes=minutes)
        session.get(Booking, made[missed.id]).slot_start = hour - timedelta(hours=4)
        for p in (kept, late, missed):  # passes come before their bookings' hours
            session.get(type(p), p.id).created_at = hour - timedelta(hours=6)
        session.commit()

    supervisor = make.user("supervisor")
    tz = app.config["TIMEZONE"]
    with app.extensions["read_sessions"]() as session:
        counted = statistics.figures(session, supervisor, {}, now=now(), tz=tz)
    assert (counted["bookings_kept"], counted["bookings_off_hour"]) == (1, 1)
    assert counted["bookings_missed"] == 1
    assert counted["median_slot_to_entry_seconds"] == 75 * 60  # of 30 and 120 minutes
    assert (counted["stops"], counted["stops_per_trip"]) == (2, 1.0)

    assert runner.invoke(args=["statistics", "refresh"]).exit_code == 0
    with app.extensions["read_sessions"]() as session:
        read = statistics.figures(session, supervisor, {}, now=now(), tz=tz)
    assert {**read, "as_of": None} == counted
    login(client, supervisor.username)
    page = client.get("/statistics").get_data(as_text=True)
    assert 'id="st-bookings">1 / 1 / 1<' in page
    assert 'id="st-stops">1.00<' in page

    # trucks that come before their hour: the wait reads early, not as minus minutes
    with make.session() as session:
        for booking_id, minutes in ((made[kept.id], 10), (made[late.id], 6)):
            b = session.get(Booking, booking_id)
            b.slot_start = b.arrived_at + timedelta(minutes=minutes)
        session.commit()
    assert runner.invoke(args=["statistics", "refresh"]).exit_code == 0
    page = client.get("/statistics").get_data(as_text=True)
    assert 'id="st-slot-wait">提前 8 分钟<' in page
