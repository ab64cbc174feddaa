"""CLI: users create and demo seed (API.md)."""

from sqlalchemy import select

from accounts.models import Enterprise, User


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
    assert result.exit_code == 0, result.output
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
    from passes.models import SmsMessage

    # The demo runs no worker: the seeded approval's SMS is already handed to the console.
    assert [m.status for m in db.scalars(select(SmsMessage))] == ["sent"]


def test_demo_seed_refuses_production(app, runner, db):
    app.config["APP_ENV"] = "production"
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code != 0
    assert db.scalars(select(User)).all() == []
