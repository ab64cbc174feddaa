"""`flask --app app alerts daily-summary`: the optional daily summary SMS (run from cron)."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup

from db import utcnow
from supervision import alerts

alerts_cli = AppGroup("alerts", help="Supervisors' alerts.")


@alerts_cli.command("daily-summary")
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The local day to summarise (default: yesterday).",
)
def daily_summary(day: object) -> None:
    """Queue the summary SMS and notification for each subscriber (idempotent per day)."""
    now, tz = utcnow(), current_app.config["TIMEZONE"]
    chosen: date = day.date() if day is not None else alerts.yesterday(now, tz)  # type: ignore[attr-defined]
    with current_app.extensions["sessions"]() as session:
        sent = alerts.daily_summary(session, chosen, now=now, tz=tz)
    click.echo(f"{sent} daily summaries for {chosen.isoformat()}")
