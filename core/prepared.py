"""Core statements compiled once per dialect and run on the driver's cursor: the scan path's
way past SQLAlchemy's per-execution work. The one module that touches SQLAlchemy's
private API (the compiled statement's bind and result processors, the connection's
exception handling), so it can be read, and replaced, alone."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable


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
