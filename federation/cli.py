"""`flask --app app federation identity | peer add URL --fingerprint HEX | peer remove CODE
| sync [--once]`."""

from __future__ import annotations

import json
import os
import socket
import time

import click
from flask import current_app
from flask.cli import AppGroup

from core import heartbeat
from core.db import utcnow
from core.errors import DomainError, ValidationFailed
from federation import client, context, services, sync

federation_cli = AppGroup("federation", help="Peers in other jurisdictions.")
peer_cli = AppGroup("peer", help="Pin or remove a peer jurisdiction.")
federation_cli.add_command(peer_cli)


@federation_cli.command("identity")
def identity() -> None:
    """Print this jurisdiction's identity as one JSON line (creates the key on first use)."""
    here, key = context.here(), context.key()
    click.echo(
        json.dumps(
            {
                "area_code": here.area_code,
                "name": here.name,
                "base_url": here.base_url,
                "kid": key.kid(),
                "fingerprint": key.fingerprint(),
            },
            ensure_ascii=False,
        )
    )


def _words(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
    detail = exc.detail or exc.title
    return detail % exc.params if exc.params else detail


@peer_cli.command("add")
@click.argument("url")
@click.option(
    "--fingerprint", required=True, help="The peer's key fingerprint, learnt out of band."
)
def peer_add(url: str, fingerprint: str) -> None:
    """Fetch the peer's configuration at URL, check it against FINGERPRINT, store it."""
    with current_app.extensions["sessions"]() as session:
        try:
            peer = services.add_peer(
                session,
                url,
                fingerprint,
                here=context.here(),
                fetch=client.fetch_configuration,
                actor_id=None,
                now=utcnow(),
            )
        except DomainError as exc:
            raise click.ClickException(f"nothing stored: {_words(exc)}") from None
        click.echo(f"peer {peer.area_code} {peer.name} pinned at {peer.fingerprint}")


@peer_cli.command("remove")
@click.argument("area_code")
def peer_remove(area_code: str) -> None:
    """Stop trusting the peer AREA_CODE: its passes become unknown_issuer here."""
    with current_app.extensions["sessions"]() as session:
        try:
            services.remove_peer(session, area_code, actor_id=None, now=utcnow())
        except DomainError as exc:
            raise click.ClickException(_words(exc)) from None
    click.echo(f"peer {area_code} removed")


@federation_cli.command("sync")
@click.option("--once", is_flag=True, help="Sync with every peer once, then exit.")
def sync_command(once: bool) -> None:
    """Pull every peer's configuration and pass feed (every FEDERATION_SYNC_SECONDS)."""
    owner = f"{socket.gethostname()}:{os.getpid()}"
    sessions = current_app.extensions["sessions"]
    interval = current_app.config["FEDERATION_SYNC_SECONDS"]
    while True:
        started = time.monotonic()
        with sessions() as session:
            heartbeat.beat(session, heartbeat.FEDERATION_SYNC, owner, utcnow())
            session.commit()
        for done in sync.sync_all(sessions, here=context.here(), key=context.key(), clock=utcnow):
            state = (
                f"{done.passes} passes, {done.events} events"
                if done.ok
                else f"failed: {done.error}"
            )
            click.echo(f"peer {done.area_code}: {state}")
        if once:
            break
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
