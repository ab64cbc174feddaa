"""Input and output shapes of the pass use cases (forms and the JSON API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from accounts.schemas import MULTILINE, CreditCode, Id, Input, Moment, Output
from fleet.schemas import DriverRef, VehicleRef
from passes.domain import Category, PassStatus, normalise_area_code

PLACE_MAX = 60  # an origin or a cargo: a line on the pass, the queue and the driver's page
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=PLACE_MAX)]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500), MULTILINE
]


AreaCode = Annotated[str, AfterValidator(normalise_area_code)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


class Destination(Input):
    """A consignee named by its unified social credit code (national), its name and the
    county it is in: one registered here, or one in another jurisdiction."""

    credit_code: CreditCode
    name: Name
    area_code: AreaCode


class PassApplication(Input):
    vehicle_id: Id
    driver_id: Id
    co_driver_id: Id | None = None
    destination_enterprise_id: Id | None = None
    destination: Destination | None = None  # instead of destination_enterprise_id
    origin: Place
    origin_area_code: AreaCode | None = None  # the county it starts in; this one if not given
    cargo: Place
    category: Category
    valid_from: Moment
    valid_until: Moment
    max_trips: int = Field(default=1, ge=1, le=100)
    route_checkpoint_ids: list[Id] = Field(default_factory=list, max_length=50)
    station_ids: list[Id] = Field(default_factory=list, max_length=10)  # the crew's stops
    # A second pass for the same vehicle and an overlapping window is refused unless asked.
    file_anyway: bool = False


class ReasonIn(Input):
    reason: Reason


class BulkIds(Input):
    ids: list[Id] = Field(min_length=1, max_length=500)


# What the national pass records: the consignee by credit code, name and county; the origin's.
NATIONAL_FIELDS = (
    "destination_credit_code",
    "destination_name",
    "destination_area_code",
    "origin_area_code",
)


class PassOut(BaseModel):
    id: int
    number: str
    status: PassStatus
    enterprise_id: int
    vehicle: VehicleRef
    driver: DriverRef
    co_driver: DriverRef | None
    destination_enterprise_id: int
    destination_credit_code: str | None
    destination_name: str | None
    destination_area_code: str | None
    origin: str
    origin_area_code: str | None
    cargo: str
    category: Category
    valid_from: datetime
    valid_until: datetime
    max_trips: int
    trips_used: int
    route_checkpoint_ids: list[int]
    station_ids: list[int]
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
