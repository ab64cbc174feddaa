"""The crew whitelist (司乘人员白名单): a reviewer checks a driver (health, identity, what
the jurisdiction asks) and puts them on the list until a date, with a note of what was
checked; one by one or many at once. Where CREW_WHITELIST_REQUIRED is set, approval asks
`covered` of a pass's crew (passes/services.py) and the gate refuses entry to a crew taken
off or lapsed (checkpoints/domain.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import User
from core import audit
from core.errors import N_, Conflict, NotFound, ValidationFailed
from fleet.models import Driver

REMIND_DAYS = 7  # an enterprise is reminded of an entry ending within this many days
MAX_BULK = 500
LONGEST = timedelta(days=366)  # an entry is checked again at least once a year


class DriverNotWhitelisted(Conflict):
    """A pass's driver or co-driver is not on the whitelist through its validity."""

    code = "driver_not_whitelisted"

    def __init__(self) -> None:
        super().__init__(
            N_(
                "The driver or co-driver is not on the crew whitelist for the whole validity "
                "of the pass: a reviewer must whitelist them first."
            )
        )


def end_of_day(day: date, tz: str) -> datetime:
    """The last moment of `day` where the jurisdiction is (the whitelist's 'until')."""
    start = datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(tz))
    return start - timedelta(microseconds=1)


def whitelist(
    session: Session,
    driver_ids: Sequence[int],
    actor: User,
    *,
    until: date,
    note: str | None,
    now: datetime,
    tz: str,
) -> list[Driver]:
    """Put the drivers on the whitelist until the end of `until` (replacing an earlier
    entry); all or none: an unknown or erased driver fails the lot."""
    if not driver_ids or len(driver_ids) > MAX_BULK:
        raise ValidationFailed.one("driver_ids", N_("Choose between 1 and 500 drivers."))
    if until > now.date() + LONGEST:
        raise ValidationFailed.one("valid_until", N_("Choose a date within a year from today."))
    ends = end_of_day(until, tz)
    if ends <= now:
        raise ValidationFailed.one("valid_until", N_("Choose a date from today on."))
    found = _drivers(session, driver_ids)
    for driver in found:
        driver.whitelist_until, driver.whitelist_note = ends, note or None
        driver.whitelisted_by_id, driver.whitelisted_at = actor.id, now
        _audit(session, actor, driver, audit.Action.DRIVER_WHITELIST, now, ends.isoformat())
    session.commit()
    return found


def unlist(session: Session, driver_id: int, actor: User, *, now: datetime) -> Driver:
    """Take a driver off the whitelist: their passes are refused entry from now on."""
    [driver] = _drivers(session, [driver_id])
    driver.whitelist_until = driver.whitelist_note = None
    driver.whitelisted_by_id, driver.whitelisted_at = actor.id, now
    _audit(session, actor, driver, audit.Action.DRIVER_UNLIST, now, None)
    session.commit()
    return driver


def _drivers(session: Session, driver_ids: Iterable[int]) -> list[Driver]:
    wanted = list(dict.fromkeys(driver_ids))
    found = session.scalars(
        select(Driver).where(Driver.id.in_(wanted), Driver.erased_at.is_(None))
    ).all()
    if len(found) != len(wanted):
        raise NotFound(N_("A chosen driver does not exist (or was erased)."))
    return list(found)


def _audit(
    session: Session, actor: User, driver: Driver, action: str, now: datetime, until: str | None
) -> None:
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action(action),
        object_type="driver",
        object_id=driver.id,
        data={"until": until} if until else {},
        now=now,
    )


def covered(session: Session, driver_ids: Iterable[int | None], through: datetime) -> bool:
    """Whether every named crew member is on the whitelist until `through` or later."""
    wanted = {i for i in driver_ids if i is not None}
    listed = session.scalar(
        select(func.count()).where(Driver.id.in_(wanted), Driver.whitelist_until >= through)
    )
    return listed == len(wanted)


def listed_ids(session: Session, driver_ids: Iterable[int]) -> dict[int, datetime]:
    """Each named driver's whitelist end (drivers not on it are left out): for a batch."""
    rows = session.execute(
        select(Driver.id, Driver.whitelist_until).where(
            Driver.id.in_(set(driver_ids)), Driver.whitelist_until.is_not(None)
        )
    )
    return {driver_id: until for driver_id, until in rows}


def ending(session: Session, enterprise_id: int, now: datetime, soon: datetime) -> int:
    """How many of an enterprise's drivers have a whitelist entry ending by `soon`."""
    return (
        session.scalar(
            select(func.count()).where(
                Driver.enterprise_id == enterprise_id,
                Driver.archived.is_(False),
                Driver.whitelist_until.between(now, soon),
            )
        )
        or 0
    )
