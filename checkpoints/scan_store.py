"""The scan path's storage: its Core statements, built once and run past SQLAlchemy's
per-execution work (core/prepared.py); the unit of work they run in is scan_writes.py.

Over 300 lines on purpose: every speed trick of the hot path is here and nowhere else (one
joined read before anything is locked, the pass row locked and read with its open trip,
the few writes, one pooled connection instead of a Session), so they can be read, measured
and replaced together. What a scan means is decided in domain.py; the use case that joins
the two is scanning.py.

Before anything is locked: the caller (from the token cache), the signature (cached trust
list) and one read (`read_before`) answering a retried scan_id and finding the checkpoint
and the caller's assignment. Then the write transaction: the pass and what the verdict
shows (its row locked), its open trip, the decision, and its few writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from accounts.domain import Role, scans
from accounts.models import Enterprise
from checkpoints import events
from checkpoints.bookings import MATCH, SLOT, Status
from checkpoints.domain import OPEN_STATES, AnomalyKind, Event, Outcome, Place, TripState
from checkpoints.models import (
    SCAN_MOMENT,
    Anomaly,
    Booking,
    Checkpoint,
    Scan,
    Trip,
    officer_checkpoint,
)
from checkpoints.scan_writes import Writes
from core import audit
from core.prepared import Prepared
from fleet.models import Driver, Vehicle
from passes.models import Pass

_pass, _trip, _scan = Pass.__table__, Trip.__table__, Scan.__table__
_anomaly, _checkpoint, _booking = Anomaly.__table__, Checkpoint.__table__, Booking.__table__
_vehicle, _driver = Vehicle.__table__, Driver.__table__
_applicant, _destination = Enterprise.__table__.alias("applicant"), Enterprise.__table__.alias()
_caller_enterprise, _co_driver = Enterprise.__table__.alias("caller_enterprise"), _driver.alias()
_one = select(literal(1).label("one")).subquery("one")

# A retry's first answer, the checkpoint, and whether the caller is assigned to it.
BEFORE = Prepared(
    select(
        _scan.c.officer_id.label("first_officer"),
        _scan.c.response.label("first_response"),
        _checkpoint.c.id,
        _checkpoint.c.code,
        _checkpoint.c.name,
        _checkpoint.c.kind,
        _checkpoint.c.enterprise_id,
        _checkpoint.c.active,
        exists()
        .where(
            officer_checkpoint.c.user_id == bindparam("user_id"),
            officer_checkpoint.c.checkpoint_id == _checkpoint.c.id,
        )
        .label("officer_assigned"),
        select(_caller_enterprise.c.status)
        .where(_caller_enterprise.c.id == bindparam("enterprise_id"))
        .scalar_subquery()
        .label("caller_status"),
    ).select_from(
        _one.outerjoin(_scan, _scan.c.scan_id == bindparam("scan_id")).outerjoin(
            _checkpoint, _checkpoint.c.id == bindparam("checkpoint_id")
        )
    )
)

# The pass's booking at this checkpoint nearest the scan (checkpoints/bookings.py): its
# earliest hour still waiting within MATCH of the scan, read with the pass.
_current = _booking.c.slot_start > bindparam("booked_current")
_slot_latest = _booking.c.slot_start.desc()
_booked = (
    select(_booking.c.id, _booking.c.slot_start)
    .where(
        _booking.c.pass_id == _pass.c.id,
        _booking.c.checkpoint_id == bindparam("checkpoint_id"),
        _booking.c.status == str(Status.BOOKED),
        _booking.c.slot_start >= bindparam("booked_from"),
        _booking.c.slot_start <= bindparam("booked_to"),
    )
    # The booking nearest the scan: the first whose hour is not over, else the last missed
    # (an old booking left unkept must not stand in for today's).
    .order_by(case((_current, 0), else_=1), case((_current, _booking.c.slot_start)), _slot_latest)
    .limit(1)
)
_PASS_COLUMNS = (
    _pass.c.id,
    _pass.c.number,
    _pass.c.status,
    _pass.c.enterprise_id,
    _pass.c.valid_from,
    _pass.c.valid_until,
    _pass.c.max_trips,
    _pass.c.trips_used,
    _pass.c.destination_enterprise_id,
    _pass.c.route_checkpoint_ids,
    _pass.c.station_ids,
    _pass.c.cargo,
    _pass.c.category,
    _vehicle.c.plate,
    _driver.c.name.label("driver_name"),
    _applicant.c.status.label("enterprise_status"),
    func.coalesce(_pass.c.destination_name, _destination.c.name).label("destination_name"),
    _pass.c.issuer_area_code,
    # whom an entry tells (supervision/consignees.py), read with the pass: no read more
    _destination.c.status.label("destination_status"),
    _destination.c.contact_phone.label("destination_phone"),
    # the crew's whitelist (fleet/crews.py): until when the driver and co-driver are on it
    _driver.c.whitelist_until.label("driver_listed_until"),
    _pass.c.co_driver_id,
    _co_driver.c.whitelist_until.label("co_driver_listed_until"),
    _booked.with_only_columns(_booking.c.id).scalar_subquery().label("booking_id"),
    _booked.with_only_columns(_booking.c.slot_start).scalar_subquery().label("booking_slot"),
)
_PASS_FROM = (
    _pass.join(_vehicle, _vehicle.c.id == _pass.c.vehicle_id)
    .join(_driver, _driver.c.id == _pass.c.driver_id)
    .join(_applicant, _applicant.c.id == _pass.c.enterprise_id)
    .join(_destination, _destination.c.id == _pass.c.destination_enterprise_id)
    .outerjoin(_co_driver, _co_driver.c.id == _pass.c.co_driver_id)
)
_OPEN_TRIP_COLUMNS = (
    _trip.c.id.label("trip_id"),
    _trip.c.seq.label("trip_seq"),
    _trip.c.state.label("trip_state"),
    _trip.c.arrived_at.label("trip_arrived_at"),
    _trip.c.entered_at.label("trip_entered_at"),
    _trip.c.entry_checkpoint_id.label("trip_entry_checkpoint_id"),
    _trip.c.opened_at.label("trip_opened_at"),
)
_is_open = or_(*(_trip.c.state == str(s) for s in OPEN_STATES))  # no expanding IN: Prepared
# SQLite: the transaction holds the database's write lock, so one joined read sees the
# pass and its open trip as they stand.
_PASS_AND_TRIP = select(*_PASS_COLUMNS, *_OPEN_TRIP_COLUMNS).select_from(
    _PASS_FROM.outerjoin(_trip, and_(_trip.c.pass_id == _pass.c.id, _is_open))
)
# PostgreSQL: the pass row is locked first. The open trip is read by a second statement:
# a row lock waited for re-reads the locked row only, so a trip opened by the scan that
# held the lock would be missing from a join in the same statement.
_PASS_LOCKED = select(*_PASS_COLUMNS).select_from(_PASS_FROM).with_for_update(of=_pass)
OPEN_TRIP = Prepared(
    select(*_OPEN_TRIP_COLUMNS).where(_trip.c.pass_id == bindparam("pass_id"), _is_open)
)
# A pass is named by our id (our codes: never a peer's pass kept here), by the issuer's
# reference "<area code>/<id>" (a peer's code), or by its number (typed by hand).
_NAMED_BY = {
    "id": and_(_pass.c.id == bindparam("key"), _pass.c.issuer_ref.is_(None)),
    "peer": _pass.c.issuer_ref == bindparam("key"),
    "number": _pass.c.number == bindparam("key"),
}
PASS_BY = {by: Prepared(_PASS_AND_TRIP.where(named)) for by, named in _NAMED_BY.items()}
PASS_LOCKED_BY = {by: Prepared(_PASS_LOCKED.where(named)) for by, named in _NAMED_BY.items()}
_NO_TRIP = {column.name: None for column in _OPEN_TRIP_COLUMNS}
_annulment = _scan.alias("annulment")


# The pass's latest standing allowed event at this checkpoint that happened within the
# window around `at` (both sides: an upload of an older scan repeats nothing newer): a read
# again within REPEAT_SCAN_SECONDS is its repeat.
LAST_HERE = Prepared(
    select(_scan.c.id, _scan.c.scan_id, _scan.c.trip_id, _scan.c.response)
    .where(
        _scan.c.pass_id == bindparam("pass_id"),
        _scan.c.checkpoint_id == bindparam("checkpoint_id"),
        _scan.c.decision == "allow",
        or_(*(_scan.c.event == str(e) for e in Event)),
        bindparam("since") <= SCAN_MOMENT,
        bindparam("until") >= SCAN_MOMENT,
        ~exists().where(_annulment.c.annuls_id == _scan.c.id),
    )
    .order_by(_scan.c.id.desc())
    .limit(1)
)


def _insert(table: Any, *columns: str) -> Prepared:
    values = {c: bindparam(c) for c in columns}
    return Prepared(table.insert().values(values).returning(table.c.id))


_SCAN_WRITES = ("scan_id", "pass_id", "trip_id", "checkpoint_id", "officer_id", "event")
_SCAN_WRITES += ("decision", "reasons", "direction", "scanned_at", "recorded_at", "offline")
SCAN_INSERT = _insert(_scan, *_SCAN_WRITES, "response")
PASS_COUNT_TRIP = Prepared(
    _pass.update()
    .where(_pass.c.id == bindparam("pass_id"))
    .values(trips_used=_pass.c.trips_used + 1)
)


def _trip_update(*columns: str) -> Prepared:
    values = {c: bindparam(c) for c in columns}
    return Prepared(_trip.update().where(_trip.c.id == bindparam("trip_id")).values(values))


_TRIP_CLOSE = _trip_update("state")
BOOKING_ARRIVED = Prepared(
    _booking.update()
    .where(_booking.c.id == bindparam("booking_id"))
    .values(status=str(Status.ARRIVED), arrived_at=bindparam("at"), trip_id=bindparam("trip"))
)
TRIP_STOP = Prepared(
    _trip.update().where(_trip.c.id == bindparam("trip_id")).values(stops=_trip.c.stops + 1)
)


def _anomaly_insert(dialect: str) -> Prepared:
    """Adds an anomaly once per trip and kind; returns its id only when it is new."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = ("trip_id", "pass_id", "enterprise_id", "kind", "detected_at")
    return Prepared(
        insert(_anomaly)
        .values({c: bindparam(c) for c in columns})
        .on_conflict_do_nothing(index_elements=["trip_id", "kind"])
        .returning(_anomaly.c.id)
    )


ANOMALY_INSERT = {name: _anomaly_insert(name) for name in ("postgresql", "sqlite")}

_STAMPS = {
    Event.ENTRY: ("entered_at", "entry_checkpoint_id", TripState.ENTERED),
    Event.ARRIVAL: ("arrived_at", "arrival_checkpoint_id", TripState.ARRIVED),
    Event.EXIT: ("exited_at", "exit_checkpoint_id", TripState.EXITED),
}
TRIP_STAMP = {event: _trip_update(*columns[:2], "state") for event, columns in _STAMPS.items()}
_TRIP_OPENS = ("pass_id", "enterprise_id", "destination_enterprise_id", "plate", "seq", "state")
_TRIP_OPENS += ("opened_at", "stops")  # every column named: Prepared fills no defaults
# A new trip, stamped with the event that opened it (or none: an exit that opens no trip)
TRIP_INSERT = {
    event: _insert(_trip, *_TRIP_OPENS, *(columns[:2] if columns else ()))
    for event, columns in (*_STAMPS.items(), (None, None))
}
_RECORDED = Prepared(
    select(_scan.c.officer_id, _scan.c.response).where(_scan.c.scan_id == bindparam("scan_id"))
)


@dataclass(frozen=True)
class Before:
    first: tuple[int, dict[str, Any]] | None  # a retry: who scanned it first, and the answer
    place: Place | None
    code: str
    active: bool
    assigned: bool
    may_scan: bool = True  # False: the caller's enterprise is not approved (or suspended)
    name: str = ""  # the checkpoint's


def read_before(connection: Connection, user: Any, checkpoint_id: int, scan_id: str) -> Before:
    values = {
        "user_id": user.id,
        "scan_id": scan_id,
        "checkpoint_id": checkpoint_id,
        "enterprise_id": user.enterprise_id,
    }
    (row,) = BEFORE(connection, **values)
    first = (row.first_officer, row.first_response) if row.first_officer is not None else None
    may_scan = scans(user.role, row.caller_status)
    if row.id is None:
        return Before(first, None, "", False, False, may_scan)
    place = Place(row.id, row.kind, row.enterprise_id)
    if user.role == Role.ENTERPRISE:
        assigned = row.kind == "site" and row.enterprise_id == user.enterprise_id
    else:
        assigned = bool(row.officer_assigned)
    return Before(first, place, row.code, bool(row.active), assigned, may_scan, row.name)


def last_here(
    connection: Connection, pass_id: int, checkpoint_id: int, at: datetime, window: timedelta
) -> Any:
    """The allowed scan a read of this pass here at `at` repeats, or None."""
    found = LAST_HERE(
        connection,
        pass_id=pass_id,
        checkpoint_id=checkpoint_id,
        since=at - window,
        until=at + window,
    )
    return found[0] if found else None


def read_pass(connection: Connection, by: str, key: Any, checkpoint_id: int, at: datetime) -> Any:
    """The pass row, its open trip (columns trip_*) and its booking here around `at`
    (booking_*), the pass locked; None if missing."""
    near = {
        "checkpoint_id": checkpoint_id,
        "booked_from": at - MATCH - SLOT,
        "booked_to": at + MATCH,
        "booked_current": at - SLOT,
    }
    if connection.dialect.name != "postgresql":
        found = PASS_BY[by](connection, key=key, **near)
        return found[0] if found else None
    found = PASS_LOCKED_BY[by](connection, key=key, **near)
    if not found:
        return None
    trip = OPEN_TRIP(connection, pass_id=found[0].id)
    return SimpleNamespace(**found[0]._asdict(), **(trip[0]._asdict() if trip else _NO_TRIP))


def recorded(connection: Connection, scan_id: str) -> tuple[int, dict[str, Any]] | None:
    """Who recorded this scan_id, and the answer they got; None if nobody did."""
    found = _RECORDED(connection, scan_id=scan_id)
    return (found[0].officer_id, found[0].response) if found else None


@dataclass
class TripNow:
    id: int
    seq: int | None
    state: str


def _stamp_values(event: str, at: datetime, checkpoint_id: int) -> dict[str, Any]:
    moment, where, state = _STAMPS[Event(event)]
    return {moment: at, where: checkpoint_id, "state": str(state)}


def _add_anomaly(
    writes: Writes, connection: Connection, row: Any, trip_id: int, kind: str, now: datetime
) -> None:
    values = {
        "trip_id": trip_id,
        "pass_id": row.id,
        "enterprise_id": row.enterprise_id,
        "kind": str(kind),
        "detected_at": now,
    }
    added = ANOMALY_INSERT[connection.dialect.name](connection, **values)
    if added:
        anomaly = Anomaly(id=added[0].id, **values)
        events.anomaly_raised.send(anomaly, session=writes.session(), now=now)


def write_trip(
    writes: Writes,
    connection: Connection,
    row: Any,
    outcome: Outcome,
    before: Before,
    at: datetime,
) -> TripNow | None:
    """The trip changes the outcome implies (its anomalies too) at the checkpoint `before`
    found; the trip as it stands."""
    checkpoint_id = before.place.id if before.place else 0
    trip = TripNow(row.trip_id, row.trip_seq, row.trip_state) if row.trip_id else None
    # A scan uploaded late (offline) from before the open trip began is not of that trip:
    # its refusal or stop is recorded on the scan alone.
    open_then = trip is not None and row.trip_opened_at <= at
    if not outcome.allowed:
        if not open_then or not outcome.anomalies:
            return None
        for kind in outcome.anomalies:  # a stop at a station the pass does not name
            _add_anomaly(writes, connection, row, trip.id, kind, at)
        return trip  # the refusal is recorded on the trip it happened in
    stamped = outcome.event in _STAMPS and outcome.stamps
    stamp = _stamp_values(str(outcome.event), at, checkpoint_id) if stamped else {}
    if outcome.closes_previous and trip is not None:
        _TRIP_CLOSE(connection, trip_id=trip.id, state=str(TripState.EXITED))
        _add_anomaly(writes, connection, row, trip.id, AnomalyKind.NO_EXIT, at)
    if outcome.opens_trip:
        seq = None
        if outcome.counts_trip:
            PASS_COUNT_TRIP(connection, pass_id=row.id)
            seq = row.trips_used + 1
        values = {
            "pass_id": row.id,
            "enterprise_id": row.enterprise_id,
            "destination_enterprise_id": row.destination_enterprise_id,
            "plate": row.plate,
            "seq": seq,
            "state": str(TripState.ENTERED),
            "opened_at": at,
            "stops": 0,
            **stamp,
        }
        (inserted,) = TRIP_INSERT[Event(outcome.event) if stamp else None](connection, **values)
        trip = TripNow(inserted.id, seq, values["state"])
    elif trip is not None and stamp:
        if outcome.event == Event.ENTRY and trip.state == TripState.ARRIVED:
            stamp["state"] = str(TripState.ARRIVED)  # the entry it lacked; it has arrived
        TRIP_STAMP[Event(outcome.event)](connection, trip_id=trip.id, **stamp)
        trip.state = stamp["state"]
    elif trip is not None and outcome.event == Event.STOP:
        if not open_then:
            return None
        TRIP_STOP(connection, trip_id=trip.id)
    if trip is None:
        return None  # a stop uploaded from outside any trip: the scan alone records it
    for kind in outcome.anomalies:
        _add_anomaly(writes, connection, row, trip.id, kind, at)
    if stamp and outcome.event == Event.ENTRY and row.booking_id is not None:
        BOOKING_ARRIVED(connection, booking_id=row.booking_id, at=at, trip=trip.id)
    if stamp and outcome.event == Event.ENTRY:
        entered = SimpleNamespace(
            trip_id=trip.id,
            pass_id=row.id,
            number=row.number,
            plate=row.plate,
            destination_enterprise_id=row.destination_enterprise_id,
            destination_status=row.destination_status,
            destination_phone=row.destination_phone,
            gate=before.name,
            code=before.code,
            at=at,
        )
        events.truck_entered.send(entered, connection=connection, now=at)
    return trip


def insert_scan(
    connection: Connection, *, audited: dict[str, Any], now: datetime, **values: Any
) -> int:
    """The scan's row (`values`, every column of SCAN_INSERT) and its audit entry
    (`audited`: what the log keeps of it), in the write transaction; the row's id."""
    ((scan_pk,),) = SCAN_INSERT(connection, recorded_at=now, **values)
    audit.append(
        connection,
        actor_id=values["officer_id"],
        action=audit.Action.SCAN_ALLOW if values["decision"] == "allow" else audit.Action.SCAN_DENY,
        object_type="scan",
        object_id=scan_pk,
        data=audited,
        now=now,
    )
    return scan_pk
