"""Trip history search: one set of filters for the API, the history page and the exports.

Filters come as a mapping of strings (query parameters); bad values raise ValidationFailed.
Everything goes through tenant scoping, so an enterprise sees only its own trips.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import selectinload

from accounts.scoping import scoped
from checkpoints.domain import OPEN_STATES, AnomalyKind, TripState
from checkpoints.models import PLATE_TAIL, Anomaly, Scan, Trip
from core import db
from core import search as boxes
from core.errors import N_, ValidationFailed
from fleet.models import Driver
from passes.models import Pass

SORTS = {
    "newest": (Trip.opened_at.desc(), Trip.id.desc()),
    "oldest": (Trip.opened_at.asc(), Trip.id.asc()),
    "plate": (Trip.plate.asc(), Trip.opened_at.desc()),
    "state": (Trip.state.asc(), Trip.opened_at.desc()),
}
INSIDE = "inside"  # a `state` filter value: entered or arrived, not yet left
FILTERS = (
    "plate",
    "number",
    "driver",
    "enterprise_id",
    "checkpoint_id",
    "state",
    "anomaly",
    "from",
    "to",
    "sort",
)


def moment(raw: str, name: str, tz: str, end: bool) -> datetime:
    """An ISO date-time with offset, or a plain date taken as a whole local day."""
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.one(
            name, N_("Enter a date (2026-11-22) or a date and time with its time zone offset.")
        ) from None
    if len(raw) == 10:  # a date: from its first moment, or to the end of it
        day = at.date()
        at = datetime.combine(day, time.max if end else time.min, ZoneInfo(tz))
    elif at.tzinfo is None:
        raise ValidationFailed.one(
            name, N_("Enter a date (2026-11-22) or a date and time with its time zone offset.")
        )
    if not db.storable(at):
        raise ValidationFailed.one(name, db.RANGE_MESSAGE)
    return at


def choice(value: str, allowed: set[str], name: str) -> str:
    if value not in allowed:
        raise ValidationFailed.one(name, N_("Choose one of the listed values."))
    return value


def search(args: Mapping[str, str], user: Any, *, tz: str) -> Select[Any]:
    """The trips matching `args`, scoped to `user`, in the requested order."""
    stmt = scoped(select(Trip), Trip, user)
    get = lambda name: (args.get(name) or "").strip()  # noqa: E731 - local shorthand
    if plate := boxes.as_plate(get("plate")):
        # Typed without the province (f88): the index on the plate after its first character.
        column = Trip.plate if not plate[0].isascii() else PLATE_TAIL
        stmt = stmt.where(boxes.starts_with(column, plate))
    if number := get("number"):
        stmt = stmt.where(Trip.pass_id.in_(select(Pass.id).where(Pass.number == number)))
    if driver := get("driver"):
        drivers = select(Driver.id).where(
            Driver.name.startswith(driver, autoescape=True)
            | Driver.phone.endswith(driver, autoescape=True)
        )
        stmt = stmt.where(Trip.pass_id.in_(select(Pass.id).where(Pass.driver_id.in_(drivers))))
    if enterprise := get("enterprise_id"):
        stmt = stmt.where(Trip.enterprise_id == id_filter(enterprise, "enterprise_id"))
    if checkpoint := get("checkpoint_id"):
        checkpoint_id = id_filter(checkpoint, "checkpoint_id")
        stmt = stmt.where(
            exists().where(Scan.trip_id == Trip.id, Scan.checkpoint_id == checkpoint_id)
        )
    if state := get("state"):
        if state == INSIDE:  # every open trip: the vehicles inside the jurisdiction now
            stmt = stmt.where(Trip.state.in_([str(s) for s in OPEN_STATES]))
        else:
            stmt = stmt.where(Trip.state == choice(state, {*TripState, INSIDE}, "state"))
    if kind := get("anomaly"):
        kind = choice(kind, set(AnomalyKind), "anomaly")
        stmt = stmt.where(exists().where(Anomaly.trip_id == Trip.id, Anomaly.kind == kind))
    if start := get("from"):
        stmt = stmt.where(Trip.opened_at >= moment(start, "from", tz, end=False))
    if end := get("to"):
        stmt = stmt.where(Trip.opened_at <= moment(end, "to", tz, end=True))
    sort = choice(get("sort") or "newest", set(SORTS), "sort")
    return stmt.order_by(*SORTS[sort])


def id_filter(raw: str, name: str) -> int:
    """An id typed into a filter: a whole number an INTEGER column can hold."""
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:  # an INTEGER column
        raise ValidationFailed.one(name, N_("Enter a whole number."))
    return int(raw)


REFUSED_SHOWN = 200


def refused(session: Any, passes: list[Pass]) -> list[Scan]:
    """The latest scans that refused these passes (scoped already: the caller's passes),
    newest first: a revoked pass tried again and again shows in its history."""
    if not passes:
        return []
    return list(
        session.scalars(
            select(Scan)
            .where(Scan.pass_id.in_([p.id for p in passes]), Scan.decision == "deny")
            .options(selectinload(Scan.checkpoint))
            .order_by(Scan.id.desc())
            .limit(REFUSED_SHOWN)
        )
    )
