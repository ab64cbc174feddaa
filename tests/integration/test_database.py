"""Schema and engine: migrations match the models; SQLite runs in WAL with foreign keys."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from db import Base


def test_models_and_migrations_do_not_drift(app):
    with app.extensions["engine"].connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models differ from migrations; run `flask --app app db revision`: {diff}"


def test_db_check_command_agrees(runner):
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    assert "agree" in result.output


def test_every_table_is_created_by_migrations(app):
    tables = set(inspect(app.extensions["engine"]).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app, is_postgres):
    if is_postgres:
        pytest.skip("SQLite pragmas")
    with app.extensions["engine"].connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_db_upgrade_creates_a_new_sqlite_file(tmp_path):
    from app import create_app
    from tests.support import app_config

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = create_app(app_config(url, tmp_path))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fresh.db").exists()
    assert "user_account" in inspect(app.extensions["engine"]).get_table_names()
    app.extensions["engine"].dispose()


def test_the_hash_chain_migrates_into_the_transparency_log(tmp_path):
    """Entries chained under revision 0011 become the tree's first leaves: the sequencer
    integrates them, verification passes, and their chain is still checked."""
    import hashlib
    import json
    from datetime import UTC, datetime

    from app import create_app
    from tests.support import app_config
    from trust import auditlog
    from trust.context import audit_log, sequencer

    app = create_app(app_config(f"sqlite:///{tmp_path / 'old.db'}", tmp_path))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0011_scanner_devices"]).exit_code == 0
    prev = "0" * 64
    with app.extensions["engine"].begin() as conn:
        for seq in (1, 2, 3):
            at = datetime(2026, 11, 1, 8, seq, tzinfo=UTC)
            body = {
                "seq": seq,
                "at": at.isoformat(timespec="microseconds"),
                "actor_id": None,
                "action": "pass.approve",
                "object_type": "pass",
                "object_id": str(seq),
                "data": {"kid": 1},
            }
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(prev.encode() + canonical.encode()).hexdigest()
            conn.execute(
                text(
                    "INSERT INTO audit_entry (seq, at, actor_id, action, object_type, object_id,"
                    " data, prev_hash, hash) VALUES (:seq, :at, NULL, 'pass.approve', 'pass',"
                    " :oid, :data, :prev, :hash)"
                ),
                {
                    "seq": seq,
                    "at": at.replace(tzinfo=None),
                    "oid": str(seq),
                    "data": json.dumps({"kid": 1}),
                    "prev": prev,
                    "hash": digest,
                },
            )
            conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": seq, "h": digest})
            prev = digest
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    integrated = sequencer(app).tick()
    assert [i.entries for i in integrated] == [3]
    settings = audit_log(app)
    with app.extensions["read_sessions"]() as session:
        verified = auditlog.verify(session, settings.keys, settings.origin)
    assert (verified.ok, verified.entries, verified.checkpoints) == (True, 3, 1)
    with app.extensions["engine"].begin() as conn:
        conn.execute(
            text("UPDATE audit_entry SET leaf_hash = NULL, data = '{\"kid\": 2}' WHERE seq = 2")
        )
    with app.extensions["read_sessions"]() as session:
        assert not auditlog.verify(session, settings.keys, settings.origin).ok
    app.extensions["engine"].dispose()
