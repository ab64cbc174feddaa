"""The stations a pass may name for its crew (三点往返's third point; checkpoints.domain
Kind.STATION). Passes sit below checkpoints, so the checkpoints' table is read here by
name, not through its model."""

from __future__ import annotations

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

_checkpoint = table("checkpoint", column("id"), column("kind"), column("active"), column("name"))


def named(
    session: Session, ids: list[int] | None = None, *, active: bool = False
) -> list[tuple[int, str]]:
    """(id, name) of the stations, by name: all of them or those of `ids`; only those in
    service when `active`."""
    found = select(_checkpoint.c.id, _checkpoint.c.name).where(_checkpoint.c.kind == "station")
    if ids is not None:
        if not ids:
            return []
        found = found.where(_checkpoint.c.id.in_(ids))
    if active:
        found = found.where(_checkpoint.c.active.is_(True))
    return [(row.id, row.name) for row in session.execute(found.order_by(_checkpoint.c.name))]


def unknown(session: Session, ids: list[int]) -> bool:
    """Whether any of `ids` is not a station in service."""
    return len(named(session, ids, active=True)) < len(set(ids))
