"""Keeping the daily figures (DailyFigure) true with work that grows with what happened
since the last count, not with history.

The timer (`flask statistics refresh`, every few minutes) recounts:
- the days since its last run began (less SETTLE, for writes still committing then), whole;
- older days a change reached, without their scans: the days of the trips, anomalies and
  bookings of every pass scanned since (a scan moves its trip on, may close another of
  the pass's trips, annuls and replays them, stamps an offline anomaly with the phone's
  time), a pass filed then and decided since, a booking of an hour then made, moved or
  kept since, or whose hour ended since. A scan counts on the day it was recorded, in the
  server's time, and never moves, so an older day's scan figures stay as they were kept.

Each month's figures (MonthlyFigure) are the sum of its days', kept again with any of them.
`--all` counts every day, a month at a time, each month committed; interrupted, it starts
again at the month it was counting if run again within a day (its progress is the
heartbeat STATISTICS_ALL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from checkpoints.bookings import SLOT
from checkpoints.models import Anomaly, Booking, Scan, Trip
from core import heartbeat
from passes.models import Pass
from supervision import statistics
from supervision.models import DailyFigure, MonthlyFigure
from supervision.statistics_scans import EVERYONE

SETTLE = timedelta(minutes=5)
# A booking is made, moved and kept within its pass's validity, so one changed since the
# last run has its hour at most this long before it (a pass is valid up to 14 days).
BOOKING_REACH = timedelta(days=statistics.SETTLING_DAYS)
SCAN_FIELDS = ("scans", "entries", "exits", "denials", "denials_total")
STATISTICS_ALL = "statistics_all"
# An interrupted --all is taken up if it began this recently; an older one starts afresh
# (a repair run months later must not skip the months counted before).
RESUME = timedelta(days=1)
OWNER = "statistics refresh --all"

Progress = Callable[[date, date, int], None]


def _bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    lo = datetime.combine(day, time.min, zone)
    return lo, datetime.combine(day + timedelta(days=1), time.min, zone)


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def touched_days(session: Session, since: datetime, now: datetime, zone: ZoneInfo) -> set[date]:
    """The local days before `since`'s whose figures a change since `since` reached (their
    scans excepted), each found from a small set by an index:

    - every pass scanned since (ix_scan_recorded): the days of all its trips, anomalies
      and bookings, since a scan may close another of its trips (a truck entering again),
      an annulment replays them all and gives a booking back, and an offline scan stamps
      an anomaly or an arrival with the phone's time;
    - every pass decided since (ix_pass_reviewed_at): its filing day;
    - every booking made, moved or kept since, or whose hour ended since."""
    moments: list[datetime] = []
    # From the scans since to their passes: joined the other way round, SQLite walked
    # every trip ever opened to find them.
    scanned = select(Scan.pass_id).where(Scan.recorded_at >= since, Scan.pass_id.is_not(None))
    for moment in (Trip.opened_at, Anomaly.detected_at, Booking.slot_start):
        model = moment.class_
        moments += session.scalars(
            select(moment).where(model.pass_id.in_(scanned.scalar_subquery())).distinct()
        )
    moments += session.scalars(select(Pass.created_at).where(Pass.reviewed_at >= since))
    changed = or_(
        Booking.created_at >= since,
        Booking.changed_at >= since,
        Booking.arrived_at >= since,
        Booking.slot_start.between(since - SLOT, now - SLOT),  # its hour ended since
    )
    moments += session.scalars(
        select(Booking.slot_start).where(Booking.slot_start >= since - BOOKING_REACH, changed)
    )
    first = _local_day(since, zone)
    return {d for d in (_local_day(m, zone) for m in moments) if d < first}


def _kept_rows(rows: dict[tuple[str, int], dict[str, Any]]) -> list[DailyFigure]:
    everyone, _ = statistics.fold(rows)
    rows.update({(day, EVERYONE): r for day, r in everyone.items()})
    return [
        DailyFigure(day=day, enterprise_id=enterprise_id, **_stored(r))
        for (day, enterprise_id), r in rows.items()
    ]


def _recount(session: Session, first: date, last: date, zone: ZoneInfo, now: datetime) -> int:
    """Count the days [first, last] whole and keep them in place of what was kept."""
    lo, _ = _bounds(first, zone)
    _, hi = _bounds(last, zone)
    rows = {
        key: r
        for key, r in statistics.day_rows(session, None, lo, hi, zone, now).items()
        if first.isoformat() <= key[0] <= last.isoformat()
    }
    session.execute(
        delete(DailyFigure).where(
            DailyFigure.day >= first.isoformat(), DailyFigure.day <= last.isoformat()
        )
    )
    kept = _kept_rows(rows)
    session.add_all(kept)
    return len(kept)


def _recount_without_scans(session: Session, day: date, zone: ZoneInfo, now: datetime) -> int:
    """Count one day again but its scans, which are kept as they were."""
    lo, hi = _bounds(day, zone)
    rows = statistics.day_rows(session, None, lo, hi, zone, now, scans=False)
    rows = {key: r for key, r in rows.items() if key[0] == day.isoformat()}
    before = {
        kept.enterprise_id: kept
        for kept in session.scalars(select(DailyFigure).where(DailyFigure.day == day.isoformat()))
    }
    for enterprise_id in before:  # everyone's too: a day of refused codes alone keeps it
        rows.setdefault((day.isoformat(), enterprise_id), statistics.empty_row())
    kept = _kept_rows(rows)
    for figure in kept:
        old = before.get(figure.enterprise_id)
        for name in SCAN_FIELDS:
            setattr(figure, name, getattr(old, name) if old is not None else _empty(name))
    session.execute(delete(DailyFigure).where(DailyFigure.day == day.isoformat()))
    session.add_all(kept)
    return len(kept)


def _roll_up(session: Session, months: Iterable[str]) -> None:
    """Keep each month's figures (MonthlyFigure) as the sum of its days'."""
    for month in sorted(set(months)):
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        for kept in session.scalars(
            select(DailyFigure).where(
                DailyFigure.day >= f"{month}-01", DailyFigure.day <= f"{month}-31"
            )
        ):
            r = statistics.as_row(kept)
            statistics.add_row(
                rows.setdefault((month, kept.enterprise_id), statistics.empty_row()), r
            )
        session.execute(delete(MonthlyFigure).where(MonthlyFigure.month == month))
        session.add_all(
            MonthlyFigure(month=month, enterprise_id=enterprise_id, **_stored(r))
            for (month, enterprise_id), r in rows.items()
        )


def _stored(r: dict[str, Any]) -> dict[str, Any]:
    return {
        **r,
        "waits": dict(r["waits"]),
        "anomalies": dict(r["anomalies"]),
        "slot_waits": dict(r["slot_waits"]),
        "denials": dict(r["denials"]),
        **statistics.summaries(r),
    }


def _empty(name: str) -> Any:
    return {} if name == "denials" else 0


def refresh(
    session: Session,
    *,
    now: datetime,
    tz: str,
    everything: bool = False,
    progress: Progress | None = None,
) -> int:
    """Bring the daily figures up to `now`; returns how many rows were written. Commits.

    Without a count in this time zone before, or with `everything`, every day is counted
    (`count_all`); otherwise what changed since the last count began."""
    zone = ZoneInfo(tz)
    _one_at_a_time(session)
    before = statistics.last_refresh(session, tz)
    if everything or before is None:
        session.rollback()  # count_all takes the lock month by month
        return count_all(session, now=now, zone=zone, progress=progress)
    since = min(before, now) - SETTLE
    today = _local_day(now, zone)
    written, first = 0, min(_local_day(since, zone), today)
    older = sorted(touched_days(session, since, now, zone))
    for day in older:
        written += _recount_without_scans(session, day, zone, now)
    written += _recount(session, first, today, zone, now)
    session.flush()
    recent = (first + timedelta(days=n) for n in range((today - first).days + 1))
    _roll_up(session, (d.isoformat()[:7] for d in (*older, *recent)))
    _beat(session, now, tz, since)
    session.commit()
    return written


# Counts that write the same days take turns: the timer on two machines, or a timer run
# beside a manual --all, would otherwise both delete a day's rows and both insert them.
# SQLite's write lock already makes them; on PostgreSQL a transaction-scoped advisory lock.
LOCK_KEY = 0x7E57A7  # any number no other part of the app locks


def _one_at_a_time(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))


def _beat(session: Session, at: datetime, tz: str, since: datetime) -> None:
    data = {"tz": tz, "since": since.astimezone(UTC).isoformat()}
    heartbeat.beat(session, heartbeat.STATISTICS, "statistics refresh", at, data)


def _months(first: date, last: date) -> Iterable[tuple[date, date]]:
    start = first
    while start <= last:
        following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        yield start, min(last, following - timedelta(days=1))
        start = following


def count_all(
    session: Session, *, now: datetime, zone: ZoneInfo, progress: Progress | None = None
) -> int:
    """Every day from the first filing to today, a month per transaction. A run that was
    cut off within RESUME is taken up at the month it was counting (same time zone); the
    figures are stamped with when the first attempt began, so the next timer run recounts
    what changed while they were counted."""
    tz = str(zone)
    today = _local_day(now, zone)
    state = session.get(heartbeat.Heartbeat, (STATISTICS_ALL, OWNER))
    data = dict(state.data) if state is not None else {}
    began_before = datetime.fromisoformat(data["began"]) if data.get("began") else None
    if data.get("tz") == tz and data.get("next") and began_before and now - began_before < RESUME:
        start, began = date.fromisoformat(data["next"]), began_before
    else:
        first = session.scalar(select(func.min(Pass.created_at)))
        start, began = (_local_day(first, zone) if first else today), now
    written = 0
    for lo, hi in _months(start, today):
        _one_at_a_time(session)
        written += _recount(session, lo, hi, zone, now)
        session.flush()
        _roll_up(session, [lo.isoformat()[:7]])
        following = hi + timedelta(days=1)
        step = {"tz": tz, "began": began.isoformat(), "next": following.isoformat()}
        heartbeat.beat(session, STATISTICS_ALL, OWNER, now, step)
        session.commit()
        if progress is not None:
            progress(lo, hi, written)
    heartbeat.beat(session, STATISTICS_ALL, OWNER, now, {"tz": tz, "done": today.isoformat()})
    _beat(session, began, tz, began)
    session.commit()
    return written
