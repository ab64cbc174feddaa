"""Alerts: an oversight user subscribes to anomaly kinds and hears of each new one in the app
and, if asked, by SMS through the outbox; a daily summary by SMS is optional.

Raising a notification twice adds nothing (a unique key per user and anomaly or day), so
sweeps, retries and a repeated daily run are safe.

Over 300 lines on purpose: alert settings, the receivers and each alert kind's thresholds
and texts in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import model_validator
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.domain import OVERSIGHT_ROLES, Role
from accounts.models import User
from accounts.schemas import Input, Mobile
from checkpoints import events
from checkpoints.domain import AnomalyKind
from checkpoints.models import Anomaly, Scan, Trip
from core import audit
from core.errors import N_, ValidationFailed
from core.prepared import Prepared
from federation import events as federation_events
from passes.models import Pass
from sms import outbox
from sms.models import SmsMessage
from sms.text import (
    alert_text,
    audit_halted_text,
    daily_text,
    denied_alert_text,
    forged_alert_text,
)
from supervision import statistics
from supervision.models import AlertSettings, Notification
from trust import events as trust_events

DAILY_SUMMARY = "daily_summary"


class ScanAlert(StrEnum):
    """Alerts on denied scans (not anomalies: no trip stands behind them)."""

    FORGED_CODES = "forged_codes"  # codes naming no trusted pass, again and again at a gate
    REPEATED_DENIALS = "repeated_denials"  # one pass refused again and again


# What a supervisor may subscribe to: every anomaly kind and the alerts on denied scans.
AlertKind = StrEnum("AlertKind", {k.name: k.value for k in (*AnomalyKind, *ScanAlert)})


class AlertSettingsIn(Input):
    kinds: list[AlertKind] = []  # type: ignore[valid-type]
    sms: bool = False
    phone: Mobile | None = None
    daily_summary: bool = False

    @model_validator(mode="after")
    def sms_needs_a_phone(self) -> AlertSettingsIn:
        if (self.sms or self.daily_summary) and not self.phone:
            raise ValidationFailed.one("phone", N_("Enter a mobile number to receive SMS."))
        return self


def settings_of(session: Session, user: User) -> AlertSettings:
    """The user's settings, or unsaved empty ones."""
    return session.get(AlertSettings, user.id) or AlertSettings(
        user_id=user.id, kinds=[], sms=False, phone=None, daily_summary=False
    )


def save_settings(
    session: Session, user: User, data: AlertSettingsIn, *, now: datetime
) -> AlertSettings:
    settings = session.get(AlertSettings, user.id)
    if settings is None:
        settings = AlertSettings(user_id=user.id)
        session.add(settings)
    settings.kinds = sorted({str(k) for k in data.kinds})
    settings.sms, settings.phone = data.sms, data.phone
    settings.daily_summary, settings.updated_at = data.daily_summary, now
    audit.record(
        session,
        actor_id=user.id,
        action=audit.Action.ALERTS_UPDATE,
        object_type="user",
        object_id=user.id,
        data={"kinds": settings.kinds, "sms": data.sms, "daily_summary": data.daily_summary},
        now=now,
    )
    session.commit()
    return settings


def _listeners(session: Session) -> list[tuple[AlertSettings, User]]:
    rows = session.execute(
        select(AlertSettings, User)
        .join(User, User.id == AlertSettings.user_id)
        .where(User.active.is_(True), User.role.in_(OVERSIGHT_ROLES))
    ).all()
    return [(s, u) for s, u in rows]


def notify(session: Session, key: str, user_id: int, **values: Any) -> bool:
    """Add a notification unless its key exists; True when added."""
    if session.scalar(select(Notification.id).where(Notification.key == key)):
        return False
    session.add(Notification(key=key, user_id=user_id, **values))
    return True


# Who listens for anomalies at all: one small Core read, as this runs inside every scan
# that raises an anomaly (the ORM read of settings and users follows only when someone does).
_users = User.__table__
_SUBSCRIBED_KINDS = Prepared(
    select(AlertSettings.__table__.c.kinds)
    .join(_users, _users.c.id == AlertSettings.__table__.c.user_id)
    .where(_users.c.active.is_(True), or_(*(_users.c.role == r for r in OVERSIGHT_ROLES)))
)


def _alert_sms_sent(session: Session, phone: str, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                SmsMessage.to == phone,
                SmsMessage.dedupe_key.like("alert:%"),
                SmsMessage.created_at >= since,
            )
        )
        or 0
    )


def anomaly_raised(
    session: Session,
    anomaly: Anomaly,
    *,
    now: datetime,
    window: timedelta = timedelta(minutes=10),
    sms_per_window: int = 5,
) -> int:
    """Tell every subscriber of this kind, in the caller's transaction; returns how many.
    A subscriber gets at most `sms_per_window` alert SMS within `window` (a burst of
    anomalies, say from an uploaded queue, stays in the app beyond that)."""
    subscribed = _SUBSCRIBED_KINDS(session.connection())
    if not any(anomaly.kind in (row.kinds or []) for row in subscribed):
        return 0
    listeners = [(s, u) for s, u in _listeners(session) if anomaly.kind in (s.kinds or [])]
    trip = session.get(Trip, anomaly.trip_id)
    number = session.scalar(select(Pass.number).where(Pass.id == anomaly.pass_id))
    shown = {"plate": trip.plate if trip else "", "number": number or ""}
    for settings, user in listeners:
        added = notify(
            session,
            f"anomaly:{anomaly.id}:{user.id}",
            user.id,
            kind=anomaly.kind,
            anomaly_id=anomaly.id,
            trip_id=anomaly.trip_id,
            data=shown,
            created_at=now,
        )
        sms = added and settings.sms and settings.phone
        if sms and _alert_sms_sent(session, settings.phone, now - window) < sms_per_window:
            outbox.enqueue(
                session,
                dedupe_key=f"alert:{anomaly.id}:{user.id}",
                to=settings.phone,
                body=alert_text(user.locale or "zh_CN", kind=anomaly.kind, **shown),
                now=now,
            )
    return len(listeners)


@dataclass(frozen=True)
class DenialLimits:
    """When denials become an alert: forged codes at one checkpoint, or refusals of one
    pass, counted within `window` (settings ALERT_WINDOW_MINUTES,
    ALERT_FORGED_PER_CHECKPOINT, ALERT_DENIALS_PER_PASS)."""

    window: timedelta = timedelta(minutes=10)
    forged: int = 5
    per_pass: int = 3
    sms_per_window: int = 5  # alert SMS to one subscriber (ALERT_SMS_PER_WINDOW)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> DenialLimits:
        return cls(
            window=timedelta(minutes=settings["ALERT_WINDOW_MINUTES"]),
            forged=settings["ALERT_FORGED_PER_CHECKPOINT"],
            per_pass=settings["ALERT_DENIALS_PER_PASS"],
            sms_per_window=settings["ALERT_SMS_PER_WINDOW"],
        )


class _AnomalyReceiver:
    """anomaly_raised's receiver, with the limits it was given."""

    def __init__(self, limits: DenialLimits):
        self.limits = limits

    def __call__(self, anomaly: Anomaly, *, session: Session, now: datetime) -> None:
        limits = self.limits
        anomaly_raised(
            session, anomaly, now=now, window=limits.window, sms_per_window=limits.sms_per_window
        )


class _DenialReceiver:
    """scan_denied's receiver, with the limits it was given."""

    def __init__(self, limits: DenialLimits):
        self.limits = limits

    def __call__(self, denial: Any, *, session: Session, now: datetime) -> None:
        limits = self.limits
        scan_denied(
            session,
            denial,
            now=now,
            window=limits.window,
            forged=limits.forged,
            per_pass=limits.per_pass,
        )


AUDIT_HALTED = "audit_halted"
AUDIT_GUARDIANS = (Role.ADMIN, Role.SUPERVISOR)


def audit_halted(
    session: Session, problem: str, *, now: datetime, window: timedelta, sms_per_window: int
) -> int:
    """The audit sequencer stopped signing: every active administrator and supervisor is
    told in the app (once a day), and by SMS where they take alerts by SMS, within the
    same limit as every alert SMS. In the caller's transaction; returns how many."""
    day = now.date().isoformat()
    told = 0
    for user in _guardians(session):
        key = f"{AUDIT_HALTED}:{day}:{user.id}"
        if not notify(session, key, user.id, kind=AUDIT_HALTED, data={}, created_at=now):
            continue
        told += 1
        settings = session.get(AlertSettings, user.id)
        phone = settings.phone if settings is not None and settings.sms else None
        if phone and _alert_sms_sent(session, phone, now - window) < sms_per_window:
            body = audit_halted_text(user.locale or "zh_CN")
            outbox.enqueue(session, dedupe_key=f"alert:{key}", to=phone, body=body, now=now)
    return told


PEER_FORKED = "peer_forked"


def _guardians(session: Session) -> list[User]:
    return list(
        session.scalars(select(User).where(User.active.is_(True), User.role.in_(AUDIT_GUARDIANS)))
    )


def peer_forked(session: Session, peer: Any, *, now: datetime, why: str) -> int:
    """A peer's audit log did not extend what we witnessed (or it holds another history of
    ours): every active administrator and supervisor is told in the app, once a day per
    peer. In the caller's transaction; returns how many."""
    day = now.date().isoformat()
    data = {"area_code": peer.area_code, "name": peer.name, "why": why}
    return sum(
        notify(
            session,
            f"{PEER_FORKED}:{peer.area_code}:{day}:{user.id}",
            user.id,
            kind=PEER_FORKED,
            data=data,
            created_at=now,
        )
        for user in _guardians(session)
    )


def _peer_forked_receiver(peer: Any, *, session: Session, now: datetime, why: str) -> None:
    peer_forked(session, peer, now=now, why=why)


class _AuditHaltReceiver:
    def __init__(self, limits: DenialLimits):
        self.limits = limits

    def __call__(self, problem: str, *, session: Session, now: datetime) -> None:
        limits = self.limits
        audit_halted(
            session, problem, now=now, window=limits.window, sms_per_window=limits.sms_per_window
        )


# This process's receivers (a new app replaces them): (signal, receiver)
_connected: list[tuple[Any, Any]] = []


def connect_receivers(limits: DenialLimits) -> None:
    """Listen to the checkpoint loop's announcements (called by the app factory). One
    receiver per signal and process: connecting again, as a second app does, replaces
    the first."""
    while _connected:
        signal, receiver = _connected.pop()
        signal.disconnect(receiver)
    for signal, receiver in (
        (events.anomaly_raised, _AnomalyReceiver(limits)),
        (events.scan_denied, _DenialReceiver(limits)),
        (trust_events.audit_halted, _AuditHaltReceiver(limits)),
        (federation_events.peer_forked, _peer_forked_receiver),
    ):
        signal.connect(receiver)
        _connected.append((signal, receiver))


def _denial_alerts(
    reader: Any, denial: Any, *, now: datetime, window: timedelta, forged: int, per_pass: int
) -> list[tuple[ScanAlert, str, dict[str, Any]]]:
    """Which alerts this denial crosses the threshold of, among those anyone subscribes to:
    (kind, key unique per window, what the notice says)."""
    wanted = {k for row in _SUBSCRIBED_KINDS(reader) for k in (row.kinds or [])}
    since, minutes = now - window, int(window.total_seconds() // 60)
    bucket = int(now.timestamp() // window.total_seconds())
    raised: list[tuple[ScanAlert, str, dict[str, Any]]] = []
    if ScanAlert.FORGED_CODES in wanted and denial.pass_id is None:
        count = reader.scalar(
            select(func.count()).where(
                Scan.checkpoint_id == denial.checkpoint_id,
                Scan.recorded_at >= since,
                Scan.decision == "deny",
                Scan.pass_id.is_(None),
            )
        )
        if count >= forged:
            data = {"checkpoint": denial.checkpoint, "count": count, "minutes": minutes}
            raised.append((ScanAlert.FORGED_CODES, f"forged:{denial.checkpoint_id}:{bucket}", data))
    if ScanAlert.REPEATED_DENIALS in wanted and denial.pass_id is not None:
        count = reader.scalar(
            select(func.count()).where(
                Scan.pass_id == denial.pass_id,
                Scan.recorded_at >= since,
                Scan.decision == "deny",
            )
        )
        if count >= per_pass:
            data = {
                "number": denial.number,
                "plate": denial.plate,
                "count": count,
                "minutes": minutes,
            }
            raised.append((ScanAlert.REPEATED_DENIALS, f"denied:{denial.pass_id}:{bucket}", data))
    return raised


def scan_denied(
    session: Session,
    denial: Any,
    *,
    now: datetime,
    window: timedelta,
    forged: int,
    per_pass: int,
) -> int:
    """After a denied scan: alert subscribers when its checkpoint has seen `forged` codes
    that name no trusted pass (forged, altered, foreign, malformed, unknown number) within
    `window`, or when its pass has been denied `per_pass` times; once per window and
    checkpoint or pass. Returns how many notifications were added; commits."""
    # Read on a connection of its own, outside any transaction: on SQLite the request's
    # session would take the database's write lock for every denied scan.
    with session.get_bind().execution_options(read_only=True).connect() as reader:
        raised = _denial_alerts(
            reader, denial, now=now, window=window, forged=forged, per_pass=per_pass
        )
    if not raised:
        return 0
    added = 0
    for kind, key, data in raised:
        for settings, user in _listeners(session):
            if kind not in (settings.kinds or []):
                continue
            notice = f"{key}:{user.id}"
            if not notify(session, notice, user.id, kind=kind, data=data, created_at=now):
                continue
            added += 1
            if settings.sms and settings.phone:
                locale = user.locale or "zh_CN"
                text = (
                    forged_alert_text(locale, **data)
                    if kind == ScanAlert.FORGED_CODES
                    else denied_alert_text(locale, **data)
                )
                outbox.enqueue(session, dedupe_key=notice, to=settings.phone, body=text, now=now)
    try:
        session.commit()
    except IntegrityError:  # the same alert added meanwhile by another process: it stands
        session.rollback()
        return 0
    return added


def daily_summary(session: Session, day: date, *, now: datetime, tz: str) -> int:
    """Send the summary of `day` to everyone who asked for it; returns how many were new."""
    sent = 0
    for settings, user in _listeners(session):
        if not settings.daily_summary:
            continue
        figures = statistics.figures(
            session, user, {"from": day.isoformat(), "to": day.isoformat()}, now=now, tz=tz
        )
        pending = session.scalar(
            select(func.count()).select_from(Pass).where(Pass.status == "submitted")
        )
        data = {
            "day": day.isoformat(),
            "opened": figures["trips_opened"],
            "loop_rate": figures["closed_loop_rate"],
            "anomalies": sum(figures["anomalies"].values()),
            "pending": pending or 0,
        }
        key = f"summary:{day.isoformat()}:{user.id}"
        if not notify(session, key, user.id, kind=DAILY_SUMMARY, data=data, created_at=now):
            continue
        sent += 1
        if settings.phone:
            outbox.enqueue(
                session,
                dedupe_key=key,
                to=settings.phone,
                body=daily_text(user.locale or "zh_CN", **data),
                now=now,
            )
    session.commit()
    return sent


def unread_count(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def inbox(user: User, *, unread_only: bool = False) -> Any:
    """The user's notifications, newest first (a statement, for pagination)."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def mark_read(session: Session, user: User, ids: list[int] | None, *, now: datetime) -> int:
    """Mark the user's notifications read (all when `ids` is None); returns how many."""
    stmt = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    marked = session.execute(stmt).rowcount
    session.commit()
    return marked


def yesterday(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)
