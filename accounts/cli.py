"""`flask --app app users ...`: create users from the command line."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from accounts import services
from accounts.domain import Role
from accounts.schemas import UserCreate
from db import utcnow
from errors import ValidationFailed

users = AppGroup("users", help="User accounts.")


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
            checkpoint_ids=[],
        )
        if checkpoints:
            raise ValidationFailed.one(
                "checkpoint", "No such checkpoint: " + ", ".join(checkpoints)
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
