"""Schema and engine: migrations match the models; SQLite runs in WAL with foreign keys."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from db import Base


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
