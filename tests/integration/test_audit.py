"""The audit chain: appends link up, tampering is found at the altered row, and
concurrent appends never fork the chain."""

import threading

from sqlalchemy import select, text

import audit
from audit import AuditEntry
from tests.support import now


def append(app, n, action="test.event"):
    with app.extensions["sessions"]() as session:
        for i in range(n):
            audit.record(
                session,
                actor_id=None,
                action=action,
                object_type="thing",
                object_id=i,
                data={"i": i, "名": "值"},
                now=now(),
            )
        session.commit()


def test_appended_entries_verify(app, db):
    append(app, 5)
    result = audit.verify(db)
    assert result.ok
    assert result.entries == 5
    assert result.first_bad_id is None


def test_editing_a_row_in_the_database_breaks_verification_at_that_row(app, db):
    append(app, 6)
    target = db.scalars(select(AuditEntry).where(AuditEntry.seq == 4)).one()
    with app.extensions["engine"].begin() as conn:
        conn.execute(
            text("UPDATE audit_entry SET action = 'forged' WHERE id = :id"), {"id": target.id}
        )
    db.rollback()  # end the test session's snapshot
    result = audit.verify(db)
    assert not result.ok
    assert result.first_bad_id == target.id


def test_deleting_the_last_entry_is_detected(app, db):
    append(app, 3)
    last = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    with app.extensions["engine"].begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": last.id})
    db.rollback()
    assert not audit.verify(db).ok


def test_rolled_back_appends_leave_no_trace(app, db):
    with app.extensions["sessions"]() as session:
        audit.record(session, actor_id=None, action="x", object_type="y", now=now())
        session.rollback()
    append(app, 1)
    assert audit.verify(db).ok
    assert db.scalar(select(AuditEntry.seq)) == 1


def test_concurrent_appends_do_not_fork_the_chain(app, db):
    errors = []

    def worker():
        try:
            append(app, 10)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = audit.verify(db)
    assert result.ok
    assert result.entries == 60
    assert db.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all() == list(range(1, 61))


def test_audit_verify_command_exits_1_on_a_break(app, runner):
    append(app, 2)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    with app.extensions["engine"].begin() as conn:
        conn.execute(text("UPDATE audit_entry SET object_id = '999' WHERE seq = 1"))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "broken" in result.output
