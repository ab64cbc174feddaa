"""Schema and engine: migrations match the models; SQLite runs in WAL with foreign keys."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from core.db import Base


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
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


def _scan_row(app, make):
    from core.db import utcnow

    gate = make.checkpoint()
    officer = make.officer(gate)
    return app.extensions["sessions"](), {
        "scan_id": "00000000-0000-4000-8000-000000000001",
        "checkpoint_id": gate.id,
        "officer_id": officer.id,
        "event": "none",
        "decision": "deny",
        "reasons": ["malformed"],
        "scanned_at": utcnow(),
        "recorded_at": utcnow(),
        "offline": True,
        "response": {"ok": [1, "二"]},
    }


def test_a_prepared_statement_stores_and_reads_what_the_orm_does(app, make):
    from sqlalchemy import bindparam, insert, select

    from checkpoints.models import Scan
    from core.prepared import Prepared

    session, values = _scan_row(app, make)
    table = Scan.__table__
    add = Prepared(insert(table).values({c: bindparam(c) for c in values}).returning(table.c.id))
    read = Prepared(
        select(table.c.scan_id, table.c.recorded_at, table.c.response, table.c.offline).where(
            table.c.id == bindparam("id")
        )
    )
    ((scan_pk,),) = add(session.connection(), **values)
    session.commit()
    (row,) = read(session.connection(), id=scan_pk)
    stored = session.get(Scan, scan_pk)
    assert row.recorded_at == stored.recorded_at == values["recorded_at"]
    assert row.recorded_at.tzinfo is not None
    assert row.response == stored.response == {"ok": [1, "二"]}
    assert row.offline is True
    assert stored.offline is True
    assert read(session.connection(), id=scan_pk + 1) == []
    session.close()


def test_a_prepared_statement_raises_as_sqlalchemy_does_and_is_seen_by_listeners(app, make):
    from sqlalchemy import bindparam, event, insert, literal, or_, select
    from sqlalchemy.exc import IntegrityError

    from checkpoints.models import Scan
    from core.prepared import Prepared

    session, values = _scan_row(app, make)
    table = Scan.__table__
    add = Prepared(insert(table).values({c: bindparam(c) for c in values}))
    seen = []
    engine = app.extensions["engine"]
    listener = lambda conn, cursor, statement, *_: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        add(session.connection(), **values)
        with pytest.raises(IntegrityError):
            add(session.connection(), **values)  # the same scan_id again
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    session.rollback()
    assert sum("INSERT INTO scan" in s for s in seen) == 2
    with pytest.raises(TypeError, match="no such bound values"):
        add(session.connection(), **values, colour="red")
    with pytest.raises(ValueError, match="expanding"):
        Prepared(select(table.c.id).where(table.c.event.in_(["entry", "exit"])))(
            session.connection()
        )
    # what replaces such an IN
    assert Prepared(select(literal(1)).where(or_(literal(1) == 1)))(session.connection()) == [(1,)]
    session.close()


def test_sqlite_checkpoints_its_log_outside_the_write_lock(tmp_path):
    """SQLite copies the log back into the database inside the commit that fills it; the
    product's connections do it after letting go of the write lock, every hundred commits."""
    import fcntl
    import os

    from core.db import make_engine
    from core.sqlite_lock import WriteLock

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    lock_path = f"{tmp_path / 'x.db'}-writelock"
    checkpoints, locked_during = [], []

    def watch(statement: str) -> None:
        if "wal_checkpoint" in statement:
            checkpoints.append(statement)
            fd = os.open(lock_path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                locked_during.append(statement)
            finally:
                os.close(fd)

    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        conn.connection.dbapi_connection.set_trace_callback(watch)
        conn.execute(text("CREATE TABLE t (x BLOB)"))
        conn.commit()
        for _ in range(2 * WriteLock.CHECKPOINT_EVERY):
            conn.execute(text("INSERT INTO t VALUES (randomblob(3000))"))
            conn.commit()
        raw = conn.connection.dbapi_connection
        raw.set_trace_callback(None)
        busy, log, copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    engine.dispose()
    assert len(checkpoints) == 2
    assert locked_during == []
    assert log - copied == 0


def _lock_world(tmp_path):
    from core.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    return engine, f"{tmp_path / 'x.db'}-writelock"


def test_a_writer_waiting_for_the_lock_sleeps_until_the_holder_lets_go(tmp_path, monkeypatch):
    """A waiting writer is woken by the holder's commit, not by looking again and again:
    polling took the cores from the writer holding the lock."""
    import threading
    import time

    from core import sqlite_lock

    monkeypatch.setattr(sqlite_lock.WriteLock, "LOOK_AGAIN", 5.0)  # only a wake-up can be quick
    engine, _ = _lock_world(tmp_path)
    attempts, flock = {}, sqlite_lock.fcntl.flock

    def counted(fd, operation):
        me = threading.get_ident()
        attempts[me] = attempts.get(me, 0) + 1
        return flock(fd, operation)

    monkeypatch.setattr(sqlite_lock.fcntl, "flock", counted)
    holding, released, got = threading.Event(), [], []

    def waiter():
        holding.wait()
        with engine.connect() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))  # begins: waits for the lock
            got.append((time.monotonic(), threading.get_ident()))
            conn.commit()

    thread = threading.Thread(target=waiter)
    thread.start()
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        holding.set()
        time.sleep(0.3)
        released.append(time.monotonic())
        conn.commit()
    thread.join(10)
    engine.dispose()
    (at, ident) = got[0]
    assert at - released[0] < 0.1  # woken by the commit, not after LOOK_AGAIN
    assert attempts[ident] <= 4  # a try, one after the wake-up, the unlocks: no polling


def test_a_writer_gives_up_after_the_timeout(tmp_path):
    import sqlite3
    import time
    from types import SimpleNamespace

    from core.sqlite_lock import WriteLock

    engine, path = _lock_world(tmp_path)
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))  # holds the lock
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            WriteLock(path, 0.3).acquire(SimpleNamespace())
        waited = time.monotonic() - started
        conn.rollback()
    engine.dispose()
    assert 0.3 <= waited < 1.0


def test_a_holder_that_dies_holding_the_lock_keeps_nobody_waiting_long(tmp_path, monkeypatch):
    """A process killed with the lock held cannot wake anyone: waiters look again."""
    import signal
    import subprocess
    import sys
    import threading
    import time

    from core import sqlite_lock

    monkeypatch.setattr(sqlite_lock.WriteLock, "LOOK_AGAIN", 0.1)
    engine, path = _lock_world(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({path!r}, os.O_RDWR)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    got = []

    def waiter():
        with engine.connect() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            got.append(time.monotonic())
            conn.commit()

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.2)
    assert not got  # still waiting
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    died = time.monotonic()
    thread.join(10)
    engine.dispose()
    assert got
    assert got[0] - died < 0.5


def test_sqlite_hands_out_the_connection_used_last(tmp_path):
    """Its page cache is warm; another one would find the database changed and empty it."""
    from core.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    first, second = engine.connect(), engine.connect()
    raw_first, raw_second = first.connection.dbapi_connection, second.connection.dbapi_connection
    first.close()
    second.close()  # returned last
    for _ in range(3):
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection is raw_second
    engine.dispose()
    assert raw_first is not raw_second


def test_writers_still_take_turns_where_no_fifo_can_be_made(tmp_path):
    """Something else at the FIFO's name (or a file system without FIFOs): waiters
    look again every POLL seconds, as SQLite would, instead of sleeping until woken."""
    import threading
    import time

    (tmp_path / "x.db-writelock-wake").write_text("not a FIFO")
    engine, _ = _lock_world(tmp_path)
    got, released = [], []

    def waiter():
        with engine.connect() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
            got.append(time.monotonic())
            conn.commit()

    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.1)
        released.append(time.monotonic())
        conn.commit()
    thread.join(10)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    engine.dispose()
    assert (tmp_path / "x.db-writelock-wake").read_text() == "not a FIFO"
    assert got[0] - released[0] < 0.5


def test_an_engine_on_an_in_memory_database_still_works():
    from core.db import make_engine

    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
