"""Input and output shapes of the pass use cases (forms and the JSON API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from accounts.schemas import MULTILINE, Id, Input, Moment, Output
from fleet.schemas import DriverRef, VehicleRef
from passes.domain import Category, PassStatus

PLACE_MAX = 60  # an origin or a cargo: a line on the pass, the queue and the driver's page
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=PLACE_MAX)]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500), MULTILINE
]


class PassApplication(Input):
    vehicle_id: Id
    driver_id: Id
    co_driver_id: Id | None = None
    destination_enterprise_id: Id | None = None
    origin: Place
    cargo: Place
    category: Category
    valid_from: Moment
    valid_until: Moment
    max_trips: int = Field(default=1, ge=1, le=100)
    route_checkpoint_ids: list[Id] = Field(default_factory=list, max_length=50)
    # A second pass for the same vehicle and an overlapping window is refused unless asked.
    file_anyway: bool = False


class ReasonIn(Input):
    reason: Reason


class BulkIds(Input):
    ids: list[Id] = Field(min_length=1, max_length=500)


class PassOut(BaseModel):
    id: int
    number: str
    status: PassStatus
    enterprise_id: int
    vehicle: VehicleRef
    driver: DriverRef
    co_driver: DriverRef | None
    destination_enterprise_id: int
    origin: str
    cargo: str
    category: Category
    valid_from: datetime
    valid_until: datetime
    max_trips: int
    trips_used: int
    route_checkpoint_ids: list[int]
    code: str | None
    status_url: str | None
    qr_png_url: str | None
    driver_url: str | None = None  # the short link sent to the driver
    auto_approved: bool
    decision_reason: str | None
    created_at: datetime
    reviewed_at: datetime | None


class MessageOut(Output):
    id: int
    to: str
    body: str
    status: str
    attempts: int
    error_code: str | None
    error_text: str | None
    created_at: datetime
    sent_at: datetime | None
