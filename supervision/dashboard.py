"""The figures on the supervisors' dashboard.

Scans and trip openings are stamped with the server's time when they are written, so the
counts for an hour or a day that is over never change (a voided trip excepted, see
`_void_trips`). Each process keeps those counts in a `WindowCache`; a refresh counts only the
current hour and today afresh, which keeps the dashboard fast with millions of rows. Windows
are local hours and local days computed in Python, so no database time-zone support is needed.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from accounts.models import User
from checkpoints.domain import OPEN_STATES, TripState
from checkpoints.models import Anomaly, Checkpoint, Scan, ScannerDevice, Trip
from passes.domain import Category, PassStatus
from passes.models import Pass
from sms.domain import SmsStatus
from sms.models import SmsMessage

T = TypeVar("T")
EVENTS = ("entry", "arrival", "exit")


class WindowCache:
    """Results for time windows that have ended, kept for `keep` after they ended.

    A window is only cached once it ended more than `settle` ago, so writes still committing
    when it closed are counted.
    """

    def __init__(
        self, settle: timedelta = timedelta(minutes=5), keep: timedelta = timedelta(days=32)
    ):
        self.settle, self.keep = settle, keep
        self._data: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def get(
        self, key: tuple[Any, ...], end: datetime, now: datetime, compute: Callable[[], T]
    ) -> T:
        if end > now - self.settle:
            return compute()
        with self._lock:
            if key in self._data:
                return self._data[key]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._data[key] = value
            if len(self._data) > 512:
                oldest = now - self.keep
                self._data = {k: v for k, v in self._data.items() if k[1] >= oldest}
        return value


def _scan_counts(session: Session, lo: datetime, hi: datetime) -> list[tuple[int, str, str, int]]:
    """Scans recorded in [lo, hi) by checkpoint, event and decision."""
    rows = session.execute(
        select(Scan.checkpoint_id, Scan.event, Scan.decision, func.count())
        .where(Scan.recorded_at >= lo, Scan.recorded_at < hi)
        .group_by(Scan.checkpoint_id, Scan.event, Scan.decision)
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _denials(session: Session, lo: datetime, hi: datetime) -> dict[str, int]:
    """Scans denied in [lo, hi), each counted once under its first reason."""
    rows = session.execute(
        select(cast(Scan.reasons, String), func.count())
        .where(Scan.recorded_at >= lo, Scan.recorded_at < hi, Scan.decision == "deny")
        .group_by(cast(Scan.reasons, String))
    ).all()
    counts: Counter[str] = Counter()
    for text, n in rows:
        reasons = json.loads(text) if text else []
        counts[reasons[0] if reasons else "unknown"] += n
    return dict(counts)


def _trips_opened(session: Session, lo: datetime, hi: datetime) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Trip.opened_at >= lo, Trip.opened_at < hi, Trip.state != TripState.VOID
            )
        )
        or 0
    )


def _void_trips(session: Session) -> int:
    """Annulling an entry voids its trip, which changes a past day's count: part of the key."""
    return session.scalar(select(func.count()).where(Trip.state == TripState.VOID)) or 0


SYNC_OVERDUE = timedelta(hours=1)


def scanners_attention(
    session: Session, *, now: datetime, list_max_age: timedelta
) -> list[dict[str, Any]]:
    """Phones whose kept lists are older than the limit, or whose queued offline scans
    have waited more than an hour, as each last reported."""
    rows = session.execute(
        select(ScannerDevice, User.username, Checkpoint.code)
        .join(User, User.id == ScannerDevice.user_id)
        .outerjoin(Checkpoint, Checkpoint.id == ScannerDevice.checkpoint_id)
        .where(
            or_(
                ScannerDevice.lists_at.is_(None),
                ScannerDevice.lists_at < now - list_max_age,
                and_(
                    ScannerDevice.queued > 0,
                    ScannerDevice.oldest_queued_at < now - SYNC_OVERDUE,
                ),
            )
        )
        .order_by(ScannerDevice.reported_at.desc())
        .limit(50)
    ).all()
    return [
        {
            "device": device.device_id[:8],
            "user": username,
            "checkpoint": code,
            "lists_at": device.lists_at.isoformat() if device.lists_at else None,
            "stale": device.lists_at is None or device.lists_at < now - list_max_age,
            "queued": device.queued,
            "unsynced": device.queued > 0
            and device.oldest_queued_at is not None
            and device.oldest_queued_at < now - SYNC_OVERDUE,
            "reported_at": device.reported_at.isoformat(),
        }
        for device, username, code in rows
    ]


def figures(
    session: Session,
    *,
    now: datetime,
    tz: str,
    cache: WindowCache,
    list_max_age: timedelta = timedelta(hours=24),
) -> dict[str, Any]:
    """The dashboard's figures; `cache` keeps the counts of windows that are over (the
    process's own, made by the app factory)."""
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    midnight = datetime.combine(local_now.date(), time.min, zone).astimezone(UTC)
    this_hour = local_now.replace(minute=0, second=0, microsecond=0).astimezone(UTC)

    # Scans, hour by hour, over the last 24 hours and since midnight.
    first = min(this_hour - timedelta(hours=23), midnight)
    starts = []
    while first <= this_hour:
        starts.append(first)
        first += timedelta(hours=1)
    last_24 = starts[-24:]
    codes = dict(session.execute(select(Checkpoint.id, Checkpoint.code)).all())
    series: dict[str, list[int]] = defaultdict(lambda: [0] * 24)
    today: Counter[str] = Counter()
    for lo in starts:
        hi = lo + timedelta(hours=1)
        counts = cache.get(("scans", lo), hi, now, lambda: _scan_counts(session, lo, hi))  # noqa: B023
        for checkpoint_id, event, decision, n in counts:
            if lo >= midnight and decision == "allow" and event in EVENTS:
                today[event] += n
            if lo in last_24 and event != "annul":
                series[codes.get(checkpoint_id, "?")][last_24.index(lo)] += n

    # Scans denied since midnight, by reason (forged and foreign codes among them).
    denied: Counter[str] = Counter()
    for lo in starts:
        if lo >= midnight:
            hi = lo + timedelta(hours=1)
            denied.update(cache.get(("denied", lo), hi, now, lambda: _denials(session, lo, hi)))  # noqa: B023

    # Trips opened, day by day, over the last 30 days.
    void = _void_trips(session)
    days = [local_now.date() - timedelta(days=29 - i) for i in range(30)]
    daily = []
    for day in days:
        lo = datetime.combine(day, time.min, zone).astimezone(UTC)
        hi = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(UTC)
        daily.append(
            cache.get(("trips", lo, void), hi, now, lambda: _trips_opened(session, lo, hi))  # noqa: B023
        )

    inside = session.scalar(select(func.count()).where(Trip.state.in_(OPEN_STATES)))
    green = session.scalar(
        select(func.count())
        .select_from(Trip)
        .join(Pass, Pass.id == Trip.pass_id)
        .where(Trip.state.in_(OPEN_STATES), Pass.category == Category.EMERGENCY)
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

    return {
        "generated_at": now.isoformat(),
        "inside_now": inside,
        "green_channel_inside": green,
        "today": {event: today[event] for event in EVENTS},
        "denied_today": dict(denied.most_common()),
        "open_anomalies": anomalies,
        "pending_applications": pending,
        "oldest_pending_seconds": int((now - oldest).total_seconds()) if oldest else None,
        "sms_failures": sms_failed,
        "scans_per_gate_hourly": {
            "hours": [h.astimezone(zone).strftime("%H:00") for h in last_24],
            "series": dict(sorted(series.items())),
        },
        "daily_trips": {"days": [d.isoformat() for d in days], "counts": daily},
        "scanners_attention": scanners_attention(session, now=now, list_max_age=list_max_age),
    }
