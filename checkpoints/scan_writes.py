"""The unit of work a scan writes in (scan_store.py runs its statements through it): the
connection read first, the one short write transaction, and a session for the events'
subscribers. The Flask view and offline sync bring an ORM session; the hot path one pooled
connection."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker


class Writes:
    """Where a scan reads first, and the one short write transaction it writes in."""

    def read(self) -> Connection:
        """A connection for what is read before the write transaction."""
        raise NotImplementedError

    def done_reading(self) -> None:
        """What was read first is read (the write transaction follows)."""

    def begin(self) -> Connection:
        """The write transaction begins (on SQLite: the database's write lock)."""
        raise NotImplementedError

    def session(self) -> Session:
        """A session in the write transaction, for the events' subscribers."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def after(self) -> AbstractContextManager[Session]:
        """A session for what follows the commit (the denial's alerts, which commit)."""
        raise NotImplementedError


class SessionWrites(Writes):
    """An ORM caller's session (the Flask view, offline sync) and its reads."""

    def __init__(self, session: Session, reads: Session):
        self._session, self._reads = session, reads
        self._reader: Connection | None = None

    def read(self) -> Connection:
        if self._reads is self._session or self._reads.in_transaction():
            return self._reads.connection()
        # SQLite's separate reader: one statement is its own snapshot, so no BEGIN and no
        # ROLLBACK around it
        self._reader = self._reader or self._reads.get_bind().connect()
        return self._reader

    def done_reading(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._reads is not self._session:
            self._reads.close()

    def begin(self) -> Connection:
        return self._session.connection()

    def session(self) -> Session:
        return self._session

    def commit(self) -> None:
        self._session.commit()

    def rollback(self) -> None:
        self._session.rollback()

    def after(self) -> AbstractContextManager[Session]:
        return nullcontext(self._session)  # the caller's, closed by the caller


class ConnectionWrites(Writes):
    """The hot path's: one pooled connection, read first outside any transaction (on
    PostgreSQL the driver's transaction begins there), then the write transaction on it.
    A Session (its transaction costs about as much as the scan's statements) is made only
    when an event's subscriber asks for one, joined to the connection's transaction."""

    def __init__(self, connection: Connection, sessions: sessionmaker):
        self._connection, self._sessions = connection, sessions
        self._transaction: Any = None
        self._joined: Session | None = None

    def read(self) -> Connection:
        return self._connection

    def begin(self) -> Connection:
        self._transaction = self._connection.begin()
        return self._connection

    def session(self) -> Session:
        if self._joined is None:
            self._joined = Session(bind=self._connection, expire_on_commit=False)
        return self._joined

    def commit(self) -> None:
        if self._joined is not None:
            self._joined.flush()  # what subscribers added, in the scan's transaction
        self._transaction.commit()
        self._close_joined()

    def rollback(self) -> None:
        self._transaction.rollback()
        self._close_joined()

    def _close_joined(self) -> None:
        if self._joined is not None:
            self._joined.close()
            self._joined = None

    def after(self) -> AbstractContextManager[Session]:
        return self._sessions()  # closed when the alerts are done
