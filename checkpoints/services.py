"""Checkpoint administration, officer assignment, anomaly resolution and the loop sweep."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import events as account_events
from accounts.domain import EnterpriseStatus, Role
from accounts.models import Enterprise, User
from accounts.schemas import UserCreate
from checkpoints import events
from checkpoints.domain import OPEN_STATES, Kind, SweepPolicy, due_anomalies
from checkpoints.models import Anomaly, Checkpoint, Trip, officer_checkpoint
from checkpoints.schemas import CheckpointIn
from core import audit
from core.errors import N_, Conflict, NotFound, ValidationFailed
from passes import events as pass_events
from passes.models import Pass
from sms import outbox
from sms.text import anomaly_text

OFFICERS_AT = (Kind.GATE, Kind.STATION)  # a site is its enterprise's own to scan


def create_checkpoint(
    session: Session, data: CheckpointIn, *, actor: User | None, now: datetime
) -> Checkpoint:
    errors: dict[str, list[str]] = {}
    if session.scalar(select(Checkpoint.id).where(Checkpoint.code == data.code)):
        errors["code"] = [N_("This checkpoint code is taken.")]
    if data.kind == Kind.SITE:
        enterprise = session.get(Enterprise, data.enterprise_id) if data.enterprise_id else None
        if enterprise is None or enterprise.status != EnterpriseStatus.APPROVED:
            errors["enterprise_id"] = [N_("A site belongs to an approved enterprise.")]
    elif data.enterprise_id is not None:
        errors["enterprise_id"] = [
            N_("A gate or a station belongs to the jurisdiction, not an enterprise.")
        ]
    if errors:
        raise ValidationFailed(errors)
    checkpoint = Checkpoint(
        code=data.code,
        name=data.name,
        kind=data.kind,
        enterprise_id=data.enterprise_id,
        active=True,
        created_at=now,
    )
    session.add(checkpoint)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id if actor else None,
        action=audit.Action.CHECKPOINT_CREATE,
        object_type="checkpoint",
        object_id=checkpoint.id,
        data={"code": data.code, "kind": data.kind},
        now=now,
    )
    session.commit()
    return checkpoint


def request_site(session: Session, user: User, *, now: datetime) -> Checkpoint:
    """An approved enterprise's own gate, created on its request (once)."""
    enterprise = session.get(Enterprise, user.enterprise_id)
    if enterprise is None or enterprise.status != EnterpriseStatus.APPROVED:
        raise ValidationFailed.one("enterprise", N_("Only an approved enterprise has a site."))
    existing = session.scalars(
        select(Checkpoint).where(
            Checkpoint.kind == Kind.SITE, Checkpoint.enterprise_id == enterprise.id
        )
    ).first()
    if existing:
        return existing
    data = CheckpointIn(
        code=f"SITE-{enterprise.id}",
        name=enterprise.name[:100],
        kind=Kind.SITE,
        enterprise_id=enterprise.id,
    )
    return create_checkpoint(session, data, actor=user, now=now)


def set_checkpoint_active(
    session: Session, checkpoint_id: int, active: bool, *, actor: User, now: datetime
) -> Checkpoint:
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound()
    checkpoint.active = active
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.CHECKPOINT_ACTIVATE if active else audit.Action.CHECKPOINT_DEACTIVATE,
        object_type="checkpoint",
        object_id=checkpoint.id,
        now=now,
    )
    session.commit()
    return checkpoint


def _open_trip_state(p: Any, *, session: Session) -> str | None:
    """For the driver's page: the state of the pass's open trip, if any."""
    return session.scalar(
        select(Trip.state).where(Trip.pass_id == p.id, Trip.state.in_(OPEN_STATES))
    )


def _assign_new_officer(
    user: User, *, session: Session, data: UserCreate, actor: User | None, now: datetime
) -> None:
    if data.checkpoint_ids:
        assign_checkpoints(session, user, data.checkpoint_ids, actor=actor, now=now, commit=False)


def officer_gates(
    session: Session, *, users: Iterable[User]
) -> tuple[list[Checkpoint], dict[int, set[int]]]:
    """The gates and stations officers can be given, and each listed officer's own."""
    gates = session.scalars(
        select(Checkpoint).where(Checkpoint.kind.in_(OFFICERS_AT)).order_by(Checkpoint.code)
    ).all()
    officers = [u.id for u in users if u.role == Role.OFFICER]
    assigned: dict[int, set[int]] = {i: set() for i in officers}
    rows = session.execute(
        select(officer_checkpoint.c.user_id, officer_checkpoint.c.checkpoint_id).where(
            officer_checkpoint.c.user_id.in_(officers)
        )
    )
    for user_id, checkpoint_id in rows:
        assigned[user_id].add(checkpoint_id)
    return list(gates), assigned


def assign_checkpoints(
    session: Session,
    officer: User,
    checkpoint_ids: Iterable[int],
    *,
    actor: User | None,
    now: datetime,
    commit: bool = True,
) -> None:
    ids = sorted(set(checkpoint_ids))
    if ids and officer.role != Role.OFFICER:
        raise ValidationFailed.one("checkpoint_ids", N_("Only officers are assigned checkpoints."))
    found = session.scalars(
        select(Checkpoint).where(Checkpoint.id.in_(ids), Checkpoint.kind.in_(OFFICERS_AT))
    ).all()
    if len(found) != len(ids):
        raise ValidationFailed.one("checkpoint_ids", N_("No such checkpoint."))
    session.execute(officer_checkpoint.delete().where(officer_checkpoint.c.user_id == officer.id))
    if ids:
        session.execute(
            officer_checkpoint.insert(), [{"user_id": officer.id, "checkpoint_id": i} for i in ids]
        )
    audit.record(
        session,
        actor_id=actor.id if actor else None,
        action=audit.Action.USER_ASSIGN_CHECKPOINTS,
        object_type="user",
        object_id=officer.id,
        data={"checkpoints": ids},
        now=now,
    )
    if commit:
        session.commit()


def resolve_anomaly(
    session: Session, anomaly_id: int, note: str, *, actor: User, now: datetime
) -> Anomaly:
    anomaly = session.get(Anomaly, anomaly_id)
    if anomaly is None:
        raise NotFound()
    if anomaly.resolved_at is not None:
        raise Conflict(N_("This anomaly is already resolved."))
    anomaly.resolved_at, anomaly.resolved_by_id, anomaly.note = now, actor.id, note
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.ANOMALY_RESOLVE,
        object_type="anomaly",
        object_id=anomaly.id,
        data={"kind": anomaly.kind},
        now=now,
    )
    session.commit()
    return anomaly


def resolve_anomalies(
    session: Session, anomaly_ids: list[int], note: str, *, actor: User, now: datetime
) -> int:
    """Resolve each still open, each audited as one by hand would be; how many were."""
    done = 0
    for anomaly_id in dict.fromkeys(anomaly_ids):
        try:
            resolve_anomaly(session, anomaly_id, note, actor=actor, now=now)
        except (NotFound, Conflict):
            session.rollback()
        else:
            done += 1
    return done


def notify(session: Session, anomaly: Anomaly, *, locale: str, now: datetime) -> None:
    """Tell the enterprise contact by SMS, through the outbox (once per anomaly)."""
    p = session.get(Pass, anomaly.pass_id)
    enterprise = session.get(Enterprise, anomaly.enterprise_id)
    body = anomaly_text(locale, number=p.number, plate=p.vehicle.plate, kind=anomaly.kind)
    outbox.enqueue(
        session,
        dedupe_key=f"anomaly:{anomaly.id}",
        to=enterprise.contact_phone,
        body=body,
        now=now,
        pass_id=p.id,
        enterprise_id=enterprise.id,
    )


def raise_anomaly(session: Session, trip: Trip, kind: str, now: datetime) -> Anomaly | None:
    """Add an anomaly once per trip and kind; None when it was already raised."""
    exists = session.scalar(
        select(Anomaly.id).where(Anomaly.trip_id == trip.id, Anomaly.kind == kind)
    )
    if exists:
        return None
    anomaly = Anomaly(
        trip_id=trip.id,
        pass_id=trip.pass_id,
        enterprise_id=trip.enterprise_id,
        kind=kind,
        detected_at=now,
    )
    session.add(anomaly)
    session.flush()
    events.anomaly_raised.send(anomaly, session=session, now=now)
    return anomaly


def sweep(
    session: Session, *, now: datetime, policy: SweepPolicy, locale: str = "zh_CN"
) -> list[Anomaly]:
    """Raise overdue-loop anomalies for open trips; running it twice adds nothing."""
    rows = session.execute(
        select(Trip, Pass.valid_until)
        .join(Pass, Pass.id == Trip.pass_id)
        .where(Trip.state.in_(OPEN_STATES))
    ).all()
    raised = []
    for trip, valid_until in rows:
        for kind in sorted(
            due_anomalies(
                state=trip.state,
                opened_at=trip.opened_at,
                valid_until=valid_until,
                now=now,
                policy=policy,
            )
        ):
            anomaly = raise_anomaly(session, trip, kind, now)
            if anomaly is not None:
                session.flush()
                notify(session, anomaly, locale=locale, now=now)
                audit.record(
                    session,
                    actor_id=None,
                    action=audit.Action.ANOMALY_RAISE,
                    object_type="anomaly",
                    object_id=anomaly.id,
                    data={"kind": kind, "trip": trip.id},
                    now=now,
                )
                raised.append(anomaly)
    session.commit()
    return raised


def connect_receivers() -> None:
    """What the loop does when accounts and passes announce something (called by the app
    factory; each package's events.py states its signals' contracts)."""
    pass_events.trip_progress.connect(_open_trip_state)
    account_events.user_created.connect(_assign_new_officer)
    account_events.officer_places.connect(officer_gates)
