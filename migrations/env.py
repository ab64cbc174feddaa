"""Alembic environment: runs against the app's engine (see commands.alembic_config)."""

from __future__ import annotations

from alembic import context

import models  # noqa: F401 - imports every model so the metadata is complete
from db import Base

config = context.config
engine = config.attributes["engine"]


def run() -> None:
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
