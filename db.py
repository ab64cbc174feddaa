"""SQLAlchemy engine, sessions and the declarative Base shared by every package."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

from errors import N_

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware UTC datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _WriteLock:
    """A lock file beside the database that writers take before SQLite's own write lock.

    SQLite makes a writer that finds the database locked sleep and retry, with sleeps
    growing to 100 ms, so under load writers idle while the lock is free. Waiting on this
    file instead wakes the next writer within a millisecond of the commit. Every engine
    of the product takes it; anything else writing to the database still meets SQLite's
    lock and busy timeout, so correctness never depends on it."""

    POLL = 0.0005  # seconds between attempts while another writer holds it

    def __init__(self, path: str, timeout: float):
        self.path, self.timeout = path, timeout

    def acquire(self, dbapi_connection: Any) -> None:
        fd = getattr(dbapi_connection, "write_lock_fd", None)
        if fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            dbapi_connection.write_lock_fd = fd
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                dbapi_connection.write_locked = True
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(self.POLL)


class _Connection(sqlite3.Connection):
    """A connection that lets go of the write lock file once its transaction ends."""

    write_lock_fd: int | None = None
    write_locked = False

    def _release(self) -> None:
        if self.write_locked:
            self.write_locked = False
            fcntl.flock(self.write_lock_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
            if self.write_lock_fd is not None:
                os.close(self.write_lock_fd)
                self.write_lock_fd = None


def _configure_sqlite(engine: Engine, write_lock: _WriteLock | None) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # Writers take the lock up front: a deferred transaction that reads and then writes
        # fails at once with SQLITE_BUSY when another writer got in between. Read-only
        # sessions stay deferred so, in WAL mode, they never wait for a writer.
        if conn.get_execution_options().get("read_only"):
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_connection = conn.connection.dbapi_connection
        if write_lock is not None and isinstance(dbapi_connection, _Connection):
            write_lock.acquire(dbapi_connection)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(dbapi_connection, _Connection):
                dbapi_connection._release()
            raise


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10, "factory": _Connection},
            **kwargs,
        )
        database = engine.url.database
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        _configure_sqlite(engine, _WriteLock(f"{database}-writelock", 10) if on_disk else None)
        return engine
    # No ping before each checkout (a round trip on every request): a connection found
    # dead fails its request and SQLAlchemy then discards every connection older than it,
    # so after a database restart each process fails at most one request cleanly
    # (tests/integration/test_faults.py restarts PostgreSQL under load).
    return create_engine(url, pool_pre_ping=False, **kwargs)


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker:
    """Sessions for use cases; `read_only` ones never take SQLite's write lock."""
    bind = engine.execution_options(read_only=True) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False)


# The moments the product stores and compares. Anything outside is a typing error, and
# near the ends of datetime's range it would overflow when converted to UTC.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
RANGE_MESSAGE = N_("Enter a date between 2000 and 2099.")


def storable(moment: datetime) -> bool:
    """An aware moment within [EARLIEST, LATEST)."""
    try:
        return EARLIEST <= moment.astimezone(UTC) < LATEST
    except OverflowError:
        return False


def utcnow() -> datetime:
    """The one place the web layer reads the clock; services take `now` as an argument."""
    return datetime.now(UTC)


def bump_counter(session: Any, model: Any, counter: str, **key: Any) -> int:
    """Add one to `counter` in the row of `model` named by `key` (created at 0 when it is
    missing) and return the new value. The row stays locked until commit, so the values
    commit in the order they were given."""
    from sqlalchemy import update

    column = getattr(model, counter)
    bump = update(model).filter_by(**key).values({counter: column + 1}).returning(column)
    value = session.scalar(bump)
    if value is None:
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.execute(insert(model).values(**key, **{counter: 0}).on_conflict_do_nothing())
        value = session.scalar(bump)
    return value
