"""The figures authorities report, for a date range (local days), by day and by enterprise.

Passes and trips go through tenant scoping, so an enterprise gets its own statistics.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
            return date.fromisoformat(raw)
        except ValueError:
            raise ValidationFailed.one(name, N_("Enter a date such as 2026-11-22.")) from None

    start, end = parse("from", today - timedelta(days=29)), parse("to", today)
    if end < start:
        raise ValidationFailed.one("to", N_("The end date must not be before the start date."))
    if (end - start).days > 366:
        raise ValidationFailed.one("to", N_("Choose at most one year."))
    return start, end


def _local_day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat()


def figures(
    session: Session, user: User, args: Mapping[str, str], *, now: datetime, tz: str
) -> dict[str, Any]:
    zone = ZoneInfo(tz)
    start, end = date_range(args, now.astimezone(zone).date())
    lo = datetime.combine(start, time.min, zone)
    hi = datetime.combine(end + timedelta(days=1), time.min, zone)

    passes = session.execute(
        scoped(
            select(
                Pass.enterprise_id, Pass.status, Pass.created_at, Pass.reviewed_at, Pass.vehicle_id
            ),
            Pass,
            user,
        ).where(Pass.created_at >= lo, Pass.created_at < hi)
    ).all()
    trips = session.execute(
        scoped(
            select(
                Trip.enterprise_id,
                Trip.opened_at,
                Trip.state,
                Trip.entered_at,
                Trip.arrived_at,
                Trip.exited_at,
            ),
            Trip,
            user,
        ).where(Trip.opened_at >= lo, Trip.opened_at < hi, Trip.state != TripState.VOID)
    ).all()
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

    approved = [p for p in passes if p.status in APPROVED]
    rejected = [p for p in passes if p.status == PassStatus.REJECTED]
    waits = [
        (p.reviewed_at - p.created_at).total_seconds()
        for p in passes
        if p.status in DECIDED and p.reviewed_at
    ]
    closed = [t for t in trips if t.state == TripState.EXITED]
    loops = [t for t in trips if t.entered_at and t.arrived_at and t.exited_at]

    days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    by_day = {d: {"applications": 0, "approvals": 0, "trips": 0} for d in days}
    by_enterprise: dict[int, dict[str, int]] = {}
    for p in passes:
        row = by_enterprise.setdefault(
            p.enterprise_id, {"applications": 0, "approvals": 0, "trips": 0}
        )
        row["applications"] += 1
        by_day[_local_day(p.created_at, zone)]["applications"] += 1
        if p.status in APPROVED:
            row["approvals"] += 1
            if p.reviewed_at and _local_day(p.reviewed_at, zone) in by_day:
                by_day[_local_day(p.reviewed_at, zone)]["approvals"] += 1
    for t in trips:
        by_enterprise.setdefault(t.enterprise_id, {"applications": 0, "approvals": 0, "trips": 0})[
            "trips"
        ] += 1
        by_day[_local_day(t.opened_at, zone)]["trips"] += 1
    names = dict(
        session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(list(by_enterprise)))
        ).all()
    )

    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "enterprises_registered": enterprises["registered"],
        "enterprises_approved": enterprises["approved"],
        "applications": len(passes),
        "approvals": len(approved),
        "rejections": len(rejected),
        "rejection_rate": round(len(rejected) / (len(approved) + len(rejected)), 4)
        if approved or rejected
        else None,
        "vehicles_with_approved_passes": len({p.vehicle_id for p in approved}),
        "trips_opened": len(trips),
        "trips_closed": len(closed),
        "closed_loop_rate": round(len(loops) / len(trips), 4) if trips else None,
        "anomalies": anomalies,
        "median_approval_seconds": int(statistics.median(waits)) if waits else None,
        "by_day": [{"day": d, **by_day[d]} for d in days],
        "by_enterprise": sorted(
            ({"enterprise_id": e, "name": names.get(e, ""), **v} for e, v in by_enterprise.items()),
            key=lambda r: (-r["applications"], -r["trips"], r["enterprise_id"]),
        ),
    }
