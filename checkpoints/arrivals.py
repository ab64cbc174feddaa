"""The consignee's board (货主接引): the passes bound for an enterprise, as it receives them.

Each pass is in one state, from its latest trip: **expected** (approved, valid, a trip left
to make, not inside), **inside** (entered: when, at which gate), **arrived** (at its site,
not yet left), **left** (its latest trip exited, and no trip left to expect; for a week after
its validity ended, LEFT_FOR: older passes are history, on the trips list). The board
starts from the passes that can be on it (still valid or lately, or inside now), so it reads
what the days bring, not every pass the enterprise ever received. The board
reads the passes bound for the caller's own enterprise only (accounts.scoping.bound_for),
and the consignee records who met the truck at the gate (`escort`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select, true, union
from sqlalchemy.orm import Session, aliased, joinedload

from accounts.scoping import bound_for
from checkpoints.bookings import Status as BookingStatus
from checkpoints.domain import OPEN_STATES, TripState
from checkpoints.models import Booking, Checkpoint, Trip
from core import audit
from core.errors import N_, Conflict, NotFound
from fleet.models import Driver, Vehicle
from passes.domain import PassStatus
from passes.models import Pass


class Arrival(StrEnum):
    EXPECTED = "expected"
    INSIDE = "inside"
    ARRIVED = "arrived"
    LEFT = "left"


LIVE = (Arrival.INSIDE, Arrival.ARRIVED, Arrival.EXPECTED)  # the board without a state
_ORDER = {Arrival.INSIDE: 0, Arrival.ARRIVED: 1, Arrival.EXPECTED: 2, Arrival.LEFT: 3}


def _latest_trip() -> Any:
    return (
        select(func.max(Trip.id)).where(Trip.pass_id == Pass.id).correlate(Pass).scalar_subquery()
    )


def _latest(dialect: str) -> tuple[Any, Any]:
    """Each pass's latest trip: its entity, and the ON clause joining it to the pass. On
    PostgreSQL a LATERAL join, one index probe a pass: joined on the trip's id, its planner
    hashed every trip ever opened once a consignee had thousands of passes on its board."""
    if dialect == "postgresql":
        newest = (
            select(Trip)
            .where(Trip.pass_id == Pass.id)
            .order_by(Trip.id.desc())
            .limit(1)
            .correlate(Pass)
            .lateral("latest_trip")
        )
        return aliased(Trip, newest), true()
    latest = aliased(Trip)
    return latest, latest.id == _latest_trip()


def _state(latest: Any, now: datetime) -> Any:
    """The board's state of a pass, in SQL (None: not on the board)."""
    expecting = and_(
        Pass.status == str(PassStatus.APPROVED),
        Pass.valid_until >= now,
        Pass.trips_used < Pass.max_trips,
    )
    return case(
        (latest.state == str(TripState.ENTERED), literal(str(Arrival.INSIDE))),
        (latest.state == str(TripState.ARRIVED), literal(str(Arrival.ARRIVED))),
        (expecting, literal(str(Arrival.EXPECTED))),
        (latest.state == str(TripState.EXITED), literal(str(Arrival.LEFT))),
        else_=None,
    )


@dataclass(frozen=True)
class BoardRow:
    pass_: Pass
    plate: str
    driver_name: str
    state: str
    trip: Trip | None
    entry_checkpoint: str | None
    booking: Booking | None = None  # its latest booking not cancelled (bookings.py)


_SHOWN = (str(PassStatus.APPROVED), str(PassStatus.REVOKED))  # a revoked pass may be inside
LEFT_FOR = timedelta(days=7)


def _on_board(user: Any, now: datetime) -> Any:
    """The passes bound for the caller that can be on the board: valid within LEFT_FOR
    (ix_pass_destination_valid), or with a truck inside now, however old (the open trips
    bound for it, ix_trip_destination_state)."""
    recent = bound_for(select(Pass.id).where(Pass.valid_until >= now - LEFT_FOR), Pass, user)
    # The open trips first, by the state index alone (they are few; SQLite, counting the
    # states evenly, would rather read every trip bound for the enterprise), then theirs.
    opened = aliased(Trip)
    open_ids = select(opened.id).where(opened.state.in_([str(s) for s in OPEN_STATES]))
    inside = bound_for(select(Trip.pass_id).where(Trip.id.in_(open_ids)), Trip, user)
    return Pass.id.in_(union(recent, inside).scalar_subquery())


def _board(user: Any, now: datetime, dialect: str) -> tuple[Select[Any], Any, Any]:
    """The passes bound for the caller with their latest trip: (statement, state, trip)."""
    gate = aliased(Checkpoint)
    latest, joined = _latest(dialect)
    state = _state(latest, now)
    stmt = (
        select(Pass, Vehicle.plate, Driver.name, state.label("state"), latest, gate.name)
        .select_from(Pass)
        .join(Vehicle, Vehicle.id == Pass.vehicle_id)
        .join(Driver, Driver.id == Pass.driver_id)
        .outerjoin(latest, joined)
        .outerjoin(gate, gate.id == latest.entry_checkpoint_id)
        .where(Pass.status.in_(_SHOWN), _on_board(user, now))
    )
    return bound_for(stmt, Pass, user), state, latest


def board(
    session: Session,
    user: Any,
    *,
    states: tuple[str, ...],
    now: datetime,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[BoardRow], int, dict[str, int]]:
    """The passes bound for the caller's enterprise in `states`, inside first, then
    arrived, expected (soonest valid first) and left (latest out first); their count; and
    how many are in each state (one count serves both)."""
    counted = counts(session, user, now=now)
    total = sum(counted[str(s)] for s in states)
    stmt, state, latest = _board(user, now, session.get_bind().dialect.name)
    stmt = stmt.where(state.in_([str(s) for s in states]))
    order = case(*((state == str(s), rank) for s, rank in _ORDER.items()), else_=9)
    rows = session.execute(
        stmt.order_by(
            order,
            latest.entered_at.desc(),
            Pass.valid_from,
            latest.exited_at.desc(),
            Pass.id.desc(),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    booked = _bookings(session, [row[0].id for row in rows])
    shown = [
        BoardRow(p, plate, name, s, trip, at, booked.get(p.id))
        for p, plate, name, s, trip, at in rows
    ]
    return shown, total, counted


def _bookings(session: Session, pass_ids: list[int]) -> dict[int, Booking]:
    """Each pass's latest booking not cancelled, with its gate."""
    if not pass_ids:
        return {}
    found = session.scalars(
        select(Booking)
        .options(joinedload(Booking.checkpoint))
        .where(Booking.pass_id.in_(pass_ids), Booking.status != BookingStatus.CANCELLED)
        .order_by(Booking.id)
    )
    return {b.pass_id: b for b in found}  # the latest last


def counts(session: Session, user: Any, *, now: datetime) -> dict[str, int]:
    """How many passes bound for the caller's enterprise are in each state."""
    latest, joined = _latest(session.get_bind().dialect.name)
    state = _state(latest, now).label("state")
    stmt = bound_for(
        select(state, func.count())
        .select_from(Pass)
        .outerjoin(latest, joined)
        .where(Pass.status.in_(_SHOWN), _on_board(user, now)),
        Pass,
        user,
    ).group_by(state)
    found = {name: n for name, n in session.execute(stmt).all() if name}
    return {str(s): int(found.get(str(s), 0)) for s in Arrival}


def escort(session: Session, trip_id: int, name: str, *, user: Any, now: datetime) -> Trip:
    """Record who received the truck at the gate for the consignee (its own trips only,
    while the truck is inside); recording again replaces the name (the log says when, not whom)."""
    trip = session.scalars(
        select(Trip).where(
            Trip.id == trip_id,
            Trip.destination_enterprise_id == user.enterprise_id,
            or_(Trip.state == str(TripState.ENTERED), Trip.state == str(TripState.ARRIVED)),
        )
    ).one_or_none()
    if trip is None:
        exists = session.scalar(
            select(Trip.id).where(
                Trip.id == trip_id, Trip.destination_enterprise_id == user.enterprise_id
            )
        )
        if exists is None or user.enterprise_id is None:
            raise NotFound()
        raise Conflict(N_("This truck is no longer inside: there is nobody to receive."))
    trip.escort_name, trip.escorted_at, trip.escorted_by_id = name, now, user.id
    audit.record(
        session,
        actor_id=user.id,
        action=audit.Action.TRIP_ESCORT,
        object_type="trip",
        object_id=trip.id,
        data={"trip": trip.id},
        now=now,
    )
    session.commit()
    return trip
