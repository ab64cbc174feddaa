"""CLI: users create and demo seed (docs/api.md)."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Enterprise, User
from tests.support import api_token


def test_users_create(runner, db):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "Ops1",
            "--password",
            "ops-pass-1",
            "--role",
            "supervisor",
        ]
    )
    assert result.exit_code == 0, repr(result.exception)
    user = db.scalars(select(User).where(User.username == "ops1")).one()
    assert user.role == "supervisor"


def test_users_create_refuses_bad_input_with_a_message(runner, db):
    weak = runner.invoke(
        args=["users", "create", "--username", "ops2", "--password", "123", "--role", "admin"]
    )
    assert weak.exit_code == 2
    assert "password" in weak.output
    role = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "ops2",
            "--password",
            "ops-pass-1",
            "--role",
            "pilot",
        ]
    )
    assert role.exit_code == 2
    runner.invoke(
        args=["users", "create", "--username", "dup", "--password", "ops-pass-1", "--role", "admin"]
    )
    dup = runner.invoke(
        args=["users", "create", "--username", "dup", "--password", "ops-pass-1", "--role", "admin"]
    )
    assert dup.exit_code == 2
    assert "taken" in dup.output
    assert db.scalars(select(User.username)).all() == ["dup"]


def test_users_create_assigns_an_officer_to_gates_by_code(runner, make, client):
    gate = make.checkpoint("gate")
    args = ["users", "create", "--username", "guard1", "--password", "ops-pass-1"]
    args += ["--role", "officer", "--checkpoint", gate.code]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    headers = api_token(client, "guard1", "ops-pass-1")
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": "junk"}
    answer = client.post("/api/v1/scans", json=body, headers=headers).get_json()
    assert "wrong_checkpoint" not in answer["reasons"]  # the gate is the officer's
    lower = runner.invoke(args=[*args[:3], "guard3", *args[4:-1], f" {gate.code.lower()} "])
    assert lower.exit_code == 0, lower.output  # typed as it comes: stored codes are upper case
    unknown = runner.invoke(args=[*args[:3], "guard2", *args[4:-1], "G-NONE"])
    assert unknown.exit_code == 2
    assert "No such gate: G-NONE" in unknown.output


def test_demo_seed_prints_a_login_for_every_role_and_is_idempotent(runner, db):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    for role in ("admin", "reviewer", "supervisor", "officer", "enterprise"):
        assert role in first.output
    users_before = len(db.scalars(select(User)).all())
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0
    db.rollback()
    assert len(db.scalars(select(User)).all()) == users_before
    statuses = {e.status for e in db.scalars(select(Enterprise))}
    assert statuses == {"approved", "pending"}
    assert "newco / newco-demo-1  (平湖新华制造有限公司, pending)" in second.output
    newco = db.scalars(select(Enterprise).where(Enterprise.status == "pending")).one()
    newco.status = "approved"  # an admin approved it since
    db.commit()
    third = runner.invoke(args=["demo", "seed"])
    assert "(平湖新华制造有限公司, approved)" in third.output
    from sms.models import SmsMessage

    # The demo runs no worker: the seeded approval's SMS (and the approved enterprises'
    # notices) are already handed to the console.
    assert {m.status for m in db.scalars(select(SmsMessage))} == {"sent"}
    from passes.models import Pass

    keys = db.scalars(select(SmsMessage.dedupe_key).where(SmsMessage.pass_id.is_not(None)))
    approvals = sorted(k for k in keys if k.endswith(":approved"))
    issued = db.scalars(select(Pass.id).where(Pass.code.is_not(None))).all()
    assert approvals == sorted(f"pass:{i}:approved" for i in issued)  # one text each, once


@pytest.mark.parametrize("utc_hour", [18.5, 23, 4])  # 02:30, 07:00 and noon in Pinghu
def test_demo_seed_leaves_a_week_of_closed_loops_for_the_desks_to_show(
    runner, db, monkeypatch, utc_hour
):
    import demo_history
    from checkpoints.models import Checkpoint, Scan, Trip
    from core.db import utcnow
    from passes.models import Pass
    from supervision.models import DailyFigure
    from tests.support import audit_log_verifies

    # The week is seeded around the hour `make run` happens to start at, night or day.
    real = utcnow()
    seeded = real.replace(hour=int(utc_hour), minute=int(utc_hour % 1 * 60))
    seeded -= timedelta(days=1) if seeded > real else timedelta()
    monkeypatch.setattr(demo_history, "utcnow", lambda: seeded)
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0  # the week is seeded once
    db.rollback()
    scans = db.scalars(select(Scan)).all()
    events = {(s.decision, s.event) for s in scans}
    assert {
        ("allow", "entry"),
        ("allow", "arrival"),
        ("allow", "stop"),
        ("allow", "exit"),
    } <= events
    assert {("deny", "none")} <= events  # refusals for the by-reason chart
    days = {s.recorded_at.date() for s in scans}
    assert len(days) >= 6, days
    trips = db.scalars(select(Trip)).all()
    assert sum(t.exited_at is not None for t in trips) >= 10
    assert any(t.exited_at is None for t in trips)  # trucks inside today, for the map
    for p in db.scalars(select(Pass)):  # the load's invariants hold on the seeded week too
        mine = [t for t in trips if t.pass_id == p.id]
        assert p.trips_used == len(mine)
        assert sum(t.exited_at is None for t in mine) <= 1
    placed = db.scalars(select(Checkpoint).where(Checkpoint.latitude.is_not(None))).all()
    assert {c.kind for c in placed} == {"gate", "station", "site"}
    assert db.scalar(select(DailyFigure.day).order_by(DailyFigure.day)) < max(days).isoformat()
    assert audit_log_verifies(runner.app).ok


def test_demo_officer_and_receiver_can_scan_the_demo_pass_round_its_loop(runner, client, db):
    from checkpoints.models import Checkpoint
    from passes.models import Pass

    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0  # still one of each
    db.rollback()
    gates = db.scalars(select(Checkpoint).where(Checkpoint.kind == "gate")).all()
    [site] = db.scalars(select(Checkpoint).where(Checkpoint.kind == "site")).all()
    assert len(gates) == 2
    from fleet.models import Vehicle

    demo = db.scalars(select(Pass).join(Vehicle).where(Vehicle.plate == "浙F12345")).one()
    officer = api_token(client, "officer", "officer-demo-1")
    receiver = api_token(client, "foods", "foods-demo-1")

    def scan(headers, checkpoint):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": demo.code}
        response = client.post("/api/v1/scans", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        result = response.get_json()
        return result["decision"], result["event"]

    assert scan(officer, gates[0]) == ("allow", "entry")
    assert scan(receiver, site) == ("allow", "arrival")
    assert scan(officer, gates[1]) == ("allow", "exit")


def test_demo_seed_refuses_production(app, runner, db):
    app.config["APP_ENV"] = "production"
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code != 0
    assert db.scalars(select(User)).all() == []
