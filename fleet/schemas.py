"""Input and output shapes of the fleet use cases (forms, imports and the JSON API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from accounts.schemas import Input, Mobile, Output
from fleet import domain
from fleet.domain import VehicleType

Plate = Annotated[str, AfterValidator(domain.normalise_plate)]
IdNumber = Annotated[str, AfterValidator(domain.normalise_id_number)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=32)]


class VehicleIn(Input):
    plate: Plate
    vehicle_type: VehicleType
    capacity_kg: int | None = Field(default=None, ge=1, le=200_000)


class DriverIn(Input):
    name: PersonName
    id_number: IdNumber
    phone: Mobile


class VehicleOut(Output):
    id: int
    plate: str
    vehicle_type: VehicleType
    capacity_kg: int | None
    enterprise_id: int
    archived: bool


class DriverOut(Output):
    id: int
    name: str
    id_number_masked: str
    phone: str
    enterprise_id: int
    archived: bool
    whitelist_until: datetime | None  # on the crew whitelist until then (fleet/crews.py)
    whitelist_note: str | None


class VehicleRef(Output):
    id: int
    plate: str


class DriverRef(Output):
    id: int
    name: str
    id_number_masked: str
