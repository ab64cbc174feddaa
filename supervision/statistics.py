"""The figures authorities report, for a date range (local days), by day and by enterprise.

Passes and trips go through tenant scoping, so an enterprise gets its own statistics.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

import db
from accounts.models import Enterprise, User
from accounts.scoping import scoped
from checkpoints.domain import TripState
from checkpoints.models import Anomaly, Trip
from errors import N_, ValidationFailed
from passes.domain import PassStatus
from passes.models import Pass

DECIDED = (PassStatus.APPROVED, PassStatus.REVOKED, PassStatus.REJECTED)
APPROVED = (PassStatus.APPROVED, PassStatus.REVOKED)


def date_range(args: Mapping[str, str], today: date) -> tuple[date, date]:
    """`from`/`to` as local dates (inclusive); the last 30 days by default."""

    def parse(name: str, default: date) -> date:
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValidationFailed.one(name, N_("Enter a date such as 2026-11-22.")) from None
        if not db.EARLIEST.date() <= day < db.LATEST.date():
            raise ValidationFailed.one(name, db.RANGE_MESSAGE)
        return day

    start, end = parse("from", today - timedelta(days=29)), parse("to", today)
    if end < start:
        raise ValidationFailed.one("to", N_("The end date must not be before the start date."))
    if (end - start).days > 366:
        raise ValidationFailed.one("to", N_("Choose at most one year."))
    return start, end


def _hour(session: Session, column: Any, shift: timedelta) -> Any:
    """The hour of a timestamp column as text 'YYYY-MM-DDTHH', moved by `shift` first.

    Shifting by the sub-hour part of the zone's offset (30 minutes for UTC+5:30) makes these
    buckets local hours, which fold into local days exactly.
    """
    minutes = int(shift.total_seconds() // 60)
    if session.get_bind().dialect.name == "postgresql":
        moved = func.timezone("UTC", column) + func.make_interval(0, 0, 0, 0, 0, minutes)
        return func.to_char(moved, 'YYYY-MM-DD"T"HH24')
    return func.strftime("%Y-%m-%dT%H", column, f"{minutes:+d} minutes")


def _day_of(zone: ZoneInfo, shift: timedelta) -> Any:
    def day(bucket: str) -> str:
        moment = datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=UTC) - shift
        return moment.astimezone(zone).date().isoformat()

    return day


def _median_wait(session: Session, query: Select[Any], count: int) -> int | None:
    """The median of review time minus submission time, sorted by the database."""
    if not count:
        return None
    if session.get_bind().dialect.name == "postgresql":
        wait = func.extract("epoch", Pass.reviewed_at - Pass.created_at)
    else:
        wait = (func.julianday(Pass.reviewed_at) - func.julianday(Pass.created_at)) * 86400
    middle = [
        float(w)
        for (w,) in session.execute(
            query.with_only_columns(wait)
            .order_by(wait)
            .offset((count - 1) // 2)
            .limit(2 - count % 2)
        )
    ]
    return round(statistics.fmean(middle))


def figures(
    session: Session, user: User, args: Mapping[str, str], *, now: datetime, tz: str
) -> dict[str, Any]:
    zone = ZoneInfo(tz)
    start, end = date_range(args, now.astimezone(zone).date())
    lo = datetime.combine(start, time.min, zone)
    hi = datetime.combine(end + timedelta(days=1), time.min, zone)
    shift = timedelta(seconds=lo.utcoffset().total_seconds() % 3600)  # type: ignore[union-attr]
    day_of = _day_of(zone, shift)

    passes = scoped(select(Pass.id), Pass, user).where(Pass.created_at >= lo, Pass.created_at < hi)
    trips = scoped(select(Trip.id), Trip, user).where(
        Trip.opened_at >= lo, Trip.opened_at < hi, Trip.state != TripState.VOID
    )
    closed = func.sum(case((Trip.state == TripState.EXITED, 1), else_=0))
    loop = func.sum(
        case(
            (
                Trip.entered_at.is_not(None)
                & Trip.arrived_at.is_not(None)
                & Trip.exited_at.is_not(None),
                1,
            ),
            else_=0,
        )
    )

    days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    by_day = {d: {"applications": 0, "approvals": 0, "trips": 0} for d in days}
    by_enterprise: dict[int, dict[str, int]] = {}

    def enterprise_row(enterprise_id: int) -> dict[str, int]:
        return by_enterprise.setdefault(
            enterprise_id, {"applications": 0, "approvals": 0, "trips": 0}
        )

    created = _hour(session, Pass.created_at, shift)
    for bucket, n in session.execute(
        passes.with_only_columns(created, func.count()).group_by(created)
    ):
        by_day[day_of(bucket)]["applications"] += n
    reviewed = _hour(session, Pass.reviewed_at, shift)
    for bucket, n in session.execute(
        passes.with_only_columns(reviewed, func.count())
        .where(Pass.status.in_(APPROVED), Pass.reviewed_at.is_not(None))
        .group_by(reviewed)
    ):
        if day_of(bucket) in by_day:
            by_day[day_of(bucket)]["approvals"] += n
    statuses: Counter[str] = Counter()
    for enterprise_id, status, n in session.execute(
        passes.with_only_columns(Pass.enterprise_id, Pass.status, func.count()).group_by(
            Pass.enterprise_id, Pass.status
        )
    ):
        statuses[status] += n
        enterprise_row(enterprise_id)["applications"] += n
        if status in APPROVED:
            enterprise_row(enterprise_id)["approvals"] += n
    vehicles = session.scalar(
        passes.with_only_columns(func.count(func.distinct(Pass.vehicle_id))).where(
            Pass.status.in_(APPROVED)
        )
    )
    decided = passes.where(Pass.status.in_(DECIDED), Pass.reviewed_at.is_not(None))
    median = _median_wait(
        session, decided, session.scalar(decided.with_only_columns(func.count())) or 0
    )

    opened = _hour(session, Trip.opened_at, shift)
    for bucket, n in session.execute(
        trips.with_only_columns(opened, func.count()).group_by(opened)
    ):
        by_day[day_of(bucket)]["trips"] += n
    n_trips = n_closed = n_loops = 0
    for enterprise_id, n, n_exited, n_loop in session.execute(
        trips.with_only_columns(Trip.enterprise_id, func.count(), closed, loop).group_by(
            Trip.enterprise_id
        )
    ):
        enterprise_row(enterprise_id)["trips"] += n
        n_trips, n_closed, n_loops = n_trips + n, n_closed + n_exited, n_loops + n_loop

    anomalies = dict(
        session.execute(
            scoped(select(Anomaly.kind, func.count()), Anomaly, user)
            .where(Anomaly.detected_at >= lo, Anomaly.detected_at < hi)
            .group_by(Anomaly.kind)
        ).all()
    )
    enterprises = {"registered": None, "approved": None}
    if user.is_oversight:
        rows = session.execute(
            select(Enterprise.status, func.count())
            .where(Enterprise.created_at >= lo, Enterprise.created_at < hi)
            .group_by(Enterprise.status)
        ).all()
        enterprises = {
            "registered": sum(n for _, n in rows),
            "approved": sum(n for s, n in rows if s == "approved"),
        }
    names = dict(
        session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(list(by_enterprise)))
        ).all()
    )
    approvals = sum(statuses[s] for s in APPROVED)
    rejections = statuses[PassStatus.REJECTED]

    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "enterprises_registered": enterprises["registered"],
        "enterprises_approved": enterprises["approved"],
        "applications": sum(statuses.values()),
        "approvals": approvals,
        "rejections": rejections,
        "rejection_rate": round(rejections / (approvals + rejections), 4)
        if approvals or rejections
        else None,
        "vehicles_with_approved_passes": vehicles,
        "trips_opened": n_trips,
        "trips_closed": n_closed,
        "closed_loop_rate": round(n_loops / n_trips, 4) if n_trips else None,
        "anomalies": anomalies,
        "median_approval_seconds": median,
        "by_day": [{"day": d, **by_day[d]} for d in days],
        "by_enterprise": sorted(
            ({"enterprise_id": e, "name": names.get(e, ""), **v} for e, v in by_enterprise.items()),
            key=lambda r: (-r["applications"], -r["trips"], r["enterprise_id"]),
        ),
    }
