"""Fixtures: one migrated database per run (SQLite, or PostgreSQL via TEST_DATABASE_URL),
a fresh app per test with its tables emptied afterwards, clients and factories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text, update

import models  # noqa: F401 - every table in the metadata
from app import create_app
from core.audit import AuditTree
from core.db import Base
from tests.support import Factory, app_config
from trust.merkle import EMPTY_ROOT


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated to head through the CLI, as an operator would."""
    instance = tmp_path_factory.mktemp("instance")
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance / 'test.db'}"
    app = create_app(app_config(url, instance))
    engine = app.extensions["engine"]
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine.dispose()
    return url


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


def empty_tables(app: Flask) -> None:
    with app.extensions["engine"].begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == AuditTree.__tablename__:
                conn.execute(update(table).values(size=0, root_hash=EMPTY_ROOT.hex(), frontier=[]))
            else:
                conn.execute(table.delete())


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(app_config(database_url, tmp_path))
    yield app
    empty_tables(app)
    app.extensions["engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask) -> Iterator[Any]:
    session = app.extensions["read_sessions"]()
    yield session
    session.close()


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory(app)
