"""The crew whitelist at the edge (fleet/crews.py): reviewers put drivers on it, one by one
or many at once, and take them off; enterprises read their own drivers' entries on
GET /drivers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from flask import current_app
from pydantic import Field, StringConstraints

from accounts.domain import Role
from accounts.models import User
from accounts.schemas import Id, Input
from api.core import endpoint
from core import web
from fleet import crews
from fleet.models import Driver
from fleet.schemas import DriverOut

REVIEWER = {Role.REVIEWER}
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class WhitelistIn(Input):
    valid_until: date  # through the end of this day, where the jurisdiction is
    note: Note | None = None  # what was checked


class BulkWhitelistIn(WhitelistIn):
    driver_ids: list[Id] = Field(min_length=1, max_length=crews.MAX_BULK)


def _put(ids: list[int], user: User, body: WhitelistIn) -> list[Driver]:
    tz = current_app.config["TIMEZONE"]
    return crews.whitelist(
        web.db(), ids, user, until=body.valid_until, note=body.note, now=web.now(), tz=tz
    )


@endpoint(
    "/drivers/<int:driver_id>/whitelist",
    "POST",
    summary="Put a driver on the crew whitelist until a date",
    roles=REVIEWER,
    body=WhitelistIn,
    response=DriverOut,
    tag="fleet",
)
def whitelist_driver(user: User, body: WhitelistIn, driver_id: int) -> Driver:
    [driver] = _put([driver_id], user, body)
    return driver


@endpoint(
    "/drivers/<int:driver_id>/whitelist",
    "DELETE",
    summary="Take a driver off the crew whitelist",
    roles=REVIEWER,
    response=DriverOut,
    tag="fleet",
)
def unlist_driver(user: User, driver_id: int) -> Driver:
    return crews.unlist(web.db(), driver_id, user, now=web.now())


@endpoint(
    "/drivers/whitelist",
    "POST",
    summary="Put many drivers on the crew whitelist (all or none)",
    roles=REVIEWER,
    body=BulkWhitelistIn,
    tag="fleet",
)
def whitelist_drivers(user: User, body: BulkWhitelistIn) -> dict[str, Any]:
    return {"whitelisted": [d.id for d in _put(body.driver_ids, user, body)]}
