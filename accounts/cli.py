"""`flask --app app users ...`: create users from the command line."""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from accounts import events, services
from accounts.domain import Role
from accounts.schemas import UserCreate
from core.db import utcnow
from core.errors import ValidationFailed

users = AppGroup("users", help="User accounts.")


def _gate_ids(session: Any, codes: tuple[str, ...]) -> list[int]:
    """The ids of the gates named by code (the package that keeps gates answers)."""
    if not codes:
        return []
    known: dict[str, int] = {}
    for _receiver, (places, _chosen) in events.officer_places.send(session, users=[]):
        known.update({place.code: place.id for place in places})
    wanted = [code.strip().upper() for code in codes]  # as checkpoint codes are stored
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise ValidationFailed.one("checkpoint", "No such gate: " + ", ".join(unknown))
    return [known[code] for code in wanted]


@users.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 8 characters, letters and digits.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--enterprise-id", type=int, default=None)
@click.option("--checkpoint", "checkpoints", multiple=True, help="Checkpoint code (officers).")
def create(
    username: str, password: str, role: str, enterprise_id: int | None, checkpoints: tuple[str, ...]
) -> None:
    """Create a user."""
    from pydantic import ValidationError

    session = current_app.extensions["sessions"]()
    try:
        data = UserCreate(
            username=username,
            password=password,
            role=Role(role),
            enterprise_id=enterprise_id,
            checkpoint_ids=_gate_ids(session, checkpoints),
        )
        user = services.create_user(
            session,
            data,
            actor=None,
            now=utcnow(),
            password_method=current_app.config["PASSWORD_HASH_METHOD"],
        )
    except ValidationError as exc:
        raise click.UsageError(
            "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        ) from None
    except ValidationFailed as exc:
        raise click.UsageError(
            "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())
        ) from None
    finally:
        session.close()
    click.echo(f"created user {user.username} ({user.role}) with id {user.id}")
