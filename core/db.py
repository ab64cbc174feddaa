"""SQLAlchemy engine, sessions, the declarative Base and column types shared by every package.

The SQLite write lock is in core/sqlite_lock.py; statements run past SQLAlchemy's
per-execution work, in core/prepared.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, Engine, MetaData, create_engine
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

from core import sqlite_lock
from core.errors import N_

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
            connect_args={
                "check_same_thread": False,
                "timeout": 10,
                "factory": sqlite_lock.LockingConnection,
            },
            **kwargs,
        )
        sqlite_lock.configure_sqlite(
            engine, sqlite_lock.WriteLock(f"{database}-writelock", 10) if on_disk else None
        )
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
