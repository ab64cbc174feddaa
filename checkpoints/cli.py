"""`flask --app app loop sweep`: raise anomalies for overdue loops (run from cron or a timer)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from checkpoints import services
from checkpoints.domain import SweepPolicy
from core import heartbeat
from core.db import utcnow

loop = AppGroup("loop", help="The closed loop of trips.")


def policy() -> SweepPolicy:
    cfg = current_app.config
    return SweepPolicy(
        max_stay=timedelta(hours=cfg["LOOP_MAX_STAY_HOURS"]),
        arrival_within=timedelta(hours=cfg["LOOP_ARRIVAL_HOURS"]),
    )


@loop.command("sweep")
def sweep() -> None:
    """Detect overstays, late arrivals and expired open trips now (idempotent)."""
    with current_app.extensions["sessions"]() as session:
        raised = services.sweep(
            session, now=utcnow(), policy=policy(), locale=current_app.config["SMS_LOCALE"]
        )
        # When it last ran and what it found, for /metrics on any node.
        heartbeat.beat(session, heartbeat.SWEEP, "loop sweep", utcnow(), {"anomalies": len(raised)})
        session.commit()
    click.echo(f"{len(raised)} new anomalies")
