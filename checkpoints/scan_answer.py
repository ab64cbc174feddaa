"""What the scan path reads off its pass row and writes back: the pass as the rules read
it, who issued it, and the answer (ScanPass and ScanOut as JSON; tests/web/test_scan_path.py
holds them to the schemas' output)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from accounts.domain import EnterpriseStatus
from checkpoints import bookings
from checkpoints import scan_store as store
from checkpoints.domain import Event, Kind, LivePass, Outcome, Place
from core.privacy import mask_name
from trust import tokens


def untrusted_issuer(row: Any, keys: dict[int, tokens.TrustedKey]) -> bool:
    peers = getattr(keys, "peers", {})
    return row.issuer_area_code is not None and row.issuer_area_code not in peers


def issuer_of(row: Any, keys: dict[int, tokens.TrustedKey]) -> dict[str, str] | None:
    """Who issued the pass: the peer's area code and name, or ours."""
    names = getattr(keys, "names", {})
    area = row.issuer_area_code or getattr(keys, "here", None)
    return {"area_code": area, "name": names.get(area, area)} if area else None


def live_of(row: Any, listed_at: datetime | bool) -> LivePass:
    """The pass as the rules read it; `listed_at`: the moment the crew must be on the
    whitelist at (False: the whitelist is not required)."""
    crew = [(row.driver_listed_until, True), (row.co_driver_listed_until, row.co_driver_id)]
    return LivePass(
        id=row.id,
        status=row.status,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        max_trips=row.max_trips,
        trips_used=row.trips_used,
        destination_enterprise_id=row.destination_enterprise_id,
        route=tuple(row.route_checkpoint_ids or ()),
        stations=tuple(row.station_ids or ()),
        enterprise_suspended=row.enterprise_status == EnterpriseStatus.SUSPENDED,
        crew_unlisted=bool(listed_at)
        and any(named and (until is None or until < listed_at) for until, named in crew),
    )


def booking_of(row: Any, outcome: Outcome, at: datetime) -> dict[str, Any] | None:
    """ScanBooking, as JSON: the booking an entry keeps, and whether it came in its hour."""
    kept = outcome.allowed and outcome.event == Event.ENTRY and outcome.stamps
    if not kept or row.booking_id is None:  # an entry stamped on its trip keeps it
        return None
    start = row.booking_slot
    return {
        "id": row.booking_id,
        "slot_start": iso(start),
        "slot_end": iso(start + bookings.SLOT),
        "timing": str(bookings.timing(start, at)),
    }


def lane_of(row: Any, outcome: Outcome, place: Place, booking: dict[str, Any] | None) -> str | None:
    """The lane an allowed truck takes at a gate (优先通行: the green channel's cargo, or a
    booked truck on its way in); None elsewhere."""
    if row is None or place.kind != Kind.GATE or not outcome.allowed or outcome.event is None:
        return None
    return str(bookings.lane(row.category, booking is not None))


def iso(moment: datetime) -> str:
    """A UTC moment as the API writes it (as pydantic does: 'Z' for UTC)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def pass_view(row: Any, full: bool, trips_used: int) -> dict[str, Any]:
    """ScanPass, as JSON. A denial outside the destination shows what GET /P/<token> shows."""
    shown = {
        "number": row.number,
        "plate": row.plate,
        "driver_name": row.driver_name if full else mask_name(row.driver_name),
        "destination_enterprise": row.destination_name,
        "valid_until": iso(row.valid_until),
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


def response(
    scan_id: str,
    outcome: Outcome,
    reasons: list[str],
    shown: dict[str, Any] | None,
    trip: store.TripNow | None,
    now: datetime,
    offline: bool,
    booking: dict[str, Any] | None = None,
    lane: str | None = None,
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
        "recorded_at": iso(now),
        "offline": offline,
        "repeat_of": None,
        "booking": booking,
        "lane": lane,
    }
