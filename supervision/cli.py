"""`flask --app app alerts daily-summary`: the optional daily summary SMS (run from cron);
`flask --app app statistics refresh`: the statistics' daily figures (on a timer)."""

from __future__ import annotations

import time
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import utcnow
from supervision import alerts, review_queue, statistics_refresh

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


@alerts_cli.command("queue-waiting")
def queue_waiting() -> None:
    """Tell the reviewers when applications wait too long (idempotent; beside the sweep)."""
    minutes = current_app.config["REVIEW_WAIT_ALERT_MINUTES"]
    if minutes <= 0:
        click.echo("review queue alerts are off (REVIEW_WAIT_ALERT_MINUTES=0)")
        return
    with current_app.extensions["sessions"]() as session:
        told = review_queue.tell_queue_waiting(
            session, now=utcnow(), after=timedelta(minutes=minutes)
        )
        session.commit()
    click.echo(f"{told} reviewers told of applications waiting over {minutes} minutes")


statistics_cli = AppGroup("statistics", help="The statistics page's daily figures.")


@statistics_cli.command("refresh")
@click.option("--all", "everything", is_flag=True, help="Recount every day, not the recent ones.")
def refresh(everything: bool) -> None:
    """Count the daily figures again where they changed since the last count (every few
    minutes on a timer); --all counts every day, a month at a time, and an interrupted
    --all takes up where it stopped (after a change of TIMEZONE, or figures from before
    an upgrade)."""
    started = time.perf_counter()
    tz = current_app.config["TIMEZONE"]

    def counted(first: date, last: date, rows: int) -> None:
        took = time.perf_counter() - started
        click.echo(f"counted {first.isoformat()} to {last.isoformat()}: {rows} rows, {took:.0f} s")

    with current_app.extensions["sessions"]() as session:
        rows = statistics_refresh.refresh(
            session, now=utcnow(), tz=tz, everything=everything, progress=counted
        )
        if everything:  # and what changed while every day was counted
            rows += statistics_refresh.refresh(session, now=utcnow(), tz=tz)
    click.echo(f"{rows} daily figures counted in {time.perf_counter() - started:.1f} s")
