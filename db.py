"""SQLAlchemy engine, sessions and the declarative Base shared by every package."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import sqlite3
import stat
import threading
import time
import weakref
from collections import namedtuple
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.sql import Executable
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
    growing to 100 ms, so under load writers idle while the lock is free. Here a writer
    that finds the lock file taken sleeps on a FIFO beside it (`-wake`), and every
    writer that lets go of the lock writes a byte to it: the next writer wakes as soon
    as the lock is free, and waiting costs no CPU (polling the lock instead took it from
    the writer holding it, two cores shared by four workers). A waiter also looks again
    every `LOOK_AGAIN` seconds, unwoken, in case the holder died before it could write;
    it gives up after `timeout` as SQLite would ("database is locked"). Where no FIFO
    can be made, waiters look again every `POLL` seconds. Every engine of the product
    takes it; anything else writing to the database still meets SQLite's lock and busy
    timeout, so correctness never depends on it."""

    LOOK_AGAIN = 0.02  # seconds a waiter sleeps at most between attempts
    POLL = 0.0005  # ... or, where no FIFO can be made, between attempts
    # SQLite copies the write-ahead log back into the database (a checkpoint: up to a
    # thousand pages and an fsync) inside the commit that fills it, which here would hold
    # every other writer for milliseconds. Connections of the product turn that off and
    # checkpoint every this many of the process's commits, once they have let go of the lock.
    CHECKPOINT_EVERY = 100

    def __init__(self, path: str, timeout: float):
        self.path, self.timeout = path, timeout
        self.commits = 0
        self._wake: list[int | None] = [None]  # the FIFO's fd; -1 when there is none
        self._opening = threading.Lock()

    def _wake_channel(self) -> int | None:
        """The FIFO waiters sleep on, opened once per lock (so once per process); None
        where there can be none (then waiters look again every POLL seconds)."""
        if self._wake[0] is None:
            with self._opening:
                if self._wake[0] is None:
                    fd = self._open_wake_channel()
                    if fd >= 0:  # closed with the engine, and never used after
                        weakref.finalize(self, _close_wake_channel, self._wake, fd)
                    self._wake[0] = fd
        fd = self._wake[0]
        return fd if fd >= 0 else None

    def _open_wake_channel(self) -> int:
        path = f"{self.path}-wake"
        try:
            os.mkfifo(path, 0o600)
        except FileExistsError:
            pass
        except OSError:  # a file system without FIFOs
            return -1
        try:
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        except OSError:
            return -1
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):  # something else took the name
            os.close(fd)
            return -1
        return fd

    def released(self) -> None:
        """Wake whoever waits: one byte (a full FIFO already wakes them)."""
        if (fd := self._wake_channel()) is not None:
            with contextlib.suppress(BlockingIOError):
                os.write(fd, b"\0")

    def committed(self, dbapi_connection: Any) -> None:
        self.commits += 1
        if self.commits % self.CHECKPOINT_EVERY == 0:
            # A failure (another checkpoint runs) leaves its pages to the next one.
            with contextlib.suppress(sqlite3.Error):
                dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()

    def acquire(self, dbapi_connection: Any) -> None:
        fd = getattr(dbapi_connection, "write_lock_fd", None)
        if fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            dbapi_connection.write_lock_fd = fd
        deadline = time.monotonic() + self.timeout
        waiting = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                dbapi_connection.write_locked = True
                dbapi_connection.write_lock = self
                return
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise sqlite3.OperationalError("database is locked") from None
            if waiting is None:
                waiting = select.poll()
                if (wake := self._wake_channel()) is not None:
                    waiting.register(wake, select.POLLIN)
            if wake is None:  # no FIFO: look again and again, as SQLite would
                time.sleep(min(self.POLL, left))
                continue
            waiting.poll(max(1, int(1000 * min(self.LOOK_AGAIN, left))))
            with contextlib.suppress(BlockingIOError):  # emptied before looking again,
                os.read(wake, 65536)  # so no release goes unseen


def _close_wake_channel(holder: list[int | None], fd: int) -> None:
    holder[0] = -1
    os.close(fd)


class _Connection(sqlite3.Connection):
    """A connection that lets go of the write lock file once its transaction ends."""

    write_lock_fd: int | None = None
    write_locked = False
    write_lock: _WriteLock | None = None

    def _release(self) -> None:
        if self.write_locked:
            self.write_locked = False
            fcntl.flock(self.write_lock_fd, fcntl.LOCK_UN)
            if self.write_lock is not None:
                self.write_lock.released()

    def commit(self) -> None:
        wrote = self.write_locked
        try:
            super().commit()
        finally:
            self._release()
        if wrote and self.write_lock is not None:
            self.write_lock.committed(self)

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
        if write_lock is not None:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # see _WriteLock.CHECKPOINT_EVERY
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


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    # JSON columns are written and read with orjson (a scan stores its whole answer).
    kwargs = {"json_serializer": _json_text, "json_deserializer": orjson.loads, **kwargs}
    if url.startswith("sqlite"):
        database = make_url(url).database
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        if on_disk and "poolclass" not in kwargs:
            # The connection used last goes out next: SQLite empties a connection's page
            # cache whenever another one wrote since its last transaction, so handing
            # the pooled connections out in turn made every scan read cold pages.
            kwargs["pool_use_lifo"] = True
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10, "factory": _Connection},
            **kwargs,
        )
        _configure_sqlite(engine, _WriteLock(f"{database}-writelock", 10) if on_disk else None)
        return engine
    # No ping before each checkout (a round trip on every request): a connection found
    # dead fails its request and SQLAlchemy then discards every connection older than it,
    # so after a database restart each process fails at most one request cleanly
    # (tests/integration/test_faults.py restarts PostgreSQL under load).
    return create_engine(url, pool_pre_ping=False, **kwargs)


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's cursor.

    For the scan path, where SQLAlchemy's per-execution work (the compiled cache, the
    execution context, the result object: about 30 µs a statement) is most of what a
    statement costs. Values go through the columns' own bind and result processors, so what
    is stored and read is exactly what the ORM stores and reads; `before_cursor_execute`
    listeners see the statement; driver errors are raised as SQLAlchemy raises them
    (IntegrityError, and a dead connection invalidates the pool as usual).

    The statement must name every bound value: an INSERT lists its columns with
    `values()` (columns left out take their server defaults, never Python-side ones)."""

    def __init__(self, statement: Executable):
        self.statement = statement
        self._forms: dict[str, _Form] = {}

    def __call__(self, connection: Connection, **values: Any) -> list[Any]:
        """Run it in `connection`'s transaction; the rows, as named tuples."""
        dialect = connection.dialect
        form = self._forms.get(dialect.name) or self._forms.setdefault(
            dialect.name, _Form(self.statement, dialect)
        )
        parameters = form.parameters(values)
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            if connection.dispatch.before_cursor_execute:
                connection.dispatch.before_cursor_execute(
                    connection, cursor, form.sql, parameters, None, False
                )
            cursor.execute(form.sql, parameters)
            described = cursor.description
            rows = cursor.fetchall() if described else []
        except dialect.loaded_dbapi.Error as exc:
            connection._handle_dbapi_exception(exc, form.sql, parameters, cursor, None)
        finally:
            cursor.close()
        return form.rows(rows, described) if rows else rows


class _Form:
    """One statement as one dialect runs it."""

    def __init__(self, statement: Executable, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("Prepared statements take no expanding IN (); use or_()")
        self.sql = compiled.string
        self.defaults = compiled.construct_params(_check=False)
        self.names = compiled.positiontup  # qmark dialects: the values' order
        self.binds: dict[str, Callable[[Any], Any]] = dict(compiled._bind_processors)
        self.columns = [(column[0], column[3]) for column in compiled._result_columns]
        self.dialect = dialect
        self.row = namedtuple("Row", [key for key, _ in self.columns], rename=True)
        self.results: list[Callable[[Any], Any] | None] | None = None

    def parameters(self, values: dict[str, Any]) -> Any:
        unknown = values.keys() - self.defaults.keys()
        if unknown:
            raise TypeError(f"no such bound values: {sorted(unknown)}")
        merged = {**self.defaults, **values}
        for name, process in self.binds.items():
            merged[name] = process(merged[name])  # None too, as SQLAlchemy does (JSON null)
        return tuple(merged[name] for name in self.names) if self.names else merged

    def rows(self, rows: list[Any], description: Any) -> list[Any]:
        if self.results is None:
            self.results = [
                type_._cached_result_processor(self.dialect, described[1])
                for (_, type_), described in zip(self.columns, description, strict=True)
            ]
        processors = [(i, p) for i, p in enumerate(self.results) if p is not None]
        made = []
        for row in rows:
            row = list(row)
            for i, process in processors:
                row[i] = process(row[i])
            made.append(self.row._make(row))
        return made


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


def insert_for(bind: Any) -> Any:
    """The dialect's INSERT (with ON CONFLICT) for a session's or connection's database."""
    dialect = bind.get_bind().dialect if hasattr(bind, "get_bind") else bind.dialect
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def bump_counter(session: Any, model: Any, counter: str, **key: Any) -> int:
    """Add one to `counter` in the row of `model` named by `key` (created at 0 when it is
    missing) and return the new value. The row stays locked until commit, so the values
    commit in the order they were given."""
    from sqlalchemy import update

    column = getattr(model, counter)
    bump = update(model).filter_by(**key).values({counter: column + 1}).returning(column)
    value = session.scalar(bump)
    if value is None:
        insert = insert_for(session)
        session.execute(insert(model).values(**key, **{counter: 0}).on_conflict_do_nothing())
        value = session.scalar(bump)
    return value
