"""Alembic environment: runs against the app's engine (see commands.alembic_config)."""

from __future__ import annotations

import warnings

from alembic import context

import models  # noqa: F401 - imports every model so the metadata is complete
from core.db import Base

config = context.config
engine = config.attributes["engine"]


def run() -> None:
    # SQLite cannot reflect an index on an expression (trip's plate tail): it is skipped
    # when comparing models and database, and says so with a warning, which is no drift.
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
    warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `flask --app app db upgrade`")
run()
