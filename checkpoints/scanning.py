"""Recording scans: the hot path. One transaction per scan: idempotency check, pass row
lock, the pure decision, trip and anomaly changes, the immutable scan row, the audit entry."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

import audit
from accounts.domain import EnterpriseStatus, Role
from accounts.models import User
from checkpoints import events
from checkpoints.domain import (
    OPEN_STATES,
    AnomalyKind,
    Event,
    LivePass,
    OpenTrip,
    Outcome,
    Place,
    TripState,
    decide,
    may_annul,
    offline_outcome,
    replay,
)
from checkpoints.models import Anomaly, Checkpoint, Scan, Trip, officer_checkpoint
from checkpoints.schemas import ScanIn, ScanOut, ScanPass, ScanTrip
from errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from fleet.domain import normalise_plate
from passes.models import Pass
from trust import tokens


def _is_assigned(session: Session, user: User, checkpoint: Checkpoint) -> bool:
    if user.role == Role.ENTERPRISE:
        return checkpoint.kind == "site" and checkpoint.enterprise_id == user.enterprise_id
    return bool(
        session.scalar(
            select(officer_checkpoint.c.user_id).where(
                officer_checkpoint.c.user_id == user.id,
                officer_checkpoint.c.checkpoint_id == checkpoint.id,
            )
        )
    )


def _locked_pass(session: Session, **where: Any) -> Pass | None:
    """The pass with what the verdict shows, its row locked against concurrent scans."""
    stmt = (
        select(Pass)
        .filter_by(**where)
        .options(
            joinedload(Pass.vehicle, innerjoin=True),
            joinedload(Pass.driver, innerjoin=True),
            joinedload(Pass.destination, innerjoin=True),
            joinedload(Pass.enterprise, innerjoin=True),
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Pass)
    return session.scalars(stmt).unique().one_or_none()


def _find_pass(
    session: Session, data: ScanIn, keys: dict[int, tokens.TrustedKey], now: datetime
) -> tuple[Pass | None, str | None]:
    """The scanned pass, or the reason it cannot be trusted."""
    if data.code:
        token = tokens.token_from_text(data.code)
        if token is None:
            return None, "malformed"
        try:
            claims = tokens.verify(token, keys, now)
        except tokens.TokenRejected as exc:
            return None, exc.reason
        found = _locked_pass(session, id=claims.pass_id)
        if found is not None and found.vehicle.plate != claims.plate:
            return None, "bad_signature"
        return found, None
    # Manual entry: the number and the plate must both match.
    try:
        plate = normalise_plate(data.plate or "")
    except ValueError:
        return None, "not_found"
    found = _locked_pass(session, number=(data.number or "").strip())
    if found is None or found.vehicle.plate != plate:
        return None, "not_found"
    return found, None


def _live(p: Pass) -> LivePass:
    return LivePass(
        id=p.id,
        status=p.status,
        valid_from=p.valid_from,
        valid_until=p.valid_until,
        max_trips=p.max_trips,
        trips_used=p.trips_used,
        destination_enterprise_id=p.destination_enterprise_id,
        route=tuple(p.route_checkpoint_ids or ()),
        enterprise_suspended=p.enterprise.status == EnterpriseStatus.SUSPENDED,
    )


def _open_trip(session: Session, pass_id: int) -> Trip | None:
    return session.scalars(
        select(Trip).where(Trip.pass_id == pass_id, Trip.state.in_(OPEN_STATES))
    ).one_or_none()


def _stamp(trip: Trip, event: str, at: datetime, checkpoint_id: int) -> None:
    if event == Event.ENTRY:
        trip.entered_at, trip.entry_checkpoint_id, trip.state = at, checkpoint_id, TripState.ENTERED
    elif event == Event.ARRIVAL:
        trip.arrived_at, trip.arrival_checkpoint_id = at, checkpoint_id
        trip.state = TripState.ARRIVED
    elif event == Event.EXIT:
        trip.exited_at, trip.exit_checkpoint_id, trip.state = at, checkpoint_id, TripState.EXITED


def raise_anomaly(session: Session, trip: Trip, kind: str, now: datetime) -> Anomaly | None:
    """Add an anomaly once per trip and kind; None when it was already raised."""
    exists = session.scalar(
        select(Anomaly.id).where(Anomaly.trip_id == trip.id, Anomaly.kind == kind)
    )
    if exists:
        return None
    anomaly = Anomaly(
        trip_id=trip.id,
        pass_id=trip.pass_id,
        enterprise_id=trip.enterprise_id,
        kind=kind,
        detected_at=now,
    )
    session.add(anomaly)
    session.flush()
    events.anomaly_raised.send(anomaly, session=session, now=now)
    return anomaly


def _apply(
    session: Session,
    p: Pass,
    open_trip: Trip | None,
    outcome: Outcome,
    checkpoint_id: int,
    now: datetime,
) -> Trip | None:
    if not outcome.allowed:
        return None
    trip = open_trip
    if outcome.closes_previous and open_trip is not None:
        open_trip.state = TripState.EXITED
        raise_anomaly(session, open_trip, AnomalyKind.NO_EXIT, now)
        session.flush()
    if outcome.opens_trip:
        if outcome.counts_trip:
            p.trips_used += 1
        trip = Trip(
            pass_id=p.id,
            enterprise_id=p.enterprise_id,
            plate=p.vehicle.plate,
            seq=p.trips_used if outcome.counts_trip else None,
            state=TripState.ENTERED,
            opened_at=now,
        )
        session.add(trip)
    if trip is not None and outcome.event and outcome.stamps:
        _stamp(trip, outcome.event, now, checkpoint_id)
    session.flush()
    for kind in outcome.anomalies:
        raise_anomaly(session, trip, kind, now)
    return trip


def _shows_everything(outcome: Outcome, p: Pass, user: User, checkpoint: Checkpoint) -> bool:
    """An allowed scan shows the whole pass; a denial shows the scanner no more than the
    public status page, unless an officer denies it at the pass's own destination. So a
    rival enterprise with a site of its own learns nothing by scanning others' passes."""
    if outcome.allowed:
        return True
    if user.role == Role.ENTERPRISE:
        return False
    return checkpoint.enterprise_id == p.destination_enterprise_id


def _pass_view(p: Pass, full: bool) -> ScanPass:
    if not full:  # what GET /P/<token> shows
        return ScanPass(
            number=p.number,
            plate=p.vehicle.plate,
            driver_name=p.driver.name_masked,
            destination_enterprise=p.destination.name,
            valid_until=p.valid_until,
        )
    return ScanPass(
        id=p.id,
        number=p.number,
        plate=p.vehicle.plate,
        driver_name=p.driver.name,
        cargo=p.cargo,
        category=p.category,
        destination_enterprise=p.destination.name,
        valid_until=p.valid_until,
        max_trips=p.max_trips,
        trips_used=p.trips_used,
    )


def _response(
    data: ScanIn,
    outcome: Outcome,
    p: Pass | None,
    trip: Trip | None,
    now: datetime,
    *,
    full: bool,
) -> dict[str, Any]:
    return ScanOut(
        scan_id=str(data.scan_id),
        decision=outcome.decision,
        event=outcome.event,
        reasons=list(outcome.reasons),
        anomalies=list(outcome.anomalies),
        pass_=_pass_view(p, full) if p is not None else None,
        trip=ScanTrip(id=trip.id, seq=trip.seq, state=trip.state) if trip else None,
        recorded_at=now,
    ).model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class DeviceVerdict:
    """What a phone offline decided, and when by its clock."""

    decision: str  # allow | deny
    event: str | None
    at: datetime


# A device time this far ahead of the server's, or this far behind (longer than a phone
# plausibly holds a queue), is kept but flagged on the scan.
CLOCK_FLAG = timedelta(minutes=5)
QUEUE_FLAG = timedelta(days=7)


def record_scan(
    session: Session,
    user: User,
    data: ScanIn,
    *,
    keys: dict[int, tokens.TrustedKey],
    now: datetime,
    device: DeviceVerdict | None = None,
) -> dict[str, Any]:
    """Decide and record one scan; the same scan_id again returns the first answer.

    With `device` (an offline scan synced later) the decision is the server's at the
    device's time, and the scan is recorded as the phone decided it (domain.offline_outcome):
    trips are stamped with the device's time, conflicts raise `offline_conflict`."""
    scan_id = str(data.scan_id)
    if not data.code and not (data.number and data.plate):
        raise ValidationFailed.one("code", N_("Scan a code, or enter the pass number and plate."))
    # A retry is answered from the stored scan before anything is verified, locked or
    # written; two copies racing each other meet at the scan's unique index below.
    first = _recorded(session, scan_id, user)
    if first is not None:
        return first
    checkpoint = session.get(Checkpoint, data.checkpoint_id)
    if checkpoint is None or not checkpoint.active:
        raise ValidationFailed.one("checkpoint_id", N_("No such checkpoint."))
    at = device.at if device else now  # when it happened
    assigned = _is_assigned(session, user, checkpoint)
    # The signature is judged with today's trust list (a phone clock a little behind must
    # not make a fresh key look unknown); validity, with the time the scan happened.
    p, token_reason = _find_pass(session, data, keys, now) if assigned else (None, None)
    open_trip = _open_trip(session, p.id) if p is not None else None
    live = _live(p) if p is not None else None
    seen_trip = (
        OpenTrip(open_trip.id, open_trip.seq, open_trip.arrived_at is not None)
        if open_trip
        else None
    )
    outcome = decide(
        token_reason=token_reason,
        live=live,
        open_trip=seen_trip,
        place=Place(checkpoint.id, checkpoint.kind, checkpoint.enterprise_id),
        now=at,
        assigned=assigned,
        direction=data.direction,
        deny_reason=data.deny_reason,
    )
    if device is not None:
        outcome = offline_outcome(
            outcome,
            device_decision=device.decision,
            device_event=device.event,
            live=live,
            open_trip=seen_trip,
        )
    reasons = list(outcome.reasons)
    if device is not None:
        if p is None and outcome.allowed:  # a phone let through what the server cannot find
            outcome = replace(outcome, decision="deny", event=None, anomalies=())
            reasons = [token_reason or "not_found", "offline_conflict"]
        if device.at - now > CLOCK_FLAG or now - device.at > QUEUE_FLAG:
            reasons.append("device_clock")
    trip = _apply(session, p, open_trip, outcome, checkpoint.id, at) if p is not None else None
    full = p is not None and _shows_everything(outcome, p, user, checkpoint)
    response = _response(data, replace(outcome, reasons=tuple(reasons)), p, trip, now, full=full)
    response["offline"] = device is not None  # (ScanOut.offline)
    scan = Scan(
        scan_id=scan_id,
        pass_id=p.id if p else None,
        trip_id=trip.id if trip else None,
        checkpoint_id=checkpoint.id,
        officer_id=user.id,
        event=outcome.event or "none",
        decision=outcome.decision,
        reasons=reasons,
        direction=data.direction,
        scanned_at=data.scanned_at or now,
        recorded_at=now,
        offline=device is not None,
        response=response,
    )
    session.add(scan)
    try:
        session.flush()
        audit.record(
            session,
            actor_id=user.id,
            action=f"scan.{outcome.decision}",
            object_type="scan",
            object_id=scan.id,
            data={
                "checkpoint": checkpoint.code,
                "event": outcome.event,
                "pass": p.id if p else None,
                "reasons": list(outcome.reasons),
            },
            now=now,
        )
        session.commit()
    except IntegrityError:
        # The same scan_id committed meanwhile (the same scan sent twice at once): answer
        # as the first time. Any other clash wrote nothing and is the scanner's to retry.
        session.rollback()
        first = _recorded(session, scan_id, user)
        if first is None:
            message = N_("The pass changed while this scan was recorded; scan again.")
            raise Conflict(message) from None
        return first
    return response


def _recorded(session: Session, scan_id: str, user: User) -> dict[str, Any] | None:
    """The answer given to `scan_id`, only for the scanner who sent it."""
    found = session.execute(
        select(Scan.officer_id, Scan.response).where(Scan.scan_id == scan_id)
    ).one_or_none()
    if found is None:
        return None
    if found.officer_id != user.id:
        raise Conflict(N_("This scan_id was already used by another scanner."))
    return found.response


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
        action="scan.annul",
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
