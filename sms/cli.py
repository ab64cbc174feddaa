"""`flask --app app sms work`: deliver the outbox."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from core import heartbeat
from core.db import utcnow
from sms import context, outbox

HEARTBEAT_SECONDS = 10

sms = AppGroup("sms", help="The SMS outbox.")


@sms.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--batch", default=20, show_default=True, help="Messages claimed at a time.")
@click.option("--idle", default=2.0, show_default=True, help="Seconds to wait when idle.")
@click.option("--lease", default=60, show_default=True, help="Seconds a claim is held.")
def work(once: bool, batch: int, idle: float, lease: int) -> None:
    """Deliver due SMS from the outbox (several workers may run at once)."""
    owner = f"{socket.gethostname()}:{os.getpid()}"
    backend = context.sms_backend()
    callback = context.status_callback_url()
    sessions = current_app.extensions["sessions"]
    total, beaten = 0, 0.0
    while True:
        if time.monotonic() - beaten >= HEARTBEAT_SECONDS:
            # Readiness and /metrics read this: the outbox has a worker somewhere.
            with sessions() as session:
                heartbeat.beat(session, heartbeat.SMS_WORKER, owner, utcnow())
                session.commit()
            beaten = time.monotonic()
        with sessions() as session:
            done = outbox.work_once(
                session,
                backend,
                owner,
                now=utcnow,
                status_callback=callback,
                limit=batch,
                lease=timedelta(seconds=lease),
            )
        total += done
        if once and done < batch:
            break
        if not done:
            time.sleep(idle)
    click.echo(f"attempted {total} messages")
