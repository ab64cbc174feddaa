"""Corrections to the gate's record: a mistaken scan is annulled by a new record (never
edited or deleted), and its pass's trips replayed from the scans that stand
(domain.replay): as if the annulled scan had never happened. "Wrong direction" is an
annulment and the other direction's scan, in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.domain import Role
from accounts.models import User
from checkpoints import scanners, scanning
from checkpoints.bookings import Status as BookingStatus
from checkpoints.domain import (
    AUTO_RESOLVED,
    OPEN_STATES,
    REPLAYED_KINDS,
    AnnulReason,
    AnomalyKind,
    Event,
    Kind,
    Replayed,
    TripState,
    may_annul,
    owed_anomalies,
    redo_direction,
    replay,
)
from checkpoints.models import SCAN_MOMENT, Anomaly, Booking, Checkpoint, Scan, Trip
from checkpoints.schemas import ScanIn
from checkpoints.services import raise_anomaly
from core import audit
from core.errors import N_, Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from passes.models import Pass
from trust import tokens


def annul_scan(
    session: Session,
    user: User,
    scan_id: str,
    reason: str,
    *,
    now: datetime,
    note: str | None = None,
    commit: bool = True,
) -> Scan:
    """Correct a mistaken scan with a new record; the pass's trips are replayed from what
    stands, anomalies whose cause is gone are resolved, the trip count is given back."""
    target = session.scalars(select(Scan).where(Scan.scan_id == scan_id)).one_or_none()
    if target is None or target.event == "annul":
        raise NotFound()
    if user.role != Role.SUPERVISOR and target.officer_id != user.id:
        raise NotFound()  # someone else's scan: not theirs to see
    if not scanners.may_scan(session, user):
        raise Forbidden(N_("Your enterprise is not approved (or is suspended): it cannot scan."))
    if not may_annul(
        role=user.role,
        is_scanner=target.officer_id == user.id,
        recorded_at=target.recorded_at,
        now=now,
    ):
        raise Forbidden(
            N_("Only a supervisor, or the officer within ten minutes, may annul a scan.")
        )
    if target.decision != "allow" or target.event not in {e.value for e in Event}:
        raise Conflict(N_("Only an allowed entry, arrival or exit can be annulled."))
    if reason == AnnulReason.OTHER and not note:
        raise ValidationFailed.one("note", N_("Say in the note why the scan is annulled."))
    p = None
    if target.pass_id is not None:
        # The pass row locked, as a scan locks it: a scan and a replay of the same pass
        # follow each other, never interleave.
        p = session.get(Pass, target.pass_id, with_for_update=True, populate_existing=True)
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
        reasons=[str(reason)],
        annuls_id=target.id,
        note=note,
        scanned_at=now,
        recorded_at=now,
        response={"pass": {"plate": target.plate}},  # which vehicle, in the scanners' list
    )
    session.add(annulment)
    session.flush()
    if p is not None:
        replay_pass(session, p, now=now)
    audit.record(
        session,
        actor_id=user.id,
        action=audit.Action.SCAN_ANNUL,
        object_type="scan",
        object_id=target.id,
        data={"reason": str(reason), "note": bool(note)},
        now=now,
    )
    if commit:
        session.commit()
    return annulment


def correct(
    session: Session,
    user: User,
    scan_id: str,
    reason: str,
    *,
    note: str | None,
    keys: dict[int, tokens.TrustedKey],
    clock: Callable[[], datetime],
    settings: scanning.ScanSettings,
) -> tuple[Scan, dict[str, Any] | None]:
    """Annul the scan; for "wrong direction" at a gate, record the other direction in the
    same transaction (as the scanner's own manual entry of the pass). Returns the
    annulment and the new scan's answer (None when there is none)."""
    now = clock()
    annulment = annul_scan(session, user, scan_id, reason, now=now, note=note, commit=False)
    target = session.get(Scan, annulment.annuls_id)
    if reason != AnnulReason.WRONG_DIRECTION or user.role == Role.SUPERVISOR:
        session.commit()
        return annulment, None
    place = session.get(Checkpoint, target.checkpoint_id)
    direction = redo_direction(target.event)
    if place.kind != Kind.GATE or direction is None:
        session.rollback()
        raise Conflict(N_("Only an entry or an exit at a gate has a wrong direction."))
    p = session.get(Pass, target.pass_id)
    redo = ScanIn(
        scan_id=uuid.uuid4(),  # a new scan; the correction sent again finds it annulled
        checkpoint_id=target.checkpoint_id,
        number=p.number,
        plate=p.vehicle.plate,
        direction=direction,
    )
    # The annulment is flushed and the replay done: the scan is decided on the trips as
    # they stand without the annulled one, and commits them together.
    try:
        recorded = scanning.record(session, user, redo, keys=keys, clock=clock, settings=settings)
    except DomainError:
        session.rollback()  # the annulment goes with the scan it was to be corrected by
        raise
    return annulment, recorded.response


def replay_pass(session: Session, p: Pass, *, now: datetime) -> None:
    """Every trip of the pass from the scans that stand, oldest first: a trip that a later
    standing trip follows is closed (no_exit), a trip with nothing standing is void; the
    counted trips are numbered again 1..n and `trips_used` is their count."""
    session.flush()
    trips = session.scalars(select(Trip).where(Trip.pass_id == p.id).order_by(Trip.id)).all()
    annulled = select(Scan.annuls_id).where(Scan.annuls_id.is_not(None))
    standing = session.execute(
        select(Scan.trip_id, Scan.event, SCAN_MOMENT, Scan.checkpoint_id, Scan.offline)
        .where(
            Scan.pass_id == p.id,
            Scan.decision == "allow",
            Scan.event.in_([e.value for e in Event]),
            Scan.id.not_in(annulled),
        )
        # Ids follow commit order for one pass (its row is locked while a scan is
        # recorded); `recorded_at` need not, as a scan may read the clock, then wait.
        .order_by(Scan.id)
    ).all()
    by_trip: dict[int, list[tuple[str, datetime, int]]] = {t.id: [] for t in trips}
    offline = set()  # trips with a standing offline scan: their conflict stands with it
    for trip_id, event, at, checkpoint_id, synced in standing:
        if trip_id in by_trip:
            by_trip[trip_id].append((event, at, checkpoint_id))
        if synced:
            offline.add(trip_id)
    replayed = {}
    for index, trip in enumerate(trips):
        followed = any(by_trip[later.id] for later in trips[index + 1 :])
        replayed[trip.id] = replay(by_trip[trip.id], followed=followed)
    counted = [t for t in trips if t.seq is not None]
    for trip in counted:
        trip.seq = None  # numbered again below, once the unique (pass, seq) pairs are free
    # Closed and void first: at no moment may two trips of the pass be open.
    for opening in (False, True):
        for trip in trips:
            if (replayed[trip.id].state in OPEN_STATES) == opening:
                _apply(trip, replayed[trip.id])
        session.flush()
    seq = 0
    for trip in counted:
        if trip.state != TripState.VOID:
            seq += 1
            trip.seq = seq
    p.trips_used = seq
    _bookings_unkept(session, trips, now)
    session.flush()
    for trip in trips:
        owed = owed_anomalies(replayed[trip.id])
        if trip.id in offline and trip.state != TripState.VOID:
            owed.add(AnomalyKind.OFFLINE_CONFLICT)
        _reconcile_anomalies(session, trip, owed, now=now)


def _bookings_unkept(session: Session, trips: list[Trip], now: datetime) -> None:
    """A booking kept by an entry that no longer stands (annulled) is booked again, changed
    now (the statistics timer counts its hour's day again)."""
    entered = {t.id: t.entry_checkpoint_id for t in trips if t.entered_at is not None}
    kept = select(Booking).where(
        Booking.trip_id.in_([t.id for t in trips]), Booking.status == BookingStatus.ARRIVED
    )
    for booking in session.scalars(kept):
        if entered.get(booking.trip_id or 0) != booking.checkpoint_id:
            booking.status, booking.arrived_at, booking.trip_id = BookingStatus.BOOKED, None, None
            booking.changed_at = now


def _apply(trip: Trip, result: Replayed) -> None:
    trip.state = result.state
    trip.entered_at, trip.entry_checkpoint_id = result.entered or (None, None)
    trip.arrived_at, trip.arrival_checkpoint_id = result.arrived or (None, None)
    trip.exited_at, trip.exit_checkpoint_id = result.exited or (None, None)
    trip.stops = result.stops


def _reconcile_anomalies(session: Session, trip: Trip, owed: set[str], *, now: datetime) -> None:
    """Resolve, as the system, the open anomalies of the replayed kinds the trip no longer
    owes (all of them, on a void trip), and raise the ones it now owes."""
    anomalies = session.scalars(select(Anomaly).where(Anomaly.trip_id == trip.id)).all()
    kinds = {a.kind for a in anomalies}
    for anomaly in anomalies:
        replayed = anomaly.kind in (*REPLAYED_KINDS, AnomalyKind.OFFLINE_CONFLICT)
        gone = trip.state == TripState.VOID or (replayed and anomaly.kind not in owed)
        if anomaly.resolved_at is not None and anomaly.note == AUTO_RESOLVED and not gone:
            if anomaly.kind in owed:  # its cause stands again (as replayed)
                anomaly.resolved_at, anomaly.note = None, None
        elif anomaly.resolved_at is None and gone:
            anomaly.resolved_at, anomaly.resolved_by_id = now, None
            anomaly.note = AUTO_RESOLVED
            audit.record(
                session,
                actor_id=None,
                action=audit.Action.ANOMALY_RESOLVE,
                object_type="anomaly",
                object_id=anomaly.id,
                data={"kind": anomaly.kind, "by": "replay"},
                now=now,
            )
    for kind in sorted(owed - kinds - {AnomalyKind.OFFLINE_CONFLICT}):  # raised by uploads
        raise_anomaly(session, trip, kind, now)
