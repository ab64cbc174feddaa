"""`flask --app app backup ...` and `flask --app app retention purge`."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core import config
from core.db import utcnow
from operations import backup, readiness, retention

backup_cli = AppGroup("backup", help="Consistent backups of the database and the instance's keys.")
retention_cli = AppGroup("retention", help="Erase personal data past RETENTION_DAYS.")

PASSPHRASE = click.option(
    "--passphrase-env",
    default="BACKUP_PASSPHRASE",
    show_default=True,
    help="Environment variable holding the passphrase that seals the archive.",
)


def _witness() -> Path:
    return current_app.extensions["audit_log"].witness


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _passphrase(name: str) -> str | None:
    passphrase = os.environ.get(name) or None
    production = current_app.config["APP_ENV"] == "production"
    if passphrase is not None and production and (why := config.weak_secret(passphrase)):
        raise click.ClickException(
            f"{name} {why}. Use a random one, e.g. {name}=$(openssl rand -hex 32), "
            "and keep a copy off the server"
        )
    return passphrase


@backup_cli.command("create")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@PASSPHRASE
def create(path: Path | None, passphrase_env: str) -> None:
    """Write a backup to PATH (default: instance/backups/trafficpass-<time>.tar.gz)."""
    now = utcnow()
    instance = Path(current_app.instance_path)
    target = path or instance / "backups" / f"trafficpass-{now:%Y%m%dT%H%M%SZ}.tar.gz"
    passphrase = _passphrase(passphrase_env)
    if passphrase is None:
        click.echo(
            f"warning: {passphrase_env} is not set, so this backup is NOT encrypted: the "
            "database inside holds drivers' names, ID numbers and phones, and the private "
            "signing keys are beside it. Keep it as safe as the server, or set "
            f"{passphrase_env} to seal it.",
            err=True,
        )
    # Stopped (systemd's SIGTERM at a timeout or shutdown): clean up like any failure, so
    # no half-made archive or database copy is left beside the backups.
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        manifest = backup.create(
            current_app.extensions["engine"], instance, target, now, passphrase, _witness()
        )
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    rows = ", ".join(f"{n} {t}" for t, n in manifest.rows.items())
    sealed = "sealed" if manifest.keys_sealed else "NOT encrypted"
    click.echo(f"backup written: {target} ({manifest.dialect}, {rows}; {sealed})")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@PASSPHRASE
@click.option("--force", is_flag=True, help="Overwrite a database with passes, and differing keys.")
def restore(path: Path, passphrase_env: str, force: bool) -> None:
    """Restore PATH into DATABASE_URL and the instance folder (stop the app first)."""
    kept = _witness().read_bytes() if _witness().is_file() else None
    if kept is None:
        click.echo(
            f"note: there is no witness file at {_witness()}, so the backup's own is used. If "
            "this installation signed audit checkpoints after the backup was made, stop and "
            "put that witness file back first: the restore checks the backup against it.",
            err=True,
        )
    try:
        manifest = backup.restore(
            current_app.extensions["engine"],
            Path(current_app.instance_path),
            path,
            _passphrase(passphrase_env),
            _witness(),
            force=force,
        )
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"restored the backup of {manifest.created_at} (schema {manifest.revision}); "
        "next: flask db upgrade, then flask audit verify"
    )
    if manifest.revision in readiness.migration_heads():
        # The check the sequencer makes before it signs: the restored tree must extend the
        # witness file's latest checkpoint, by a consistency proof.
        # The witness lines this machine held count, not only those the backup brought.
        running = current_app.extensions["audit_sequencer"]()
        problem = running.check_history(kept if kept and not force else None)
        if problem is not None:
            raise click.ClickException(
                f"the restored audit log does not extend the witness file: {problem}. The "
                "sequencer will sign nothing until it does (docs/deploy.md, Restore)"
            )
        click.echo("audit: the restored log extends the witness file's latest checkpoint")


@backup_cli.command("unseal")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@PASSPHRASE
def unseal(path: Path, out: Path, passphrase_env: str) -> None:
    """Write the clear tar.gz inside the sealed backup PATH to OUT (a restore by hand)."""
    passphrase = _passphrase(passphrase_env)
    if passphrase is None:
        raise click.ClickException(f"{passphrase_env} is not set")
    if out.exists():
        raise click.ClickException(f"{out} exists; give a new file")
    try:
        backup.unseal_to(path, out, passphrase)
    except backup.BackupError as exc:
        out.unlink(missing_ok=True)
        raise click.ClickException(str(exc)) from None
    click.echo(f"unsealed: {out} (readable by you only; delete it when done)")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@click.option("--now", "at", default=None, help="ISO time to purge as of (tests, rehearsals).")
def purge(dry_run: bool, at: str | None) -> None:
    """Erase drivers' personal data, SMS texts and old records past RETENTION_DAYS."""
    now = utcnow()
    if at is not None:
        try:
            now = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter("an ISO 8601 time, e.g. 2027-06-01T00:00:00+08:00") from None
        if now.tzinfo is None:
            raise click.BadParameter("give the time with its offset, e.g. +08:00")
        now = now.astimezone(UTC)
    days = current_app.config["RETENTION_DAYS"]
    with current_app.extensions["sessions"]() as session:
        result = retention.purge(session, now, days, dry_run=dry_run)
    verb = "would erase" if dry_run else "erased"
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in result.__dict__.items())
    click.echo(f"retention {days} days: {verb} {counts}")
