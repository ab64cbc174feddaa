"""A week of demo traffic for `flask demo seed`: passes filed, reviewed and scanned through
the same services a real day uses, at past times, so the dashboard, statistics, map and
histories open on something to read.

Each day a few trucks of the demo shipper make the loop gate → consignee's site → gate
(one stops at the drivers' station on the way); one is turned away at the gate for a plate
that does not match, another for a revoked pass; today's trucks are still inside.
Idempotent: nothing is added once the history's first truck exists.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import Enterprise, User
from checkpoints import places, scanning
from checkpoints.models import Checkpoint
from checkpoints.schemas import ScanIn
from core.db import utcnow
from fleet import services as fleet
from fleet.domain import id_check_char
from fleet.models import Driver, Vehicle
from fleet.schemas import DriverIn, VehicleIn
from passes import context, filing, services
from passes.models import Pass
from passes.schemas import PassApplication
from trust import keys
from trust.models import SigningKey

DAYS = 7
TRUCKS = [
    ("浙F67890", "heavy_truck", 25000),
    ("浙F78901", "van", 1500),
    ("浙FB8866", "light_truck", 4000),
]
CREWS = [
    ("陈志明", "33048219751103005", "13900000013"),
    ("赵丽华", "33048219880217006", "13900000014"),
    ("孙浩", "33048219920630007", "13900000015"),
]
CARGO = ["冷冻猪肉 8 吨", "蔬菜 3 吨", "饮用水 1200 箱", "包装材料 2 吨"]
# Where the demo's checkpoints stand (WGS 84): Pinghu's toll exit, Zhapu port, Dushangang.
PLACES = {
    "G-PH01": (30.7052, 121.0151),
    "G-ZP02": (30.5997, 121.0932),
    "S-PH-01": (30.6280, 121.1870),
}
SITE_PLACE = (30.6921, 121.0365)


def seed_history(
    session: Session, shipper: Enterprise, receiver: Enterprise, staff: dict[str, User], tz: str
) -> None:
    owner = _user_of(session, shipper)
    now = utcnow()
    if session.scalar(select(Vehicle.id).where(Vehicle.plate == TRUCKS[0][0])):
        return
    gates = {c.code: c for c in session.scalars(select(Checkpoint))}
    _place(session, gates, receiver, staff["admin"], now)
    trucks = [
        fleet.add_vehicle(
            session, owner, VehicleIn(plate=p, vehicle_type=t, capacity_kg=c), now=now
        )
        for p, t, c in TRUCKS
    ]
    crews = [
        fleet.add_driver(
            session, owner, DriverIn(name=n, id_number=s + id_check_char(s), phone=m), now=now
        )
        for n, s, m in CREWS
    ]
    zone = ZoneInfo(tz)
    # Codes verify only under a key older than them: on a fresh database the first approval
    # below creates the key; a demo database seeded before keeps the days after its key.
    signed_from = session.scalar(select(func.min(SigningKey.not_before)))
    site = next(c for c in gates.values() if c.enterprise_id == receiver.id)
    scanners = {"officer": staff["officer"], "site": _user_of(session, receiver)}
    for days_ago in range(DAYS, -1, -1):
        morning = datetime.combine(
            now.astimezone(zone).date() - timedelta(days=days_ago), time(7), zone
        )
        for n, (truck, crew) in enumerate(zip(trucks, crews, strict=True)):
            if (days_ago + n) % 4 == 3:
                continue  # not every truck runs every day
            start = morning + timedelta(minutes=50 * n + 7 * days_ago)
            if days_ago == 0:  # today's trucks set out in the last three hours
                start = now - timedelta(hours=3 - 0.8 * n)
            if signed_from and start < signed_from:
                continue
            p = _approved(session, owner, staff["reviewer"], truck, crew, receiver, start, n)
            gate = gates["G-PH01" if (days_ago + n) % 2 else "G-ZP02"]
            if days_ago == 2 and n == 2:  # revoked before it reached the gate, and refused
                services.revoke_pass(
                    session,
                    p.id,
                    staff["reviewer"],
                    "货物与申报不符",
                    now=start + timedelta(hours=0.5),
                )
                _scan(session, scanners["officer"], gate, p, start + timedelta(hours=1))
                continue
            if days_ago % 3 == 1 and n == 0:  # the officer sees another plate and refuses
                _scan(session, scanners["officer"], gate, p, start + timedelta(hours=1), deny=True)
            steps = [(gate, "entry", 1.2), (site, None, 2.5), (gate, "exit", 5.0)]
            if n == 1:
                steps.insert(1, (gates["S-PH-01"], None, 1.8))  # the crew's stop (三点往返)
            for place, direction, hours in steps:
                at = start + timedelta(hours=hours + 0.1 * days_ago)
                if at > now:
                    break  # still on its way: inside the jurisdiction today
                who = scanners["site" if place is site else "officer"]
                _scan(session, who, place, p, at, direction=direction)


def _user_of(session: Session, enterprise: Enterprise) -> User:
    user = session.scalars(select(User).where(User.enterprise_id == enterprise.id)).first()
    assert user is not None, enterprise.name
    return user


def _place(
    session: Session, gates: dict[str, Checkpoint], receiver: Enterprise, admin: User, now: datetime
) -> None:
    for code, (lat, lon) in PLACES.items():
        if code in gates:
            places.place_checkpoint(session, gates[code].id, lat, lon, actor=admin, now=now)
    for gate in gates.values():
        if gate.enterprise_id == receiver.id:
            places.place_checkpoint(session, gate.id, *SITE_PLACE, actor=admin, now=now)


def _approved(
    session: Session,
    owner: User,
    reviewer: User,
    truck: Vehicle,
    crew: Driver,
    receiver: Enterprise,
    start: datetime,
    n: int,
) -> Pass:
    """A day's pass filed at `start`, approved a little later (reviews vary in time)."""
    filed = start - timedelta(hours=1)
    application = PassApplication(
        vehicle_id=truck.id,
        driver_id=crew.id,
        destination_enterprise_id=receiver.id,
        origin="嘉兴市南湖区",
        cargo=CARGO[(start.day + n) % len(CARGO)],
        category="daily_necessities",
        valid_from=filed,
        # Over by the evening, so tomorrow's pass for the truck never overlaps it, whatever
        # the hour the demo is seeded at (today's trucks set out in the last three hours).
        valid_until=filed + timedelta(hours=10),
        max_trips=1,
    )
    rules, issuer = context.filing_rules(), context.issuer()
    p = filing.submit_pass(session, owner, application, now=filed, rules=rules, issuer=issuer)
    reviewed = filed + timedelta(minutes=12 + 9 * n + start.day % 5 * 4)
    return services.approve_pass(session, p.id, reviewer, now=reviewed, issuer=issuer)


def _scan(
    session: Session,
    user: User,
    place: Checkpoint,
    p: Pass,
    at: datetime,
    *,
    direction: str | None = None,
    deny: bool = False,
) -> None:
    data = ScanIn.model_validate(
        {
            "scan_id": uuid.uuid4(),
            "checkpoint_id": place.id,
            "code": p.code,
            "direction": direction,
            "deny_reason": "plate_mismatch" if deny else None,
        }
    )
    trusted = keys.trusted_keys(session, at)
    scanning.record(session, user, data, keys=trusted, clock=lambda: at)
