"""The audit log as a transparency log: writers append without a shared lock, the
sequencer integrates them into an RFC 6962 tree and signs checkpoints, and verification
catches every rewrite of history against a checkpoint signed before it."""

import json
import multiprocessing
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from core import audit
from core.audit import AuditCheckpoint, AuditEntry, AuditTree
from tests.support import now
from trust import audit_checkpoints, auditlog, merkle
from trust.context import audit_log, sequencer


def append(app, n, action="key.create", at=None):
    with app.extensions["sessions"]() as session:
        for i in range(n):
            audit.record(
                session,
                actor_id=None,
                action=action,
                object_type="thing",
                object_id=i,
                data={"i": i, "名": "值"},
                now=at or now(),
            )
        session.commit()


def integrate(app, at=None):
    running = sequencer(app)
    if at is not None:
        running.clock = lambda: at
    return running.tick()


def verify(app, *saved):
    settings = audit_log(app)
    with app.extensions["read_sessions"]() as session:
        return auditlog.verify(session, settings.keys, settings.origin, saved)


def read(app, stmt):
    with app.extensions["read_sessions"]() as session:
        return session.scalars(stmt).all()


def latest(app):
    settings = audit_log(app)
    with app.extensions["read_sessions"]() as session:
        row = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc())).first()
        return audit_checkpoints.Checkpoint.from_row(settings.origin, row)


def rewrite(app, change):
    """What an insider with write access does: change entries with `change(conn)`, then
    recompute every leaf hash and the sequencer's state so the database agrees with itself,
    and drop the checkpoints it cannot sign again."""
    engine = app.extensions["engine"]
    with engine.begin() as conn:
        change(conn)
        frontier = merkle.Frontier()
        rows = conn.execute(
            select(*auditlog.ENTRY_COLUMNS)
            .where(AuditEntry.seq.is_not(None))
            .order_by(AuditEntry.seq)
        ).all()
        for row in rows:
            leaf = merkle.leaf_hash(auditlog.leaf_data(row, row.seq))
            frontier.append(leaf)
            conn.execute(
                update(AuditEntry).where(AuditEntry.id == row.id).values(leaf_hash=leaf.hex())
            )
        conn.execute(
            update(AuditTree).values(
                size=frontier.size,
                root_hash=frontier.root().hex(),
                frontier=[n.hex() for n in frontier.nodes],
            )
        )
        conn.execute(AuditCheckpoint.__table__.delete())


def test_entries_wait_pending_then_the_sequencer_numbers_them_and_signs(app, db):
    append(app, 5)
    assert read(app, select(AuditEntry.seq)) == [None] * 5
    assert verify(app).pending == 5

    done = integrate(app)
    assert [d.entries for d in done] == [5]
    result = verify(app)
    assert (result.ok, result.entries, result.pending, result.checkpoints) == (True, 5, 0, 1)
    assert sorted(read(app, select(AuditEntry.seq))) == [1, 2, 3, 4, 5]
    # The witness file outside the database holds the same signed checkpoint.
    witness = audit_log(app).witness.read_text().splitlines()
    assert [json.loads(line) for line in witness] == [latest(app).to_json()]
    assert integrate(app) == []  # nothing pending: no empty checkpoint


def test_writers_take_no_shared_row(app, db, is_postgres):
    """An open writer transaction does not hold up another writer (the old chain's head
    row did), nor the sequencer, which integrates what is committed. (SQLite has one
    write lock for the whole database, whatever the schema.)"""
    if not is_postgres:
        pytest.skip("SQLite serialises every writer")
    first = app.extensions["sessions"]()
    audit.record(first, actor_id=None, action="key.create", object_type="t", now=now())
    first.flush()
    append(app, 1, action="key.rotate")  # would wait for `first` if writers shared a lock
    assert [d.entries for d in integrate(app)] == [1]
    first.commit()
    first.close()
    integrate(app)
    assert verify(app).entries == 2


def test_editing_a_row_breaks_verification_at_that_row(app, db):
    append(app, 6)
    integrate(app)
    target = read(app, select(AuditEntry).where(AuditEntry.seq == 4))[0]
    with app.extensions["engine"].begin() as conn:
        conn.execute(
            text("UPDATE audit_entry SET action = 'forged' WHERE id = :id"), {"id": target.id}
        )
    result = verify(app)
    assert not result.ok
    assert result.first_bad_id == target.id


def revoke_entries(app):
    append(app, 4, action="pass.revoked")
    integrate(app)
    append(app, 3, action="scan.allow")
    integrate(app)


def test_the_rewrite_attack_fails_against_a_checkpoint_saved_before_it(app, db, tmp_path):
    """The review's attack: change who revoked and why, recompute every hash and the tree's
    state. The database agrees with itself; a checkpoint kept outside it does not."""
    revoke_entries(app)
    saved = tmp_path / "checkpoint.json"
    saved.write_text(json.dumps(latest(app).to_json()))
    witness = audit_log(app).witness
    witness.rename(tmp_path / "witness-kept-elsewhere.jsonl")  # the DBA cannot touch it

    def change(conn):
        conn.execute(
            text("UPDATE audit_entry SET actor_id = NULL, data = :d WHERE seq = 2"),
            {"d": json.dumps({"reason": "someone else's decision"})},
        )

    rewrite(app, change)
    assert verify(app).ok  # nothing left inside the database to contradict it
    result = verify(app, *audit_checkpoints.read_checkpoints(saved))
    assert not result.ok
    assert "differ from the checkpoint" in result.problem
    kept = audit_checkpoints.read_checkpoints(tmp_path / "witness-kept-elsewhere.jsonl")
    assert not verify(app, *kept).ok


@pytest.mark.parametrize("attack", ["delete", "reorder", "insert", "truncate"])
def test_deleting_reordering_inserting_or_truncating_is_caught(app, db, attack):
    revoke_entries(app)
    saved = latest(app)
    ids = read(app, select(AuditEntry.id).order_by(AuditEntry.seq))

    def change(conn):
        if attack == "delete":  # remove entry 3 and close the gap
            conn.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": ids[2]})
            conn.execute(text("UPDATE audit_entry SET seq = seq - 1 WHERE seq > 3"))
        elif attack == "reorder":  # swap entries 2 and 5
            conn.execute(text("UPDATE audit_entry SET seq = -1 WHERE id = :id"), {"id": ids[1]})
            conn.execute(text("UPDATE audit_entry SET seq = 2 WHERE id = :id"), {"id": ids[4]})
            conn.execute(text("UPDATE audit_entry SET seq = 5 WHERE id = :id"), {"id": ids[1]})
        elif attack == "insert":  # a made-up entry at place 2
            conn.execute(text("UPDATE audit_entry SET seq = -seq WHERE seq >= 2"))
            conn.execute(text("UPDATE audit_entry SET seq = -seq + 1 WHERE seq < 0"))
            conn.execute(
                AuditEntry.__table__.insert().values(
                    seq=2,
                    at=now(),
                    action="pass.approve",
                    object_type="pass",
                    object_id="9",
                    data={},
                )
            )
        else:  # drop the last entries
            conn.execute(text("DELETE FROM audit_entry WHERE seq > 5"))

    rewrite(app, change)
    result = verify(app, saved)
    assert not result.ok, attack


def test_a_checkpoint_with_a_bad_signature_is_refused(app, db):
    append(app, 2)
    integrate(app)
    good = latest(app)
    forged = audit_checkpoints.Checkpoint(
        good.origin, good.size, "ab" * 32, good.time, good.kid, good.signature
    )
    result = verify(app, forged)
    assert not result.ok
    assert "bad signature" in result.problem


def test_entries_of_the_earlier_hash_chain_become_the_first_leaves(app, db):
    """Entries written before the tree keep their numbers; their chain is still checked."""
    prev = auditlog.LEGACY_GENESIS
    with app.extensions["engine"].begin() as conn:
        for seq in (1, 2, 3):
            row = dict(
                seq=seq,
                at=now(),
                actor_id=None,
                action="old.event",
                object_type="t",
                object_id=str(seq),
                data={"n": seq},
            )
            data = auditlog.leaf_data(type("Row", (), row), seq)
            digest = auditlog._legacy_hash(prev, data)
            conn.execute(AuditEntry.__table__.insert().values(**row, prev_hash=prev, hash=digest))
            prev = digest
    append(app, 2)
    integrate(app)
    assert read(app, select(AuditEntry.action).order_by(AuditEntry.seq)) == [
        "old.event",
        "old.event",
        "old.event",
        "key.create",
        "key.create",
    ]
    assert verify(app).ok
    with app.extensions["engine"].begin() as conn:
        conn.execute(text("UPDATE audit_entry SET prev_hash = :h WHERE seq = 2"), {"h": "1" * 64})
    result = verify(app)
    assert not result.ok
    assert "hash chain" in result.problem


def test_the_sequencer_integrates_within_its_interval_by_an_explicit_clock(app, db):
    """The loop with a test clock: entries written at any moment between two ticks are in
    a signed checkpoint at the next tick, no later than one interval after they were written."""
    running = sequencer(app)
    clock = {"now": now()}
    running.clock = lambda: clock["now"]
    writes = iter([0.1, 0.5, 0.99, 0.0, 0.7])

    def wait(seconds):
        offset = next(writes, None)
        if offset is None:
            return True
        append(app, 2, at=clock["now"] + timedelta(seconds=offset * seconds))
        clock["now"] += timedelta(seconds=seconds)
        return False

    running.run(wait)
    checkpoints = read(app, select(AuditCheckpoint).order_by(AuditCheckpoint.size))
    assert [c.size for c in checkpoints] == [2, 4, 6, 8, 10]
    for entry in read(app, select(AuditEntry)):
        signed = next(c for c in checkpoints if c.size >= entry.seq)
        assert timedelta(0) <= signed.at - entry.at <= timedelta(seconds=running.interval)


def _append_in_process(url, instance, n):
    from app import create_app
    from tests.support import app_config

    app = create_app(app_config(url, instance))
    append(app, n)
    app.extensions["engine"].dispose()


def test_concurrent_writers_and_two_sequencers_never_fork_or_lose_entries(
    app, db, database_url, is_postgres, tmp_path
):
    """Threads on PostgreSQL, processes on SQLite, write while two sequencers run."""
    stop = threading.Event()
    threads = []
    for _ in range(2):
        running = sequencer(app)
        running.interval = 0.01
        threads.append(threading.Thread(target=running.run, args=(stop.wait,), daemon=True))
        threads[-1].start()
    if is_postgres:
        workers = [threading.Thread(target=append, args=(app, 25)) for _ in range(6)]
    else:
        ctx = multiprocessing.get_context("spawn")
        workers = [
            ctx.Process(target=_append_in_process, args=(database_url, str(tmp_path), 25))
            for _ in range(6)
        ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    stop.set()
    for thread in threads:
        thread.join()
    if not is_postgres:
        assert [w.exitcode for w in workers] == [0] * 6
    integrate(app)
    result = verify(app)
    assert (result.ok, result.entries, result.pending) == (True, 150, 0), result
    assert sorted(read(app, select(AuditEntry.seq))) == list(range(1, 151))


def test_rolled_back_appends_leave_no_trace(app, db):
    with app.extensions["sessions"]() as session:
        audit.record(session, actor_id=None, action="key.create", object_type="y", now=now())
        session.rollback()
    append(app, 1)
    integrate(app)
    assert verify(app).entries == 1


def test_audit_verify_command_checks_a_saved_checkpoint(app, runner, tmp_path):
    revoke_entries(app)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "7 entries" in result.output
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(latest(app).to_json()))
    audit_log(app).witness.unlink()
    rewrite(
        app,
        lambda conn: conn.execute(text("UPDATE audit_entry SET object_id = '999' WHERE seq = 1")),
    )
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(saved)])
    assert result.exit_code == 1
    assert "broken" in result.output
    saved.write_text("{not json")
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(saved)])
    assert result.exit_code == 1
    assert "not JSON" in result.output or "not a checkpoint" in result.output


def test_audit_integrate_command_takes_an_explicit_time(app, runner, db):
    append(app, 3)
    result = runner.invoke(args=["audit", "integrate", "--now", "2026-11-24T08:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "integrated 3 entries" in result.output
    assert latest(app).time.isoformat() == "2026-11-24T00:00:00+00:00"
    assert runner.invoke(args=["audit", "integrate"]).output.strip() == "nothing pending"
    result = runner.invoke(args=["audit", "integrate", "--now", "2026-11-24T08:00:00"])
    assert result.exit_code != 0
    assert "offset" in result.output


def test_a_tick_integrates_what_is_pending_and_leaves_later_entries_to_the_next(app, monkeypatch):
    """Under steady writing a tick that chased new entries would sign a checkpoint for
    every few of them; it goes on only while batches come full (a backlog)."""
    real = auditlog.integrate
    calls = []

    def integrate_while_writing(*args, **kwargs):
        calls.append(1)
        result = real(*args, **kwargs)
        if len(calls) < 20:  # (a tick that chased them would otherwise never end)
            append(app, 1, action="key.rotate")  # written while the batch was signed
        return result

    monkeypatch.setattr(auditlog, "integrate", integrate_while_writing)
    append(app, 3)
    done = integrate(app)
    assert [d.entries for d in done] == [3]
    assert len(calls) == 1
    monkeypatch.setattr(auditlog, "BATCH", 2)  # a backlog: full batches, one after another
    append(app, 4)
    done = integrate(app)
    # 1 + 4 pending; one more written during each batch; the last batch not full
    assert [d.entries for d in done] == [2, 2, 2, 2, 1]
    assert verify(app).pending == 1


def test_a_batch_is_hashed_and_signed_before_the_tree_is_locked(app, monkeypatch, is_postgres):
    """On SQLite the tree's lock is the database's write lock, which every scan waits for:
    the sequencer reads, hashes and signs first, and writes only if nobody integrated
    meanwhile."""
    running = sequencer(app)
    real_sign = running.keys.sign
    state = {"writer_free": None, "raced": False}

    def sign_while_another_sequencer_runs(*args, **kwargs):
        if state.get("inside"):  # the other sequencer's own signature
            return real_sign(*args, **kwargs)
        state["inside"] = True
        if not is_postgres:  # nobody holds the write lock while this batch is signed
            with app.extensions["sessions"]() as other:
                other.execute(text("UPDATE audit_tree SET size = size WHERE id = 1"))
                other.commit()
                state["writer_free"] = True
        if not state["raced"]:  # a second sequencer integrates first
            state["raced"] = True
            append(app, 1, action="key.rotate")
            with app.extensions["sessions"]() as other:
                assert auditlog.integrate(other, running.keys, running.origin, now()) is not None
        state["inside"] = False
        return real_sign(*args, **kwargs)

    monkeypatch.setattr(running.keys, "sign", sign_while_another_sequencer_runs)
    append(app, 3)
    assert running.tick() == []  # the tree grew meanwhile: this batch is dropped, not forked
    done = running.tick()  # the next tick finds what is still pending
    assert sum(d.entries for d in done) == 0  # the racing sequencer took all four
    result = verify(app)
    assert result.ok
    assert result.pending == 0
    assert result.entries == 4
    if not is_postgres:
        assert state["writer_free"] is True
