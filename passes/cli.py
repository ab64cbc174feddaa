"""`flask --app app sms work` and `flask --app app keys rotate`."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from db import utcnow
from passes import context, keys, outbox

sms = AppGroup("sms", help="The SMS outbox.")
keys_cli = AppGroup("keys", help="Pass signing keys.")


@sms.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--batch", default=20, show_default=True, help="Messages claimed at a time.")
@click.option("--idle", default=2.0, show_default=True, help="Seconds to wait when idle.")
@click.option("--lease", default=60, show_default=True, help="Seconds a claim is held.")
def work(once: bool, batch: int, idle: float, lease: int) -> None:
    """Deliver due SMS from the outbox (several workers may run at once)."""
    from datetime import timedelta

    owner = f"{socket.gethostname()}:{os.getpid()}"
    backend = context.sms_backend()
    callback = context.status_callback_url()
    sessions = current_app.extensions["sessions"]
    total = 0
    while True:
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


@keys_cli.command("rotate")
def rotate() -> None:
    """Start signing with a new key; old public keys stay published while their passes live."""
    with current_app.extensions["sessions"]() as session:
        signer = keys.rotate(session, Path(current_app.instance_path) / "keys", utcnow(), None)
    click.echo(f"now signing with key {signer.kid}")
