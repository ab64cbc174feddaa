"""Corrections to the gate's record: a mistaken scan is annulled by a new record (never
edited or deleted), and its trip replayed from the scans that stand (domain.replay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.domain import Role
from accounts.models import User
from checkpoints.domain import Event, TripState, may_annul, replay
from checkpoints.models import Scan, Trip
from core import audit
from core.errors import N_, Conflict, Forbidden, NotFound


def annul_scan(session: Session, user: User, scan_id: str, reason: str, *, now: datetime) -> Scan:
    """Correct a mistaken scan with a new record; the trip is replayed from what stands."""
    target = session.scalars(select(Scan).where(Scan.scan_id == scan_id)).one_or_none()
    if target is None or target.event == "annul":
        raise NotFound()
    if user.role != Role.SUPERVISOR and target.officer_id != user.id:
        raise NotFound()  # someone else's scan: not theirs to see
    if not may_annul(
        role=user.role,
        is_scanner=target.officer_id == user.id,
        recorded_at=target.recorded_at,
        now=now,
    ):
        raise Forbidden(
            N_("Only a supervisor, or the officer within ten minutes, may annul a scan.")
        )
    if target.decision != "allow" or target.event == "none":
        raise Conflict(N_("Only an allowed entry, arrival or exit can be annulled."))
    if session.scalar(select(Scan.id).where(Scan.annuls_id == target.id)):
        raise Conflict(N_("This scan is already annulled."))
    annulment = Scan(
        scan_id=f"annul-{target.id}",
        pass_id=target.pass_id,
        trip_id=target.trip_id,
        checkpoint_id=target.checkpoint_id,
        officer_id=user.id,
        event="annul",
        decision="allow",
        reasons=[],
        annuls_id=target.id,
        note=reason,
        scanned_at=now,
        recorded_at=now,
        response={},
    )
    session.add(annulment)
    session.flush()
    if target.trip_id is not None:
        _replay_trip(session, session.get(Trip, target.trip_id))
    audit.record(
        session,
        actor_id=user.id,
        action=audit.Action.SCAN_ANNUL,
        object_type="scan",
        object_id=target.id,
        data={"reason": reason},
        now=now,
    )
    session.commit()
    return annulment


def _replay_trip(session: Session, trip: Trip) -> None:
    annulled = select(Scan.annuls_id).where(Scan.annuls_id.is_not(None))
    standing = session.execute(
        select(Scan.event, Scan.recorded_at, Scan.checkpoint_id)
        .where(
            Scan.trip_id == trip.id,
            Scan.decision == "allow",
            Scan.event.in_([e.value for e in Event]),
            Scan.id.not_in(annulled),
        )
        # Ids follow commit order for one pass (its row is locked while a scan is
        # recorded); `recorded_at` need not, as a scan may read the clock, then wait.
        .order_by(Scan.id)
    ).all()
    result = replay(standing)
    was_void = trip.state == TripState.VOID
    trip.state = result.state
    trip.entered_at, trip.entry_checkpoint_id = result.entered or (None, None)
    trip.arrived_at, trip.arrival_checkpoint_id = result.arrived or (None, None)
    trip.exited_at, trip.exit_checkpoint_id = result.exited or (None, None)
    if result.state == TripState.VOID and not was_void and trip.seq is not None:
        trip.pass_.trips_used = max(0, trip.pass_.trips_used - 1)
