"""SQLite's writers, one at a time without sleeping in turn: a lock file beside the database
that every engine of the product takes before SQLite's own write lock, a FIFO that wakes
the next writer when it is let go, and the connection settings (WAL, foreign keys, busy
timeout, checkpoints after the lock is let go) that go with it."""

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
from typing import Any

from sqlalchemy import Engine, event


class WriteLock:
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


class LockingConnection(sqlite3.Connection):
    """A connection that lets go of the write lock file once its transaction ends."""

    write_lock_fd: int | None = None
    write_locked = False
    write_lock: WriteLock | None = None

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


def configure_sqlite(engine: Engine, write_lock: WriteLock | None) -> None:
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
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # see WriteLock.CHECKPOINT_EVERY
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
        if write_lock is not None and isinstance(dbapi_connection, LockingConnection):
            write_lock.acquire(dbapi_connection)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(dbapi_connection, LockingConnection):
                dbapi_connection._release()
            raise
