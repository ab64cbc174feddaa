"""Input and output shapes for checkpoints, scans, trips and anomalies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from accounts.schemas import MULTILINE, Id, Input, Moment, Output
from checkpoints.bookings import MAX_CAPACITY, Status
from checkpoints.domain import AnnulReason, Kind, normalise_checkpoint_code

Code = Annotated[str, AfterValidator(normalise_checkpoint_code)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=40)]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500), MULTILINE
]


class CheckpointIn(Input):
    code: Code
    name: Name
    kind: Kind
    enterprise_id: Id | None = None


class PlaceIn(Input):
    """Where a checkpoint stands; both empty: not on the map."""

    latitude: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None


class CheckpointOut(Output):
    id: int
    code: str
    name: str
    kind: Kind
    enterprise_id: int | None
    active: bool


class ScanIn(Input):
    scan_id: UUID
    checkpoint_id: Id
    code: Annotated[str, StringConstraints(max_length=1024)] | None = None
    number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    plate: Annotated[str, StringConstraints(max_length=20)] | None = None
    direction: Literal["entry", "exit"] | None = None
    deny_reason: Literal["plate_mismatch", "driver_mismatch"] | None = None
    scanned_at: Moment | None = None


class Issuer(BaseModel):
    area_code: str
    name: str


class ScanPass(BaseModel):
    """The scanned pass. A denial outside the pass's destination shows only what the
    public status page shows: the rest is null and the driver's name masked. `issuer` is
    the jurisdiction that issued it (ours, or a federated peer's)."""

    number: str
    plate: str
    driver_name: str
    destination_enterprise: str
    valid_until: datetime
    id: int | None = None
    cargo: str | None = None
    category: str | None = None
    max_trips: int | None = None
    trips_used: int | None = None
    issuer: Issuer | None = None


class ScanTrip(BaseModel):
    id: int
    seq: int | None
    state: str


class ScanBooking(BaseModel):
    """The booking an entry kept (checkpoints/bookings.py), and how it came."""

    id: int
    slot_start: datetime
    slot_end: datetime
    timing: Literal["on_time", "early", "late"]


class ScanOut(BaseModel):
    scan_id: str
    decision: Literal["allow", "deny"]
    event: str | None
    reasons: list[str]
    anomalies: list[str] = Field(default_factory=list)
    pass_: ScanPass | None = Field(default=None, alias="pass", serialization_alias="pass")
    trip: ScanTrip | None
    recorded_at: datetime
    offline: bool = False  # decided on a phone without network, synced later
    # A read again of a pass just let through here: the earlier scan's scan_id (its answer)
    repeat_of: str | None = None
    # A peer's number typed by hand: how its issuer answered when asked (answered: decided
    # with the pass as it stands there now; not_found; unreachable: decided with the copy
    # the last sync kept).
    asked_issuer: Literal["answered", "not_found", "unreachable"] | None = None
    booking: ScanBooking | None = None
    # At a gate, an allowed truck's lane: priority for the green channel and booked trucks
    lane: Literal["priority", "normal"] | None = None

    model_config = {"populate_by_name": True}


class NoteIn(Input):
    note: Note


class AnnulIn(Input):
    """Why a scan is annulled: a reason from the list, and a note (needed for "other")."""

    reason: AnnulReason
    note: Note | None = None


class OfflineScanIn(ScanIn):
    """A scan a phone decided without network: its verdict and its own clock's time."""

    offline: Literal[True]
    decision: Literal["allow", "deny"]
    event: Literal["entry", "arrival", "exit", "stop"] | None = None
    scanned_at: Moment  # required: when it happened


class ScanBatchIn(Input):
    # Items are checked one by one, so one bad item is its own problem, not the batch's.
    items: list[Any] = Field(min_length=1, max_length=500)


class BatchItemOut(BaseModel):
    scan_id: str | None
    status: Literal["recorded", "conflict", "duplicate", "error"]  # error: see its problem
    result: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None


class ScanBatchOut(BaseModel):
    items: list[BatchItemOut]


class ScannerReportIn(Input):
    """A scanning phone's state, sent after each sync."""

    device_id: UUID
    checkpoint_id: Id | None = None
    lists_at: Moment | None = None
    queued: int = Field(default=0, ge=0, le=1_000_000)
    oldest_queued_at: Moment | None = None


# Bookings at gates (checkpoints/bookings.py, booking_views.py)


class CapacityIn(Input):
    capacity_per_hour: int | None = Field(ge=1, le=MAX_CAPACITY)


class BookingIn(Input):
    checkpoint_id: Id
    slot_start: Moment  # on the hour


class BookingOut(BaseModel):
    id: int
    pass_id: int
    checkpoint_id: int
    slot_start: datetime
    slot_end: datetime
    status: Status


class DayPass(BaseModel):
    number: str
    plate: str
    category: str


class DayItem(BaseModel):
    id: int
    pass_: DayPass = Field(serialization_alias="pass")
    slot_start: datetime
    slot_end: datetime
    status: Status


class DayOut(BaseModel):
    checkpoint_id: int
    date: date
    capacity_per_hour: int | None
    items: list[DayItem]
