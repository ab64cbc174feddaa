"""`flask --app app db ...` (schema migrations through Alembic) and `audit ...`."""

from __future__ import annotations

from datetime import UTC, datetime
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


audit_cli = AppGroup("audit", help="The audit log: a transparency log of every decision.")


def _when(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise click.BadParameter("give the time with its offset, e.g. 2026-11-24T08:00:00+08:00")
    return moment


@audit_cli.command("verify")
@click.option(
    "--checkpoint",
    "saved",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint saved earlier outside the database (JSON or one per line); repeatable.",
)
def audit_verify(saved: tuple[Path, ...]) -> None:
    """Recompute the log's Merkle tree and check it against every signed checkpoint: the
    database's, the witness file's and any given; exit 1 on a break."""
    from trust import audit_checkpoints, auditlog
    from trust.context import audit_log

    settings = audit_log(current_app._get_current_object())  # type: ignore[attr-defined]
    checkpoints = []
    for path in (settings.witness, *saved):
        if path.exists():
            try:
                # half a line a crash left in the witness file is passed over
                skip = path == settings.witness
                checkpoints += audit_checkpoints.read_checkpoints(path, skip_bad=skip)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
    with current_app.extensions["read_sessions"]() as session:
        result = auditlog.verify(session, settings.keys, settings.origin, checkpoints)
    pending = f", {result.pending} pending" if result.pending else ""
    if result.ok:
        click.echo(
            f"audit log ok: {result.entries} entries{pending}, "
            f"{result.checkpoints} signed checkpoints agree, root {result.root_hash}"
        )
        return
    where = f" (entry id {result.first_bad_id})" if result.first_bad_id else ""
    click.echo(f"audit log broken: {result.problem}{where}")
    raise SystemExit(1)


@audit_cli.command("integrate")
@click.option("--now", "when", default=None, help="The checkpoint's time (ISO 8601 with offset).")
def audit_integrate(when: str | None) -> None:
    """Integrate every pending entry now and sign a checkpoint (what the sequencer does)."""
    from trust import auditlog
    from trust.context import sequencer

    running = sequencer(current_app._get_current_object())  # type: ignore[attr-defined]
    moment = _when(when)
    running.clock = lambda: moment
    try:
        done = running.tick()
    except auditlog.ForkRefused as refused:
        raise click.ClickException(f"nothing signed: {refused}") from None
    if not done:
        click.echo("nothing pending")
        return
    last = done[-1].checkpoint
    click.echo(f"integrated {sum(d.entries for d in done)} entries; tree size {last.size}")


@audit_cli.command("sequencer")
def audit_sequencer() -> None:
    """Run the sequencer in this process until stopped (with AUDIT_SEQUENCER=off in the
    app servers)."""
    from trust.context import sequencer

    running = sequencer(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"integrating every {running.interval:g} s; Ctrl-C to stop")
    try:
        running.run()
    except KeyboardInterrupt:
        running.stopping.set()
