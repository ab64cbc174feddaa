"""`flask --app app keys rotate`: the pass workflow decides how long a retired key lives,
because only it knows which passes each key signed."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import utcnow
from passes import services
from trust import keys

keys_cli = AppGroup("keys", help="Pass signing keys.")


@keys_cli.command("rotate")
def rotate() -> None:
    """Start signing with a new key; old public keys stay published while their passes live."""
    with current_app.extensions["sessions"]() as session:
        signer = keys.rotate(
            session,
            Path(current_app.instance_path) / "keys",
            utcnow(),
            None,
            signed_until=lambda kid: services.last_expiry_signed_by(session, kid),
        )
    click.echo(f"now signing with key {signer.kid}")
