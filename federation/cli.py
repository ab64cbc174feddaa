"""`flask --app app federation identity | peer add URL --fingerprint HEX | peer remove CODE`."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import utcnow
from core.errors import DomainError, ValidationFailed
from federation import client, context, services

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
