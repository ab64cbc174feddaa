"""Exports of trips, passes, scans and anomalies as CSV (UTF-8 with BOM) or XLSX.

Rows stream from the database in batches (`yield_per`), so a million-row export never
sits in memory; ID numbers are masked; every export is written to the audit chain.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from accounts.models import Enterprise, User
from accounts.scoping import scoped
from checkpoints import history
from checkpoints.domain import AnomalyKind
from checkpoints.models import Anomaly, Checkpoint, Scan, Trip
from core.errors import N_
from core.privacy import mask_id_number
from core.words import word
from fleet.models import Driver, Vehicle
from passes.models import Pass

KINDS = ("trips", "passes", "scans", "anomalies")
BATCH = 1000

# Column headings (translated when the export is made).
HEADERS = {
    "trips": [
        N_("Trip"),
        N_("Plate"),
        N_("Pass number"),
        N_("Enterprise"),
        N_("Trip number"),
        N_("State"),
        N_("Entered"),
        N_("Entry checkpoint"),
        N_("Arrived"),
        N_("Arrival site"),
        N_("Exited"),
        N_("Exit checkpoint"),
        N_("Stops at stations"),
        N_("Driver"),
        N_("Resident ID number"),
        N_("Destination"),
        N_("Anomalies"),
        N_("State code"),
    ],
    "passes": [
        N_("Pass number"),
        N_("Status"),
        N_("Applicant"),
        N_("Plate"),
        N_("Driver"),
        N_("Resident ID number"),
        N_("Destination"),
        N_("Cargo"),
        N_("Category"),
        N_("Valid from"),
        N_("Valid until"),
        N_("Trips used/max"),
        N_("Submitted"),
        N_("Status code"),
        N_("Category code"),
    ],
    "scans": [
        N_("Recorded"),
        N_("Scanned on device"),
        N_("Checkpoint"),
        N_("Officer"),
        N_("Plate"),
        N_("Pass number"),
        N_("Event"),
        N_("Decision"),
        N_("Reasons"),
        N_("Offline"),
        N_("Event code"),
        N_("Decision code"),
        N_("Reason codes"),
    ],
    "anomalies": [
        N_("Detected"),
        N_("Kind"),
        N_("Plate"),
        N_("Pass number"),
        N_("Enterprise"),
        N_("Resolved"),
        N_("Note"),
        N_("Kind code"),
    ],
}
# Which columns hold stored codes: shown in words, the codes repeated at the end for
# machines (words.py is the one mapping).
CODED = {
    "trips": {5: "trip_state"},
    "passes": {1: "pass_status", 8: "category"},
    "scans": {6: "event", 7: "decision", 8: "reason"},
    "anomalies": {1: "anomaly_kind"},
}


def _window(stmt: Select[Any], column: Any, args: Mapping[str, str], tz: str) -> Select[Any]:
    if start := (args.get("from") or "").strip():
        stmt = stmt.where(column >= history.moment(start, "from", tz, end=False))
    if end := (args.get("to") or "").strip():
        stmt = stmt.where(column <= history.moment(end, "to", tz, end=True))
    return stmt


def query(kind: str, args: Mapping[str, str], user: User, tz: str) -> Select[Any]:
    """Rows of plain values for `kind`, with the same filters the pages use."""
    if kind == "trips":
        trips = history.search(args, user, tz=tz).subquery()
        entry, arrival, leave = aliased(Checkpoint), aliased(Checkpoint), aliased(Checkpoint)
        destination = aliased(Enterprise)
        return (
            select(
                trips.c.id,
                trips.c.plate,
                Pass.number,
                Enterprise.name,
                trips.c.seq,
                trips.c.state,
                trips.c.entered_at,
                entry.code,
                trips.c.arrived_at,
                arrival.code,
                trips.c.exited_at,
                leave.code,
                trips.c.stops,
                Driver.name,
                Driver.id_number,
                func.coalesce(Pass.destination_name, destination.name),
            )
            .join(Pass, Pass.id == trips.c.pass_id)
            .join(Enterprise, Enterprise.id == trips.c.enterprise_id)
            .join(destination, destination.id == Pass.destination_enterprise_id)
            .join(Driver, Driver.id == Pass.driver_id)
            .outerjoin(entry, entry.id == trips.c.entry_checkpoint_id)
            .outerjoin(arrival, arrival.id == trips.c.arrival_checkpoint_id)
            .outerjoin(leave, leave.id == trips.c.exit_checkpoint_id)
            .order_by(trips.c.opened_at.desc(), trips.c.id.desc())
        )
    if kind == "passes":
        destination = aliased(Enterprise)
        stmt = (
            select(
                Pass.number,
                Pass.status,
                Enterprise.name,
                Vehicle.plate,
                Driver.name,
                Driver.id_number,
                func.coalesce(Pass.destination_name, destination.name),  # as the pass names it
                Pass.cargo,
                Pass.category,
                Pass.valid_from,
                Pass.valid_until,
                Pass.trips_used,
                Pass.max_trips,
                Pass.created_at,
            )
            .join(Enterprise, Enterprise.id == Pass.enterprise_id)
            .join(destination, destination.id == Pass.destination_enterprise_id)
            .join(Vehicle, Vehicle.id == Pass.vehicle_id)
            .join(Driver, Driver.id == Pass.driver_id)
        )
        if status := (args.get("status") or "").strip():
            stmt = stmt.where(Pass.status == status)
        stmt = _window(stmt, Pass.created_at, args, tz)
        return scoped(stmt, Pass, user).order_by(Pass.id.desc())
    if kind == "scans":
        stmt = (
            select(
                Scan.recorded_at,
                Scan.scanned_at,
                Checkpoint.code,
                User.username,
                Vehicle.plate,
                Pass.number,
                Scan.event,
                Scan.decision,
                Scan.reasons,
                Scan.offline,
            )
            .join(Checkpoint, Checkpoint.id == Scan.checkpoint_id)
            .join(User, User.id == Scan.officer_id)
            .outerjoin(Pass, Pass.id == Scan.pass_id)
            .outerjoin(Vehicle, Vehicle.id == Pass.vehicle_id)
        )
        if not user.is_oversight:  # an enterprise: scans of its own passes only
            stmt = stmt.where(Pass.enterprise_id == user.enterprise_id)
        if checkpoint := (args.get("checkpoint_id") or "").strip():
            stmt = stmt.where(Scan.checkpoint_id == history.id_filter(checkpoint, "checkpoint_id"))
        return _window(stmt, Scan.recorded_at, args, tz).order_by(Scan.id.desc())
    stmt = (
        select(
            Anomaly.detected_at,
            Anomaly.kind,
            Trip.plate,
            Pass.number,
            Enterprise.name,
            Anomaly.resolved_at,
            Anomaly.note,
        )
        .join(Trip, Trip.id == Anomaly.trip_id)
        .join(Pass, Pass.id == Anomaly.pass_id)
        .join(Enterprise, Enterprise.id == Anomaly.enterprise_id)
    )
    if args.get("open") == "true":
        stmt = stmt.where(Anomaly.resolved_at.is_(None))
    if shown := (args.get("kind") or "").strip():
        stmt = stmt.where(Anomaly.kind == history.choice(shown, set(AnomalyKind), "kind"))
    stmt = _window(stmt, Anomaly.detected_at, args, tz)
    return scoped(stmt, Anomaly, user).order_by(Anomaly.id.desc())


def _cell(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, datetime):  # the jurisdiction's local time, to the second
        return value.astimezone(zone).replace(tzinfo=None, microsecond=0)
    if isinstance(value, list):
        return " ".join(map(str, value))
    return "" if value is None else value


def rows(session: Any, kind: str, stmt: Select[Any], tz: str) -> Iterator[list[Any]]:
    zone = ZoneInfo(tz)
    coded = CODED[kind]
    said: dict[tuple[str, Any], str] = {}  # a few codes, a million rows: translate each once

    def words(of: str, code: Any) -> str:
        if (of, code) not in said:
            said[(of, code)] = word(of, code)
        return said[(of, code)]

    for batch in session.execute(stmt.execution_options(yield_per=BATCH)).partitions():
        raised = _raised(session, [row[0] for row in batch]) if kind == "trips" else {}
        for row in batch:
            yield _row(kind, list(row), coded, words, raised, zone)


def _raised(session: Any, trip_ids: list[int]) -> dict[int, list[str]]:
    """The anomaly kinds of a batch of trips, by trip: one read for the batch."""
    found: dict[int, list[str]] = {}
    for trip_id, kind in session.execute(
        select(Anomaly.trip_id, Anomaly.kind)
        .where(Anomaly.trip_id.in_(trip_ids))
        .order_by(Anomaly.trip_id, Anomaly.id)
    ):
        found.setdefault(trip_id, []).append(kind)
    return found


def _row(
    kind: str,
    values: list[Any],
    coded: dict[int, str],
    words: Any,
    raised: dict[int, list[str]],
    zone: ZoneInfo,
) -> list[Any]:
    if kind == "trips":
        values[14] = mask_id_number(values[14])
        values.append(" ".join(words("anomaly_kind", k) for k in raised.get(values[0], [])))
    codes = [values[i] for i in coded]
    for i, of in coded.items():
        value = values[i]
        listed = value if isinstance(value, list) else [value]
        values[i] = " ".join(words(of, v) for v in listed)
    if kind == "passes":
        values[5] = mask_id_number(values[5])
        values[11:13] = [f"{values[11]}/{values[12]}"]
    if kind == "anomalies" and values[6]:  # a note the system wrote is a code: in words
        values[6] = word("anomaly_note", values[6])
    if kind == "scans":  # the Offline column: a mark, not a raw boolean
        values[-1] = "✓" if values[-1] else ""
    return [_cell(v, zone) for v in [*values, *codes]]
