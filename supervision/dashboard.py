"""The figures on the supervisors' dashboard, computed in a few grouped queries.

Times are bucketed by UTC hour in SQL (portable between SQLite and PostgreSQL) and turned
into local hours and days in Python, so the display time zone needs no database support.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checkpoints.domain import OPEN_STATES
from checkpoints.models import Anomaly, Checkpoint, Scan, Trip
from passes.domain import Category, PassStatus, SmsStatus
from passes.models import Pass, SmsMessage


def _hour(session: Session, column: Any) -> Any:
    """A UTC hour bucket of a timestamp column, as text 'YYYY-MM-DDTHH'."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24')
    return func.strftime("%Y-%m-%dT%H", column)


def _local(bucket: str, zone: ZoneInfo) -> datetime:
    return datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)


def figures(session: Session, *, now: datetime, tz: str) -> dict[str, Any]:
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)

    inside = session.scalar(select(func.count()).where(Trip.state.in_(OPEN_STATES)))
    green = session.scalar(
        select(func.count())
        .select_from(Trip)
        .join(Pass, Pass.id == Trip.pass_id)
        .where(Trip.state.in_(OPEN_STATES), Pass.category == Category.EMERGENCY)
    )
    today = dict(
        session.execute(
            select(Scan.event, func.count())
            .where(
                Scan.recorded_at >= midnight,
                Scan.decision == "allow",
                Scan.event.in_(("entry", "arrival", "exit")),
            )
            .group_by(Scan.event)
        ).all()
    )
    anomalies = dict(
        session.execute(
            select(Anomaly.kind, func.count())
            .where(Anomaly.resolved_at.is_(None))
            .group_by(Anomaly.kind)
        ).all()
    )
    pending, oldest = session.execute(
        select(func.count(), func.min(Pass.created_at)).where(Pass.status == PassStatus.SUBMITTED)
    ).one()
    sms_failed = session.scalar(
        select(func.count()).where(SmsMessage.status.in_((SmsStatus.FAILED, SmsStatus.UNDELIVERED)))
    )

    hour = _hour(session, Scan.recorded_at)
    per_gate = session.execute(
        select(Checkpoint.code, hour, func.count())
        .join(Checkpoint, Checkpoint.id == Scan.checkpoint_id)
        .where(Scan.recorded_at >= now - timedelta(hours=24), Scan.event != "annul")
        .group_by(Checkpoint.code, hour)
    ).all()
    hours = [
        (local_now - timedelta(hours=23 - i)).replace(minute=0, second=0, microsecond=0)
        for i in range(24)
    ]
    series: dict[str, list[int]] = defaultdict(lambda: [0] * 24)
    for code, bucket, count in per_gate:
        when = _local(bucket, zone).replace(minute=0)
        if when in hours:
            series[code][hours.index(when)] += count

    opened = _hour(session, Trip.opened_at)
    per_day: Counter[str] = Counter()
    for bucket, count in session.execute(
        select(opened, func.count())
        .where(Trip.opened_at >= midnight - timedelta(days=29))
        .group_by(opened)
    ).all():
        per_day[_local(bucket, zone).date().isoformat()] += count
    days = [(midnight - timedelta(days=29 - i)).date().isoformat() for i in range(30)]

    return {
        "generated_at": now.isoformat(),
        "inside_now": inside,
        "green_channel_inside": green,
        "today": {
            "entry": today.get("entry", 0),
            "arrival": today.get("arrival", 0),
            "exit": today.get("exit", 0),
        },
        "open_anomalies": anomalies,
        "pending_applications": pending,
        "oldest_pending_seconds": int((now - oldest).total_seconds()) if oldest else None,
        "sms_failures": sms_failed,
        "scans_per_gate_hourly": {
            "hours": [h.strftime("%H:00") for h in hours],
            "series": dict(sorted(series.items())),
        },
        "daily_trips": {"days": days, "counts": [per_day.get(d, 0) for d in days]},
    }
