"""Where each checkpoint stands, for the map (supervision/map.py): set by the admin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from accounts.models import User
from checkpoints.models import Checkpoint
from core import audit
from core.errors import N_, NotFound, ValidationFailed


def place_checkpoint(
    session: Session,
    checkpoint_id: int,
    latitude: float | None,
    longitude: float | None,
    *,
    actor: User,
    now: datetime,
) -> Checkpoint:
    """Where the checkpoint stands on the map: both degrees, or neither (off the map)."""
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound()
    if (latitude is None) != (longitude is None):
        raise ValidationFailed.one(
            "latitude", N_("Give both the latitude and the longitude, or neither.")
        )
    checkpoint.latitude, checkpoint.longitude = latitude, longitude
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.CHECKPOINT_PLACE,
        object_type="checkpoint",
        object_id=checkpoint.id,
        data={"placed": latitude is not None},
        now=now,
    )
    session.commit()
    return checkpoint
