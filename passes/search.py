"""The passes list's search box: one text matched against the pass number, the plate
(with or without its province), the driver's name and the applicant's or destination's
name, each as a prefix."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column, or_, select

from accounts.models import Enterprise
from core import search as boxes
from fleet.models import Driver, Vehicle
from passes.models import Pass


def matching(stmt: Any, raw: str | None) -> Any:
    text = boxes.typed(raw)
    if not text:
        return stmt
    plate = boxes.as_plate(text)
    plate_column = (
        Vehicle.plate if not plate[0].isascii() else func.substr(Vehicle.plate, literal_column("2"))
    )
    named = select(Enterprise.id).where(boxes.starts_with(Enterprise.name, text))
    return stmt.where(
        or_(
            boxes.starts_with(Pass.number, text),
            Pass.vehicle_id.in_(select(Vehicle.id).where(boxes.starts_with(plate_column, plate))),
            Pass.driver_id.in_(select(Driver.id).where(boxes.starts_with(Driver.name, text))),
            Pass.enterprise_id.in_(named),
            Pass.destination_enterprise_id.in_(named),
        )
    )
