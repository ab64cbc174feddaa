"""`flask --app app backup ...` and `flask --app app retention purge`."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import utcnow
from operations import backup, retention

backup_cli = AppGroup("backup", help="Consistent backups of the database and the instance's keys.")
retention_cli = AppGroup("retention", help="Erase personal data past RETENTION_DAYS.")

PASSPHRASE = click.option(
    "--passphrase-env",
    default="BACKUP_PASSPHRASE",
    show_default=True,
    help="Environment variable holding the passphrase that seals the keys.",
)


def _witness() -> Path:
    return current_app.extensions["audit_log"].witness


def _passphrase(name: str) -> str | None:
    return os.environ.get(name) or None


@backup_cli.command("create")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@PASSPHRASE
def create(path: Path | None, passphrase_env: str) -> None:
    """Write a backup to PATH (default: instance/backups/trafficpass-<time>.tar.gz)."""
    now = utcnow()
    instance = Path(current_app.instance_path)
    target = path or instance / "backups" / f"trafficpass-{now:%Y%m%dT%H%M%SZ}.tar.gz"
    passphrase = _passphrase(passphrase_env)
    try:
        manifest = backup.create(
            current_app.extensions["engine"], instance, target, now, passphrase, _witness()
        )
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    rows = ", ".join(f"{n} {t}" for t, n in manifest.rows.items())
    click.echo(f"backup written: {target} ({manifest.dialect}, {rows})")
    if not manifest.keys_sealed:
        click.echo(
            f"warning: the backup holds the private signing keys unsealed; keep it as safe as "
            f"the server, or set {passphrase_env} to seal them",
            err=True,
        )


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@PASSPHRASE
@click.option("--force", is_flag=True, help="Overwrite a database with passes, and differing keys.")
def restore(path: Path, passphrase_env: str, force: bool) -> None:
    """Restore PATH into DATABASE_URL and the instance folder (stop the app first)."""
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
