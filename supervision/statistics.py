"""The figures authorities report, for a date range (local days), by day and by enterprise.

Passes and trips go through tenant scoping, so an enterprise gets its own statistics.

Over 300 lines on purpose: the figures, their daily counts and the live count share one
definition of each figure, so the two always agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pyroaring import BitMap
from sqlalchemy import Integer, Select, case, cast, func, or_, select
from sqlalchemy.orm import Session

from accounts.models import Enterprise, User
from accounts.scoping import scoped
from checkpoints.bookings import EARLY, SLOT
from checkpoints.bookings import Status as BookingStatus
from checkpoints.domain import TripState
from checkpoints.models import Anomaly, Booking, Trip
from core import db, heartbeat
from core.errors import N_, ValidationFailed
from passes.domain import PassStatus
from passes.models import Pass
from supervision import statistics_scans
from supervision.models import DailyFigure, MonthlyFigure
from supervision.statistics_scans import EVERYONE

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


def _minutes(session: Session, start: Any, end: Any) -> Any:
    """Whole minutes from `start` to `end` (filing to decision, a booked hour to entry),
    as the database computes them."""
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", end - start)
        return cast(func.floor(seconds / 60), Integer)
    seconds = func.round((func.julianday(end) - func.julianday(start)) * 86400)
    return cast(seconds / 60, Integer)


def empty_row() -> dict[str, Any]:
    return {
        "applications": 0,
        "approved": 0,
        "rejected": 0,
        "approvals": 0,
        "trips": 0,
        "trips_closed": 0,
        "loops": 0,
        "waits": Counter(),
        "anomalies": Counter(),
        "stops": 0,
        "bookings_kept": 0,
        "bookings_off_hour": 0,
        "bookings_missed": 0,
        "slot_waits": Counter(),
        "scans": 0,  # recorded that day (statistics_scans)
        "entries": 0,
        "exits": 0,
        "denials": Counter(),  # first reason -> refused scans
        "vehicles": BitMap(),
    }


def day_rows(
    session: Session,
    user: User | None,
    lo: datetime,
    hi: datetime,
    zone: ZoneInfo,
    now: datetime | None = None,
    *,
    scans: bool = True,
) -> dict[tuple[str, int], dict[str, Any]]:
    """Each (local day, enterprise)'s figures from the passes, trips, bookings, scans and
    anomalies of [lo, hi): what DailyFigure keeps. `user` scopes them (None: everyone's); a booking
    is missed once its hour ended before `now` (`hi` if not given) without the truck; the
    scans are left out (zero) unless `scans`."""
    shift = timedelta(seconds=lo.utcoffset().total_seconds() % 3600)  # type: ignore[union-attr]
    day_of = _day_of(zone, shift)
    rows: dict[tuple[str, int], dict[str, Any]] = {}

    def row(bucket: str, enterprise_id: int) -> dict[str, Any]:
        return rows.setdefault((day_of(bucket), enterprise_id), empty_row())

    def scope(stmt: Select[Any], model: type) -> Select[Any]:
        # an enterprise's own figures: a consignee does not count the trips bound for it
        return stmt if user is None else scoped(stmt, model, user, shared=False)

    created = _hour(session, Pass.created_at, shift)
    filed = (Pass.created_at >= lo, Pass.created_at < hi)
    for bucket, enterprise_id, status, n in session.execute(
        scope(select(created, Pass.enterprise_id, Pass.status, func.count()), Pass)
        .where(*filed)
        .group_by(created, Pass.enterprise_id, Pass.status)
    ):
        r = row(bucket, enterprise_id)
        r["applications"] += n
        r["approved"] += n if status in APPROVED else 0
        r["rejected"] += n if status == PassStatus.REJECTED else 0
    reviewed = _hour(session, Pass.reviewed_at, shift)
    for bucket, enterprise_id, n in session.execute(
        scope(select(reviewed, Pass.enterprise_id, func.count()), Pass)
        .where(Pass.status.in_(APPROVED), Pass.reviewed_at >= lo, Pass.reviewed_at < hi)
        .group_by(reviewed, Pass.enterprise_id)
    ):
        row(bucket, enterprise_id)["approvals"] += n
    for bucket, enterprise_id, vehicle_id in session.execute(
        scope(select(created, Pass.enterprise_id, Pass.vehicle_id), Pass)
        .where(*filed, Pass.status.in_(APPROVED))
        .distinct()
    ):
        row(bucket, enterprise_id)["vehicles"].add(vehicle_id)
    minutes = _minutes(session, Pass.created_at, Pass.reviewed_at)
    for bucket, enterprise_id, wait, n in session.execute(
        scope(select(created, Pass.enterprise_id, minutes, func.count()), Pass)
        .where(*filed, Pass.status.in_(DECIDED), Pass.reviewed_at.is_not(None))
        .group_by(created, Pass.enterprise_id, minutes)
    ):
        row(bucket, enterprise_id)["waits"][str(wait)] += n
    opened = _hour(session, Trip.opened_at, shift)
    closed = func.sum(case((Trip.state == TripState.EXITED, 1), else_=0))
    whole = Trip.entered_at.is_not(None) & Trip.arrived_at.is_not(None)
    loop = func.sum(case((whole & Trip.exited_at.is_not(None), 1), else_=0))
    stops = func.sum(Trip.stops)
    for bucket, enterprise_id, n, n_closed, n_loops, n_stops in session.execute(
        scope(select(opened, Trip.enterprise_id, func.count(), closed, loop, stops), Trip)
        .where(Trip.opened_at >= lo, Trip.opened_at < hi, Trip.state != TripState.VOID)
        .group_by(opened, Trip.enterprise_id)
    ):
        r = row(bucket, enterprise_id)
        r["trips"] += n
        r["trips_closed"] += n_closed or 0
        r["loops"] += n_loops or 0
        r["stops"] += n_stops or 0
    slot = _hour(session, Booking.slot_start, shift)
    came = _minutes(session, Booking.slot_start, Booking.arrived_at)
    ended = (now or hi) - SLOT
    missed = (Booking.status == BookingStatus.BOOKED) & (Booking.slot_start <= ended)
    for bucket, enterprise_id, wait, is_missed, n in session.execute(
        scope(select(slot, Booking.enterprise_id, came, missed, func.count()), Booking)
        .where(Booking.slot_start >= lo, Booking.slot_start < hi)
        .where((Booking.status == BookingStatus.ARRIVED) | missed)
        .group_by(slot, Booking.enterprise_id, came, missed)
    ):
        r = row(bucket, enterprise_id)
        if is_missed:
            r["bookings_missed"] += n
            continue
        kept = -EARLY <= timedelta(minutes=wait) <= SLOT  # bookings.timing's on time
        r["bookings_kept" if kept else "bookings_off_hour"] += n
        r["slot_waits"][str(wait)] += n
    detected = _hour(session, Anomaly.detected_at, shift)
    for bucket, enterprise_id, kind, n in session.execute(
        scope(select(detected, Anomaly.enterprise_id, Anomaly.kind, func.count()), Anomaly)
        .where(Anomaly.detected_at >= lo, Anomaly.detected_at < hi)
        .group_by(detected, Anomaly.enterprise_id, Anomaly.kind)
    ):
        row(bucket, enterprise_id)["anomalies"][kind] += n
    if scans:
        statistics_scans.count(session, user, lo, hi, lambda c: _hour(session, c, shift), row)
    return rows


Sums = dict[int, dict[str, int]]


def add_row(into: dict[str, Any], row: dict[str, Any]) -> None:
    for name, value in row.items():
        if name == "vehicles":
            into[name] |= value
        else:
            into[name] += value


def fold(rows: dict[tuple[str, int], dict[str, Any]]) -> tuple[dict[str, Any], Sums]:
    """Per-(day, enterprise) rows as rows by day, and each enterprise's sums."""
    days: dict[str, Any] = {}
    by_enterprise: Sums = {}
    for (day, enterprise_id), r in rows.items():
        add_row(days.setdefault(day, empty_row()), r)
        mine = by_enterprise.setdefault(
            enterprise_id, {"applications": 0, "approvals": 0, "trips": 0}
        )
        mine["applications"] += r["applications"]
        mine["approvals"] += r["approved"]
        mine["trips"] += r["trips"]
    return days, by_enterprise


def _whole_months(start: date, end: date) -> list[str]:
    """The months (YYYY-MM) lying wholly within [start, end]."""
    months, day = [], start.replace(day=1)
    while day <= end:
        following = (day + timedelta(days=32)).replace(day=1)
        if day >= start and following - timedelta(days=1) <= end:
            months.append(day.isoformat()[:7])
        day = following
    return months


def as_row(kept: DailyFigure | MonthlyFigure) -> dict[str, Any]:
    """A kept row as day_rows gives its figures (histograms as Counters)."""
    r = {name: getattr(kept, name) for name in empty_row()}
    for name in HISTOGRAMS:
        r[name] = Counter(r[name])
    return r


HISTOGRAMS = ("waits", "anomalies", "slot_waits", "denials")
# What a day of the chart and the export shows (_by_day): its counts and the summaries of
# its histograms (`summaries`), not the histograms or the vehicles.
_DAY_SHOWN = [
    *(
        getattr(DailyFigure, name)
        for name in empty_row()
        if name not in ("vehicles", "stops", *HISTOGRAMS)
    ),
    DailyFigure.median_wait_minutes,
    DailyFigure.denials_total,
    DailyFigure.anomalies_total,
]


def summaries(r: Mapping[str, Any]) -> dict[str, Any]:
    """What a day's chart reads of its histograms, kept beside them."""
    return {
        "median_wait_minutes": _median_minutes(r["waits"]),
        "denials_total": sum(r["denials"].values()),
        "anomalies_total": sum(r["anomalies"].values()),
    }


def _kept(
    session: Session, user: User, start: date, end: date
) -> tuple[dict[str, Any], Sums, dict[str, Any]]:
    """The kept figures of the range: rows by day (what each shows), each enterprise's
    sums, and the range's totals. The sums and the totals come from the months wholly
    inside the range and the days outside those: a year adds twelve months and a few days,
    and its 365 days are read for their own figures only."""
    in_range = (DailyFigure.day >= start.isoformat(), DailyFigure.day <= end.isoformat())
    months = _whole_months(start, end)
    whole = (MonthlyFigure.month.in_(months),)
    # The days before the first whole month and after the last, as two ranges an index
    # reads (not the range's every day, tested one by one).
    if months:
        first, last = date.fromisoformat(f"{months[0]}-01"), date.fromisoformat(f"{months[-1]}-01")
        after = (last + timedelta(days=32)).replace(day=1)
        edges: tuple[Any, ...] = (
            or_(
                DailyFigure.day.between(start.isoformat(), (first - timedelta(days=1)).isoformat()),
                DailyFigure.day.between(after.isoformat(), end.isoformat()),
            ),
        )
    else:
        edges = in_range

    def own(stmt: Select[Any], model: type) -> Select[Any]:
        if user.is_oversight:
            return stmt.where(model.enterprise_id == EVERYONE)  # type: ignore[attr-defined]
        return scoped(stmt, model, user)

    shown = select(DailyFigure.day, *_DAY_SHOWN)  # one row a day: everyone's, or its own
    days = {
        row["day"]: dict(row)
        for row in session.execute(own(shown, DailyFigure).where(*in_range)).mappings()
    }
    totals = empty_row()
    for model, where in ((MonthlyFigure, whole), (DailyFigure, edges)):
        for kept in session.scalars(own(select(model), model).where(*where)):
            add_row(totals, as_row(kept))
    by_enterprise: Sums = {}
    for model, where in ((MonthlyFigure, whole), (DailyFigure, edges)):
        sums = scoped(
            select(
                model.enterprise_id,
                func.sum(model.applications),
                func.sum(model.approved),
                func.sum(model.trips),
            ),
            model,
            user,
        ).where(*where, model.enterprise_id != EVERYONE)
        for e, a, p, t in session.execute(sums.group_by(model.enterprise_id)):
            mine = by_enterprise.setdefault(e, {"applications": 0, "approvals": 0, "trips": 0})
            mine["applications"] += a
            mine["approvals"] += p
            mine["trips"] += t
    return days, by_enterprise, totals


def _median_minutes(waits: Mapping[str, int]) -> float | None:
    """The median of a histogram of whole minutes (the mean of the two middle ones), in one
    walk of its sorted minutes: a year's chart takes one a day."""
    total = sum(waits.values())
    if not total:
        return None
    low_at, high_at = (total - 1) // 2, total // 2
    seen, low = 0, None
    for minute, n in sorted((int(m), n) for m, n in waits.items()):
        seen += n
        if low is None and seen > low_at:
            low = minute
        if seen > high_at:
            return (low + minute) / 2  # type: ignore[operator]
    return None


def _by_day(day: str, r: dict[str, Any]) -> dict[str, Any]:
    """One day's figures as the page, its charts and its export show them: the passes filed
    that day (their median wait for a decision too), approvals given, trips opened (and of
    those closed, and whole loops), scans recorded, bookings whose hour it was, anomalies."""
    kept = "median_wait_minutes" in r  # a kept day: its summaries, not its histograms
    median = r["median_wait_minutes"] if kept else _median_minutes(r["waits"])
    denials = r["denials_total"] if kept else sum(r["denials"].values())
    anomalies = r["anomalies_total"] if kept else sum(r["anomalies"].values())
    return {
        "day": day,
        "applications": r["applications"],
        "approvals": r["approvals"],
        "rejections": r["rejected"],
        "trips": r["trips"],
        "trips_closed": r["trips_closed"],
        "loops": r["loops"],
        "closed_loop_rate": round(r["loops"] / r["trips"], 4) if r["trips"] else None,
        "median_approval_minutes": round(median, 1) if median is not None else None,
        "scans": r["scans"],
        "entries": r["entries"],
        "exits": r["exits"],
        "denials": denials,
        "bookings_kept": r["bookings_kept"],
        "bookings_off_hour": r["bookings_off_hour"],
        "bookings_missed": r["bookings_missed"],
        "anomalies": anomalies,
    }


# The statistics page reads the kept daily figures while they are this fresh, and counts
# from the passes and trips themselves otherwise (no timer yet, or one that stopped).
FRESH = timedelta(minutes=30)


def last_refresh(session: Session, tz: str) -> datetime | None:
    """When the daily figures were last counted, in local days of this time zone."""
    beat = heartbeat.latest(session, heartbeat.STATISTICS)
    return beat.at if beat is not None and (beat.data or {}).get("tz") == tz else None


def kept_as_of(session: Session, tz: str, now: datetime) -> datetime | None:
    """When the daily figures were last counted, if recently enough to be read."""
    at = last_refresh(session, tz)
    return at if at is not None and now - at <= FRESH else None


def figures(
    session: Session, user: User, args: Mapping[str, str], *, now: datetime, tz: str
) -> dict[str, Any]:
    zone = ZoneInfo(tz)
    start, end = date_range(args, now.astimezone(zone).date())
    lo = datetime.combine(start, time.min, zone)
    hi = datetime.combine(end + timedelta(days=1), time.min, zone)
    as_of = kept_as_of(session, tz, now)
    if as_of:
        rows_by_day, by_enterprise, totals = _kept(session, user, start, end)
    else:
        rows_by_day, by_enterprise = fold(day_rows(session, user, lo, hi, zone, now))
        totals = empty_row()
        for r in rows_by_day.values():
            add_row(totals, r)

    days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    by_enterprise = {e: v for e, v in by_enterprise.items() if any(v.values())}

    enterprises = {"registered": None, "approved": None}
    if user.is_oversight:
        found = session.execute(
            select(Enterprise.status, func.count())
            .where(Enterprise.created_at >= lo, Enterprise.created_at < hi)
            .group_by(Enterprise.status)
        ).all()
        enterprises = {
            "registered": sum(n for _, n in found),
            "approved": sum(n for s, n in found if s == "approved"),
        }
    names = dict(
        session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(list(by_enterprise)))
        ).all()
    )
    approvals, rejections = totals["approved"], totals["rejected"]
    median = _median_minutes(totals["waits"])
    slot_median = _median_minutes(totals["slot_waits"])
    n_trips = totals["trips"]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        # When the kept daily figures were counted (null: counted just now).
        "as_of": as_of.astimezone(UTC).isoformat().replace("+00:00", "Z") if as_of else None,
        "enterprises_registered": enterprises["registered"],
        "enterprises_approved": enterprises["approved"],
        "applications": totals["applications"],
        "approvals": approvals,
        "rejections": rejections,
        "rejection_rate": round(rejections / (approvals + rejections), 4)
        if approvals or rejections
        else None,
        "vehicles_with_approved_passes": len(totals["vehicles"]),
        "trips_opened": n_trips,
        "trips_closed": totals["trips_closed"],
        "closed_loop_rate": round(totals["loops"] / n_trips, 4) if n_trips else None,
        "anomalies": dict(totals["anomalies"]),
        "median_approval_seconds": round(median * 60) if median is not None else None,
        "stops": totals["stops"],
        "stops_per_trip": round(totals["stops"] / n_trips, 2) if n_trips else None,
        # Bookings whose hour is in the range: entered in it (or up to 15 minutes before),
        # entered outside it, its hour over without the truck; from the hour to the entry.
        "bookings_kept": totals["bookings_kept"],
        "bookings_off_hour": totals["bookings_off_hour"],
        "bookings_missed": totals["bookings_missed"],
        "median_slot_to_entry_seconds": round(slot_median * 60)
        if slot_median is not None
        else None,
        "scans": totals["scans"],
        "entries": totals["entries"],
        "exits": totals["exits"],
        "denials": sum(totals["denials"].values()),
        "denials_by_reason": dict(sorted(totals["denials"].items(), key=lambda r: (-r[1], r[0]))),
        "by_day": [_by_day(d, rows_by_day.get(d) or empty_row()) for d in days],
        "by_enterprise": sorted(
            ({"enterprise_id": e, "name": names.get(e, ""), **v} for e, v in by_enterprise.items()),
            key=lambda r: (-r["applications"], -r["trips"], r["enterprise_id"]),
        ),
    }


# Days whose figures may still change: a pass is valid at most PASS_MAX_DAYS, its trips
# close within it, and a review comes before (supervision/statistics_refresh.py).
SETTLING_DAYS = 16
