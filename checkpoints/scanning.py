"""Recording scans: the hot path, and the corrections to it (annulment).

One short write transaction per scan (see `record`); the ORM serves everything else."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from accounts.domain import EnterpriseStatus, Role
from accounts.models import Enterprise, User
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
from checkpoints.schemas import ScanIn
from core import audit
from core.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from core.prepared import Prepared
from core.privacy import mask_name
from fleet.models import Driver, Vehicle
from passes.models import Pass
from trust import tokens

log = logging.getLogger(__name__)


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


# ---------------------------------------------------------------------------------------
# The hot path. Core statements, built once; what they read is judged by the pure
# decide(). Before anything is locked: the caller (from the token cache), the signature
# (cached trust list) and one read answering a retried scan_id and finding the checkpoint
# and the caller's assignment. Then the write transaction: the pass and what the verdict
# shows (its row locked), its open trip, the clock, the decision, and its few writes.

_pass, _trip, _scan = Pass.__table__, Trip.__table__, Scan.__table__
_anomaly, _checkpoint = Anomaly.__table__, Checkpoint.__table__
_vehicle, _driver = Vehicle.__table__, Driver.__table__
_applicant, _destination = Enterprise.__table__.alias("applicant"), Enterprise.__table__.alias()
_one = select(literal(1).label("one")).subquery("one")

# A retry's first answer, the checkpoint, and whether the caller is assigned to it.
_BEFORE = Prepared(
    select(
        _scan.c.officer_id.label("first_officer"),
        _scan.c.response.label("first_response"),
        _checkpoint.c.id,
        _checkpoint.c.code,
        _checkpoint.c.kind,
        _checkpoint.c.enterprise_id,
        _checkpoint.c.active,
        exists()
        .where(
            officer_checkpoint.c.user_id == bindparam("user_id"),
            officer_checkpoint.c.checkpoint_id == _checkpoint.c.id,
        )
        .label("officer_assigned"),
    ).select_from(
        _one.outerjoin(_scan, _scan.c.scan_id == bindparam("scan_id")).outerjoin(
            _checkpoint, _checkpoint.c.id == bindparam("checkpoint_id")
        )
    )
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
    _pass.c.cargo,
    _pass.c.category,
    _vehicle.c.plate,
    _driver.c.name.label("driver_name"),
    _applicant.c.status.label("enterprise_status"),
    _destination.c.name.label("destination_name"),
)
_PASS_FROM = (
    _pass.join(_vehicle, _vehicle.c.id == _pass.c.vehicle_id)
    .join(_driver, _driver.c.id == _pass.c.driver_id)
    .join(_applicant, _applicant.c.id == _pass.c.enterprise_id)
    .join(_destination, _destination.c.id == _pass.c.destination_enterprise_id)
)
_OPEN_TRIP_COLUMNS = (
    _trip.c.id.label("trip_id"),
    _trip.c.seq.label("trip_seq"),
    _trip.c.state.label("trip_state"),
    _trip.c.arrived_at.label("trip_arrived_at"),
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
_OPEN_TRIP = Prepared(
    select(*_OPEN_TRIP_COLUMNS).where(_trip.c.pass_id == bindparam("pass_id"), _is_open)
)


def _insert(table: Any, *columns: str) -> Prepared:
    values = {c: bindparam(c) for c in columns}
    return Prepared(table.insert().values(values).returning(table.c.id))


_SCAN_INSERT = _insert(
    _scan,
    "scan_id",
    "pass_id",
    "trip_id",
    "checkpoint_id",
    "officer_id",
    "event",
    "decision",
    "reasons",
    "direction",
    "scanned_at",
    "recorded_at",
    "offline",
    "response",
)
_PASS_COUNT_TRIP = Prepared(
    _pass.update()
    .where(_pass.c.id == bindparam("pass_id"))
    .values(trips_used=_pass.c.trips_used + 1)
)


def _trip_update(*columns: str) -> Prepared:
    values = {c: bindparam(c) for c in columns}
    return Prepared(_trip.update().where(_trip.c.id == bindparam("trip_id")).values(values))


_TRIP_CLOSE = _trip_update("state")


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


_ANOMALY_INSERT = {name: _anomaly_insert(name) for name in ("postgresql", "sqlite")}


@dataclass(frozen=True)
class _Before:
    first: tuple[int, dict[str, Any]] | None
    place: Place | None
    code: str
    active: bool
    assigned: bool


def _before(connection: Connection, user: Any, data: ScanIn, scan_id: str) -> _Before:
    values = {"user_id": user.id, "scan_id": scan_id, "checkpoint_id": data.checkpoint_id}
    (row,) = _BEFORE(connection, **values)
    first = (row.first_officer, row.first_response) if row.first_officer is not None else None
    if row.id is None:
        return _Before(first, None, "", False, False)
    place = Place(row.id, row.kind, row.enterprise_id)
    if user.role == Role.ENTERPRISE:
        assigned = row.kind == "site" and row.enterprise_id == user.enterprise_id
    else:
        assigned = bool(row.officer_assigned)
    return _Before(first, place, row.code, bool(row.active), assigned)


def _answer_retry(first: tuple[int, dict[str, Any]], user: Any) -> dict[str, Any]:
    officer_id, response = first
    if officer_id != user.id:
        raise Conflict(N_("This scan_id was already used by another scanner."))
    return response


def _claims(
    data: ScanIn, keys: dict[int, tokens.TrustedKey], now: datetime
) -> tuple[Any, str | None]:
    """Which pass the scan names (by "id" or "number", and the key), the plate it must
    carry and the reason to give if it does not; or why the code cannot be trusted."""
    if data.code:
        token = tokens.token_from_text(data.code)
        if token is None:
            return None, "malformed"
        try:
            claims = tokens.verify(token, keys, now)
        except tokens.TokenRejected as exc:
            return None, exc.reason
        return ("id", claims.pass_id, claims.plate, "bad_signature"), None
    # Manual entry: the number names the pass; the plate must be its plate, typed with or
    # without the province character (slow to type on a phone).
    typed = PLATE_NOISE.sub("", data.plate or "").upper()  # as fleet.domain stores plates
    if len(typed) < SHORTEST_TAIL:
        return None, "not_found"
    return ("number", (data.number or "").strip(), typed, "plate_mismatch"), None


PLATE_NOISE = re.compile(r"[\s·•.\-]")
SHORTEST_TAIL = 6  # a plate without its province: a letter and five more


def same_plate(actual: str, typed: str, *, manual: bool) -> bool:
    """A signed code must carry the pass's plate exactly; a plate typed by hand may leave
    out the province character when the rest is the pass's."""
    return typed == actual or (manual and typed == actual[1:])


_PASS_BY = {
    "id": Prepared(_PASS_AND_TRIP.where(_pass.c.id == bindparam("key"))),
    "number": Prepared(_PASS_AND_TRIP.where(_pass.c.number == bindparam("key"))),
}
_PASS_LOCKED_BY = {
    "id": Prepared(_PASS_LOCKED.where(_pass.c.id == bindparam("key"))),
    "number": Prepared(_PASS_LOCKED.where(_pass.c.number == bindparam("key"))),
}
_NO_TRIP = {"trip_id": None, "trip_seq": None, "trip_state": None, "trip_arrived_at": None}


def _read_pass(connection: Connection, by: str, key: Any) -> Any:
    """The pass row and its open trip (columns trip_*), the pass locked; None if missing."""
    if connection.dialect.name != "postgresql":
        found = _PASS_BY[by](connection, key=key)
        return found[0] if found else None
    found = _PASS_LOCKED_BY[by](connection, key=key)
    if not found:
        return None
    trip = _OPEN_TRIP(connection, pass_id=found[0].id)
    return SimpleNamespace(**found[0]._asdict(), **(trip[0]._asdict() if trip else _NO_TRIP))


def _live_of(row: Any) -> LivePass:
    return LivePass(
        id=row.id,
        status=row.status,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        max_trips=row.max_trips,
        trips_used=row.trips_used,
        destination_enterprise_id=row.destination_enterprise_id,
        route=tuple(row.route_checkpoint_ids or ()),
        enterprise_suspended=row.enterprise_status == EnterpriseStatus.SUSPENDED,
    )


@dataclass
class _TripNow:
    id: int
    seq: int | None
    state: str


_STAMPS = {
    Event.ENTRY: ("entered_at", "entry_checkpoint_id", TripState.ENTERED),
    Event.ARRIVAL: ("arrived_at", "arrival_checkpoint_id", TripState.ARRIVED),
    Event.EXIT: ("exited_at", "exit_checkpoint_id", TripState.EXITED),
}
_TRIP_STAMP = {event: _trip_update(*columns[:2], "state") for event, columns in _STAMPS.items()}
_TRIP_OPENS = ("pass_id", "enterprise_id", "plate", "seq", "state", "opened_at")
# A new trip, stamped with the event that opened it (or none: an exit that opens no trip)
_TRIP_INSERT = {
    event: _insert(_trip, *_TRIP_OPENS, *(columns[:2] if columns else ()))
    for event, columns in (*_STAMPS.items(), (None, None))
}


def _stamp_values(event: str, at: datetime, checkpoint_id: int) -> dict[str, Any]:
    moment, where, state = _STAMPS[Event(event)]
    return {moment: at, where: checkpoint_id, "state": str(state)}


def _add_anomaly(
    writes: _Writes, connection: Connection, row: Any, trip_id: int, kind: str, now: datetime
) -> None:
    values = {
        "trip_id": trip_id,
        "pass_id": row.id,
        "enterprise_id": row.enterprise_id,
        "kind": str(kind),
        "detected_at": now,
    }
    added = _ANOMALY_INSERT[connection.dialect.name](connection, **values)
    if added:
        anomaly = Anomaly(id=added[0].id, **values)
        events.anomaly_raised.send(anomaly, session=writes.session(), now=now)


def _write_trip(
    writes: _Writes,
    connection: Connection,
    row: Any,
    outcome: Outcome,
    checkpoint_id: int,
    at: datetime,
) -> _TripNow | None:
    """The trip changes the outcome implies (its anomalies too); the trip as it stands."""
    if not outcome.allowed:
        return None
    trip = _TripNow(row.trip_id, row.trip_seq, row.trip_state) if row.trip_id else None
    stamp = (
        _stamp_values(outcome.event, at, checkpoint_id) if outcome.event and outcome.stamps else {}
    )
    if outcome.closes_previous and trip is not None:
        _TRIP_CLOSE(connection, trip_id=trip.id, state=str(TripState.EXITED))
        _add_anomaly(writes, connection, row, trip.id, AnomalyKind.NO_EXIT, at)
    if outcome.opens_trip:
        seq = None
        if outcome.counts_trip:
            _PASS_COUNT_TRIP(connection, pass_id=row.id)
            seq = row.trips_used + 1
        values = {
            "pass_id": row.id,
            "enterprise_id": row.enterprise_id,
            "plate": row.plate,
            "seq": seq,
            "state": str(TripState.ENTERED),
            "opened_at": at,
            **stamp,
        }
        (inserted,) = _TRIP_INSERT[Event(outcome.event) if stamp else None](connection, **values)
        trip = _TripNow(inserted.id, seq, values["state"])
    elif trip is not None and stamp:
        _TRIP_STAMP[Event(outcome.event)](connection, trip_id=trip.id, **stamp)
        trip.state = stamp["state"]
    for kind in outcome.anomalies:
        _add_anomaly(writes, connection, row, trip.id, kind, at)
    return trip


def _may_compare(user: Any, place: Place, row: Any) -> bool:
    """Who learns a pass's plate from its number alone: an officer at a gate, or the
    pass's own destination. Anyone else trying numbers would read others' plates."""
    if user.role == Role.OFFICER:
        return True
    return place.enterprise_id is not None and place.enterprise_id == row.destination_enterprise_id


def _shows_everything(outcome: Outcome, row: Any, user: Any, place: Place) -> bool:
    """An allowed scan shows the whole pass; a denial shows the scanner no more than the
    public status page, unless an officer denies it at the pass's own destination. So a
    rival enterprise with a site of its own learns nothing by scanning others' passes."""
    if outcome.allowed:
        return True
    if user.role == Role.ENTERPRISE:
        return False
    return place.enterprise_id == row.destination_enterprise_id


def _iso(moment: datetime) -> str:
    """A UTC moment as the API writes it (as pydantic does: 'Z' for UTC)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _pass_view(row: Any, full: bool, trips_used: int) -> dict[str, Any]:
    """ScanPass, as JSON. A denial outside the destination shows what GET /P/<token> shows."""
    shown = {
        "number": row.number,
        "plate": row.plate,
        "driver_name": row.driver_name if full else mask_name(row.driver_name),
        "destination_enterprise": row.destination_name,
        "valid_until": _iso(row.valid_until),
        "id": None,
        "cargo": None,
        "category": None,
        "max_trips": None,
        "trips_used": None,
    }
    if full:
        shown.update(
            id=row.id,
            cargo=row.cargo,
            category=row.category,
            max_trips=row.max_trips,
            trips_used=trips_used,
        )
    return shown


def _response(
    scan_id: str,
    outcome: Outcome,
    reasons: list[str],
    shown: dict[str, Any] | None,
    trip: _TripNow | None,
    now: datetime,
    offline: bool,
) -> dict[str, Any]:
    """ScanOut, as JSON (tests/web/test_scan_path.py holds the two to the same output)."""
    return {
        "scan_id": scan_id,
        "decision": outcome.decision,
        "event": outcome.event,
        "reasons": reasons,
        "anomalies": list(outcome.anomalies),
        "pass": shown,
        "trip": {"id": trip.id, "seq": trip.seq, "state": trip.state} if trip else None,
        "recorded_at": _iso(now),
        "offline": offline,
    }


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


@dataclass(frozen=True)
class Recorded:
    response: dict[str, Any]
    retry: bool  # the scan_id was recorded before: this is its first answer


class _Writes:
    """Where `_record` reads first, and the one short write transaction it writes in."""

    def read(self) -> Connection:
        """A connection for what is read before the write transaction."""
        raise NotImplementedError

    def done_reading(self) -> None:
        """What was read first is read (the write transaction follows)."""

    def begin(self) -> Connection:
        """The write transaction begins (on SQLite: the database's write lock)."""
        raise NotImplementedError

    def session(self) -> Session:
        """A session in the write transaction, for the events' subscribers."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def after(self) -> AbstractContextManager[Session]:
        """A session for what follows the commit (the denial's alerts, which commit)."""
        raise NotImplementedError


class _SessionWrites(_Writes):
    """An ORM caller's session (the Flask view, offline sync) and its reads."""

    def __init__(self, session: Session, reads: Session):
        self._session, self._reads = session, reads
        self._reader: Connection | None = None

    def read(self) -> Connection:
        if self._reads is self._session or self._reads.in_transaction():
            return self._reads.connection()
        # SQLite's separate reader: one statement is its own snapshot, so no BEGIN and no
        # ROLLBACK around it
        self._reader = self._reader or self._reads.get_bind().connect()
        return self._reader

    def done_reading(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._reads is not self._session:
            self._reads.close()

    def begin(self) -> Connection:
        return self._session.connection()

    def session(self) -> Session:
        return self._session

    def commit(self) -> None:
        self._session.commit()

    def rollback(self) -> None:
        self._session.rollback()

    def after(self) -> AbstractContextManager[Session]:
        return nullcontext(self._session)  # the caller's, closed by the caller


class _ConnectionWrites(_Writes):
    """The hot path's: one pooled connection, read first outside any transaction (on
    PostgreSQL the driver's transaction begins there), then the write transaction on it.
    A Session (its transaction costs about as much as the scan's statements) is made only
    when an event's subscriber asks for one, joined to the connection's transaction."""

    def __init__(self, connection: Connection, sessions: sessionmaker):
        self._connection, self._sessions = connection, sessions
        self._transaction: Any = None
        self._joined: Session | None = None

    def read(self) -> Connection:
        return self._connection

    def begin(self) -> Connection:
        self._transaction = self._connection.begin()
        return self._connection

    def session(self) -> Session:
        if self._joined is None:
            self._joined = Session(bind=self._connection, expire_on_commit=False)
        return self._joined

    def commit(self) -> None:
        if self._joined is not None:
            self._joined.flush()  # what subscribers added, in the scan's transaction
        self._transaction.commit()
        self._close_joined()

    def rollback(self) -> None:
        self._transaction.rollback()
        self._close_joined()

    def _close_joined(self) -> None:
        if self._joined is not None:
            self._joined.close()
            self._joined = None

    def after(self) -> AbstractContextManager[Session]:
        return self._sessions()  # closed when the alerts are done


def record(
    session: Session,
    user: Any,
    data: ScanIn,
    *,
    keys: dict[int, tokens.TrustedKey],
    clock: Callable[[], datetime],
    device: DeviceVerdict | None = None,
    reads: Session | None = None,
) -> Recorded:
    """Decide and record one scan, in one short write transaction on `session`.

    `user` needs only id, role and enterprise_id (accounts.domain.Caller). `reads` serves
    what is read before the write transaction begins (on SQLite a read-only session, so
    the database's write lock is taken only once there is something to write); by
    default `session`. `clock` is read once the pass is locked, so the times recorded for
    one pass follow the order its scans commit in.

    With `device` (an offline scan synced later) the decision is the server's at the
    device's time, and the scan is recorded as the phone decided it (domain.offline_outcome):
    trips are stamped with the device's time, conflicts raise `offline_conflict`."""
    writes = _SessionWrites(session, reads or session)
    return _record(writes, user, data, keys=keys, clock=clock, device=device)


def record_on(
    connection: Connection,
    sessions: sessionmaker,
    user: Any,
    data: ScanIn,
    *,
    keys: dict[int, tokens.TrustedKey],
    clock: Callable[[], datetime],
) -> Recorded:
    """`record`, on one pooled `connection` that is in no transaction (the hot path:
    checkpoints/scan_views.py). `sessions` makes the session the denial's alerts use."""
    writes = _ConnectionWrites(connection, sessions)
    return _record(writes, user, data, keys=keys, clock=clock, device=None)


def _record(
    writes: _Writes,
    user: Any,
    data: ScanIn,
    *,
    keys: dict[int, tokens.TrustedKey],
    clock: Callable[[], datetime],
    device: DeviceVerdict | None,
) -> Recorded:
    scan_id = str(data.scan_id)
    if not data.code and not (data.number and data.plate):
        raise ValidationFailed.one("code", N_("Scan a code, or enter the pass number and plate."))
    # A retry is answered from the stored scan before anything is verified, locked or
    # written; two copies racing each other meet at the scan's unique index below.
    try:
        before = _before(writes.read(), user, data, scan_id)
    finally:
        writes.done_reading()
    if before.first is not None:
        return Recorded(_answer_retry(before.first, user), retry=True)
    if before.place is None or not before.active:
        raise ValidationFailed.one("checkpoint_id", N_("No such checkpoint."))
    place = before.place
    # The signature is judged with today's trust list (a phone clock a little behind must
    # not make a fresh key look unknown); validity, with the time the scan happened.
    named, token_reason = _claims(data, keys, clock()) if before.assigned else (None, None)
    row = None
    try:
        connection = writes.begin()  # the write transaction (SQLite: its lock) begins
        if named is not None:
            by, key, plate, mismatch = named
            row = _read_pass(connection, by, key)
            if row is not None and not same_plate(row.plate, plate, manual=by == "number"):
                if by == "number" and _may_compare(user, place, row):
                    # The number matched: say what is wrong, and show the pass's plate
                    # beside the one typed (the scanner keeps what it sent).
                    token_reason = mismatch
                elif by == "number":
                    row, token_reason = None, "not_found"
                else:
                    row, token_reason = None, mismatch
        now = clock()  # after the lock: see the docstring
        at = device.at if device else now  # when it happened
        live = _live_of(row) if row is not None else None
        seen_trip = (
            OpenTrip(row.trip_id, row.trip_seq, row.trip_arrived_at is not None)
            if row is not None and row.trip_id is not None
            else None
        )
        outcome = decide(
            token_reason=token_reason,
            live=live,
            open_trip=seen_trip,
            place=place,
            now=at,
            assigned=before.assigned,
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
            if row is None and outcome.allowed:  # a phone let through what the server cannot find
                outcome = replace(outcome, decision="deny", event=None, anomalies=())
                reasons = [token_reason or "not_found", "offline_conflict"]
            if device.at - now > CLOCK_FLAG or now - device.at > QUEUE_FLAG:
                reasons.append("device_clock")
        trip = _write_trip(writes, connection, row, outcome, place.id, at) if row else None
        shown = None
        if row is not None:
            counted = trip is not None and outcome.opens_trip and outcome.counts_trip
            full = _shows_everything(outcome, row, user, place)
            shown = _pass_view(row, full, row.trips_used + counted)
        response = _response(scan_id, outcome, reasons, shown, trip, now, device is not None)
        ((scan_pk,),) = _SCAN_INSERT(
            connection,
            scan_id=scan_id,
            pass_id=row.id if row is not None else None,
            trip_id=trip.id if trip else None,
            checkpoint_id=place.id,
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
        audit.append(
            connection,
            actor_id=user.id,
            action=f"scan.{outcome.decision}",
            object_type="scan",
            object_id=scan_pk,
            data={
                "checkpoint": before.code,
                "event": outcome.event,
                "pass": row.id if row is not None else None,
                "reasons": list(outcome.reasons),
            },
            now=now,
        )
        writes.commit()
    except IntegrityError:
        # The same scan_id committed meanwhile (the same scan sent twice at once): answer
        # as the first time. Any other clash wrote nothing and is the scanner's to retry.
        writes.rollback()
        try:
            first = _recorded(writes.read(), scan_id)
        finally:
            writes.done_reading()
        if first is None:
            message = N_("The pass changed while this scan was recorded; scan again.")
            raise Conflict(message) from None
        return Recorded(_answer_retry(first, user), retry=True)
    if outcome.decision == "deny":  # oversight watches for forged codes and repeat refusals
        denial = SimpleNamespace(
            checkpoint_id=place.id,
            checkpoint=before.code,
            pass_id=row.id if row is not None else None,
            number=row.number if row is not None else "",
            plate=row.plate if row is not None else "",
        )
        try:
            with writes.after() as session:
                events.scan_denied.send(denial, session=session, now=now)
        except Exception:  # the scan stands and is answered; its alert is what failed
            log.exception("the alerts after a denied scan failed")
    return Recorded(response, retry=False)


_RECORDED = Prepared(
    select(_scan.c.officer_id, _scan.c.response).where(_scan.c.scan_id == bindparam("scan_id"))
)


def _recorded(connection: Connection, scan_id: str) -> tuple[int, dict[str, Any]] | None:
    found = _RECORDED(connection, scan_id=scan_id)
    return (found[0].officer_id, found[0].response) if found else None


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
