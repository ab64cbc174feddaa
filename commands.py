"""`flask --app app db ...`: schema migrations through Alembic."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import AppGroup

MIGRATIONS = Path(__file__).parent / "migrations"

db_cli = AppGroup("db", help="Database schema migrations.")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = current_app.extensions["engine"]
    return cfg


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head); creates the SQLite file."""
    command.upgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    command.downgrade(alembic_config(), revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the schema change is for.")
def revision(message: str) -> None:
    """Write a new revision from the difference between the models and the database."""
    command.revision(alembic_config(), message=message, autogenerate=True)


@db_cli.command("check")
def check() -> None:
    """Fail when the models and the migrations disagree."""
    command.check(alembic_config())
    click.echo("models and migrations agree")


audit_cli = AppGroup("audit", help="The tamper-evident audit log.")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 at the first broken entry."""
    import audit

    with current_app.extensions["sessions"]() as session:
        result = audit.verify(session)
    if result.ok:
        click.echo(f"audit chain ok: {result.entries} entries")
        return
    where = f"entry id {result.first_bad_id}" if result.first_bad_id else "the end of the chain"
    click.echo(f"audit chain broken at {where} (after {result.entries - 1} good entries)")
    raise SystemExit(1)
