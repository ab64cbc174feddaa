"""The timer's count of the daily figures: what changed since its last run, not history;
the count of every day, resumable."""

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from checkpoints.models import Scan, Trip
from passes.models import Pass
from supervision import statistics, statistics_refresh
from supervision.models import DailyFigure
from tests.support import api_token, now


def scan(client, headers, gate, p):
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
    answer = client.post("/api/v1/scans", json=body, headers=headers).get_json()
    assert answer["decision"] == "allow", answer
    return answer


def move_back(session, p, days):
    """Pass `p`, its trips and scans as if all happened `days` ago."""
    back = timedelta(days=days)
    rows = [session.get(Pass, p.id)]
    rows += session.scalars(select(Trip).where(Trip.pass_id == p.id))
    rows += session.scalars(select(Scan).where(Scan.pass_id == p.id))
    for row in rows:
        for name in ("created_at", "reviewed_at", "opened_at", "entered_at", "recorded_at"):
            if getattr(row, name, None) is not None:
                setattr(row, name, getattr(row, name) - back)
        if isinstance(row, Scan):
            row.scanned_at -= back


def kept(session):
    return {
        (f.day, f.enterprise_id): {
            c.key: getattr(f, c.key) for c in DailyFigure.__mapper__.column_attrs if c.key != "day"
        }
        for f in session.scalars(select(DailyFigure))
    }


def local_day(at, app):
    return at.astimezone(ZoneInfo(app.config["TIMEZONE"])).date()


@pytest.fixture
def counted(monkeypatch):
    """The ranges day_rows is asked to count, as (first local day, days, with scans)."""
    calls = []
    real = statistics.day_rows

    def day_rows(session, user, lo, hi, zone, now=None, *, scans=True):
        calls.append((lo.astimezone(zone).date(), (hi - lo).days, scans))
        return real(session, user, lo, hi, zone, now, scans=scans)

    monkeypatch.setattr(statistics, "day_rows", day_rows)
    return calls


def test_the_timer_counts_what_changed_since_its_last_run_not_the_settling_days(
    app, client, make, runner, db, counted
):
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    shipper = make.enterprise()
    left, filed = make.pass_(enterprise=shipper, status="approved"), make.pass_(enterprise=shipper)
    scan(client, officer, gate, left)  # entered five days ago...
    with make.session() as session:
        move_back(session, left, 5)
        move_back(session, filed, 3)  # ...and filed three days ago, still waiting
        session.commit()
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code == 0

    scan(client, officer, gate, left)  # it leaves now
    reviewer = api_token(client, make.user("reviewer").username)
    assert client.post(f"/api/v1/passes/{filed.id}/approve", headers=reviewer).status_code == 200
    counted.clear()
    result = runner.invoke(args=["statistics", "refresh"])
    assert result.exit_code == 0, result.output

    today = local_day(now(), app)
    entered_on, filed_on = local_day(now() - timedelta(days=5), app), today - timedelta(days=3)
    # The two days the changes reached, without their scans; the days since the last run
    # began, whole: not the sixteen settling days of every run before.
    assert sorted(c for c in counted if not c[2]) == sorted(
        [(entered_on, 1, False), (filed_on, 1, False)]
    )
    [(first, days, _)] = [c for c in counted if c[2]]
    assert first >= local_day(now() - timedelta(minutes=10), app)
    assert first + timedelta(days) > today

    db.rollback()
    figures = kept(db)
    then = figures[(entered_on.isoformat(), shipper.id)]
    assert (then["trips"], then["trips_closed"], then["entries"]) == (1, 1, 1)
    assert figures[(today.isoformat(), shipper.id)]["exits"] == 1
    assert figures[(filed_on.isoformat(), shipper.id)]["approved"] == 1
    # What the timer keeps is what counting every day again gives.
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code == 0
    db.rollback()
    assert kept(db) == figures


def test_an_interrupted_count_of_every_day_takes_up_at_the_month_it_was_counting(
    app, make, runner, db, counted, monkeypatch
):
    shipper = make.enterprise()
    for days in (70, 40, 10):
        p = make.pass_(enterprise=shipper)
        with make.session() as session:
            move_back(session, p, days)
            session.commit()
    real, months = statistics_refresh._recount, []

    def cut_off(session, first, last, zone, at):
        if len(months) == 1:
            raise RuntimeError("the power went")
        months.append(first)
        return real(session, first, last, zone, at)

    monkeypatch.setattr(statistics_refresh, "_recount", cut_off)
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code != 0
    monkeypatch.setattr(statistics_refresh, "_recount", real)
    counted.clear()
    result = runner.invoke(args=["statistics", "refresh", "--all"])
    assert result.exit_code == 0, result.output
    assert "counted " in result.output  # a line a month, as it goes

    [begun] = months
    following = (begun.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert counted[0][:1] == (following,)  # the month done is not counted again
    db.rollback()
    resumed = kept(db)
    assert sum(r["applications"] for (d, e), r in resumed.items() if e == shipper.id) == 3
    # Finished, the next --all counts from the first day again, to the same figures.
    counted.clear()
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code == 0
    assert counted[0][0] == begun
    db.rollback()
    assert kept(db) == resumed


def test_a_years_statistics_add_whole_months_and_agree_with_counting_every_pass(
    app, client, make, runner, db
):
    from core.db import utcnow
    from tests.support import Statements

    shipper = make.enterprise()
    supervisor, clerk = make.user("supervisor"), make.enterprise_user(shipper)
    for days in (100, 70, 40, 40):  # in months wholly inside the year
        p = make.pass_(enterprise=shipper, status="approved")
        with make.session() as session:
            move_back(session, p, days)
            session.commit()
    tz = app.config["TIMEZONE"]
    year = {"from": (now() - timedelta(days=365)).date().isoformat()}

    def figures(user):
        with app.extensions["read_sessions"]() as session:
            return statistics.figures(session, user, year, now=utcnow(), tz=tz)

    counted = [figures(supervisor), figures(clerk)]
    assert counted[0]["applications"] == 4
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code == 0
    with Statements(app.extensions["engine"]) as seen:
        read = [figures(supervisor), figures(clerk)]
    assert [{**k, "as_of": None} for k in read] == counted
    assert any("FROM MONTHLY_FIGURE" in s for s in seen)
    db.rollback()
    from supervision.models import MonthlyFigure

    months = {(m.month, m.enterprise_id): m for m in db.scalars(select(MonthlyFigure))}
    for (month, enterprise_id), m in months.items():
        days = [r for (d, e), r in kept(db).items() if d[:7] == month and e == enterprise_id]
        assert m.applications == sum(r["applications"] for r in days)


def test_the_migration_keeps_each_days_vehicles_and_adds_their_months(tmp_path):
    import json

    from sqlalchemy import text

    from app import create_app
    from supervision.models import DailyFigure, MonthlyFigure
    from tests.support import app_config

    app = create_app(app_config(f"sqlite:///{tmp_path / 'old.db'}", tmp_path))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0031_enterprise_rejection"]).exit_code == 0
    with app.extensions["engine"].begin() as conn:
        for day, enterprise_id, vehicles in (
            ("2026-10-30", 0, [1, 2]),
            ("2026-10-31", 0, [2, 3]),
            ("2026-11-01", 0, [4]),
            ("2026-10-30", 7, [1, 2]),
        ):
            conn.execute(
                text(
                    "INSERT INTO daily_figure (day, enterprise_id, applications, approved,"
                    " rejected, approvals, trips, trips_closed, loops, waits, anomalies,"
                    " vehicles) VALUES (:d, :e, 2, 2, 0, 2, 1, 1, 1, :w, '{}', :v)"
                ),
                {
                    "d": day,
                    "e": enterprise_id,
                    "w": json.dumps({"5": 2}),
                    "v": json.dumps(vehicles),
                },
            )
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.extensions["sessions"]() as session:
        days = {(f.day, f.enterprise_id): f for f in session.scalars(select(DailyFigure))}
        assert sorted(days[("2026-10-31", 0)].vehicles) == [2, 3]
        assert days[("2026-10-31", 0)].median_wait_minutes == 5.0  # kept beside the waits
        months = {(m.month, m.enterprise_id): m for m in session.scalars(select(MonthlyFigure))}
        october = months[("2026-10", 0)]
        assert (october.applications, sorted(october.vehicles)) == (4, [1, 2, 3])
        assert october.waits == {"5": 4}
        assert (october.median_wait_minutes, october.denials_total) == (5.0, 0)
        assert sorted(months) == [("2026-10", 0), ("2026-10", 7), ("2026-11", 0)]
    assert runner.invoke(args=["db", "downgrade", "0031_enterprise_rejection"]).exit_code == 0
    with app.extensions["engine"].begin() as conn:
        kept = conn.execute(text("SELECT vehicles FROM daily_figure WHERE day = '2026-10-31'"))
        assert json.loads(kept.scalar()) == [2, 3]
    app.extensions["engine"].dispose()


def test_an_interruption_older_than_a_day_is_counted_afresh(app, make, runner, db, counted):
    from core import heartbeat

    shipper = make.enterprise()
    p = make.pass_(enterprise=shipper)
    with make.session() as session:
        move_back(session, p, 70)
        heartbeat.beat(
            session,
            statistics_refresh.STATISTICS_ALL,
            statistics_refresh.OWNER,
            now(),
            {
                "tz": app.config["TIMEZONE"],
                "began": (now() - timedelta(days=2)).isoformat(),
                "next": local_day(now(), app).isoformat(),
            },
        )
        session.commit()
    assert runner.invoke(args=["statistics", "refresh", "--all"]).exit_code == 0
    assert counted[0][0] == local_day(now() - timedelta(days=70), app)  # not resumed


def test_two_counts_at_once_take_turns(app, make, db):
    """The timer on two machines, or beside a manual --all: on PostgreSQL both deleted a
    day's rows and both inserted them, and one failed on the duplicate keys."""
    import threading

    from core.db import utcnow

    shipper = make.enterprise()
    for days in (40, 10, 0):
        p = make.pass_(enterprise=shipper)
        with make.session() as session:
            move_back(session, p, days)
            session.commit()
    failures = []

    def count(everything):
        try:
            with app.extensions["sessions"]() as session:
                statistics_refresh.refresh(
                    session, now=utcnow(), tz=app.config["TIMEZONE"], everything=everything
                )
        except Exception as exc:  # noqa: BLE001 - what the other count ran into
            failures.append(exc)

    for _ in range(3):
        runs = [threading.Thread(target=count, args=(e,)) for e in (True, True, False)]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
    assert failures == []
    db.rollback()
    assert sum(r["applications"] for (d, e), r in kept(db).items() if e == shipper.id) == 3
