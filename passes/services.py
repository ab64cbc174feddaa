"""Pass workflow use cases after filing: approve (sign, QR, SMS; one or in bulk), reject
(one or in bulk), revoke, cancel. Filing is passes/filing.py; sending the SMS again,
passes/resends.py.

Every status change goes through the transition table in passes.domain and is audited;
approval writes the SMS into the outbox in the same transaction.

Over 300 lines on purpose: approval one by one and in bulk share their signing, SMS and
audit steps, beside the other decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, joinedload

from accounts import events as account_events
from accounts.domain import EnterpriseStatus, Role
from accounts.models import Enterprise, User
from core import audit, metrics
from core.errors import (
    N_,
    Conflict,
    DomainError,
    NotFound,
    ValidationFailed,
)
from fleet import crews
from fleet import events as fleet_events
from fleet.models import Vehicle
from passes import domain, feed
from passes import events as pass_events
from passes.domain import PassStatus
from passes.models import Pass
from sms import outbox
from sms.text import approval_text, rejected_text, revoked_text
from trust import keys, revocations, tokens


@dataclass(frozen=True)
class Issuer:
    """What approval needs besides the database: keys, the public URL and SMS wording."""

    key_dir: Path
    public_base_url: str
    area_code: str | None = None  # named inside each new code (trust/tokens.py, version 2)
    sms_locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    crews_listed: bool = False  # CREW_WHITELIST_REQUIRED: only whitelisted crews (fleet.crews)


def _locked_pass(session: Session, pass_id: int) -> Pass:
    stmt = select(Pass).where(Pass.id == pass_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    found = session.scalars(stmt).one_or_none()
    if found is None:
        raise NotFound()
    return found


SUSPENDED_MESSAGE = N_(
    "The enterprise is suspended: its passes cannot be approved until the suspension is lifted."
)


def _suspended(session: Session, p: Pass) -> bool:
    status = session.scalar(select(Enterprise.status).where(Enterprise.id == p.enterprise_id))
    return status == EnterpriseStatus.SUSPENDED


def approve_in(
    session: Session, p: Pass, reviewer: User | None, *, now: datetime, issuer: Issuer
) -> None:
    if _suspended(session, p):  # no new code, no new SMS while suspended
        raise Conflict(SUSPENDED_MESSAGE)
    if not crew_allowed(session, p, issuer):
        raise crews.DriverNotWhitelisted()
    signer = keys.current_signer(session, issuer.key_dir, now)
    _issue(p, signer, reviewer, now=now, issuer=issuer)
    p.feed_ctr = feed.next_ctr(session)
    queue_pass_sms(session, p, f"pass:{p.id}:approved", now=now, issuer=issuer)
    audit.record(session, **_approval_entry(p, reviewer, signer, now))


def crew_allowed(session: Session, p: Pass, issuer: Issuer) -> bool:
    """Whether the pass's crew may have it: always, unless the whitelist is required."""
    return not issuer.crews_listed or crews.covered(
        session, (p.driver_id, p.co_driver_id), p.valid_until
    )


def _issue(
    p: Pass, signer: keys.Signer, reviewer: User | None, *, now: datetime, issuer: Issuer
) -> None:
    """The approval itself: the signed code and who decided, on the pass row."""
    status = domain.next_pass_status(p.status, PassStatus.APPROVED)
    claims = tokens.Claims(
        signer.kid, p.id, p.valid_from, p.valid_until, p.vehicle.plate, issuer.area_code
    )
    p.code = tokens.qr_text(issuer.public_base_url, tokens.sign(claims, signer.private_key))
    p.status = status
    p.key_id = signer.kid
    p.reviewer_id = reviewer.id if reviewer else None
    p.auto_approved = reviewer is None
    p.reviewed_at = now


def _approval_entry(
    p: Pass, reviewer: User | None, signer: keys.Signer, now: datetime
) -> dict[str, Any]:
    return {
        "actor_id": reviewer.id if reviewer else None,
        "action": audit.Action.PASS_APPROVE,
        "object_type": "pass",
        "object_id": p.id,
        "data": {"auto": reviewer is None, "kid": signer.kid},
        "now": now,
    }


def driver_url(public_base_url: str, key: str) -> str:
    return f"{public_base_url}/d/{key}"


def _fresh_driver_key(session: Session) -> str:
    return _fresh_driver_keys(session, 1)[0]


def _fresh_driver_keys(session: Session, n: int) -> list[str]:
    """`n` driver-page keys no pass uses (one look-up for all of them)."""
    found: list[str] = []
    while len(found) < n:  # a repeat is a one-in-10**14 event; the unique index is the last word
        batch = {domain.new_driver_key() for _ in range(n - len(found))} - set(found)
        taken = set(session.scalars(select(Pass.driver_key).where(Pass.driver_key.in_(batch))))
        found += [key for key in batch if key not in taken]
    return found


def _approval_sms(p: Pass, issuer: Issuer) -> outbox.Outgoing:
    body = approval_text(
        issuer.sms_locale,
        number=p.number,
        plate=p.vehicle.plate,
        url=driver_url(issuer.public_base_url, p.driver_key),
    )
    return outbox.Outgoing(f"pass:{p.id}:approved", p.driver.phone, body, p.id, p.enterprise_id)


def queue_pass_sms(
    session: Session, p: Pass, dedupe_key: str, *, now: datetime, issuer: Issuer
) -> None:
    if p.driver_key is None:  # approved before short links existed
        p.driver_key = _fresh_driver_key(session)
    message = _approval_sms(p, issuer)
    outbox.enqueue(
        session,
        dedupe_key=dedupe_key,
        to=message.to,
        body=message.body,
        now=now,
        pass_id=p.id,
        enterprise_id=p.enterprise_id,
    )


def approve_pass(
    session: Session, pass_id: int, reviewer: User, *, now: datetime, issuer: Issuer
) -> Pass:
    p = _locked_pass(session, pass_id)
    approve_in(session, p, reviewer, now=now, issuer=issuer)
    session.commit()
    metrics.APPROVALS.inc()
    return p


BULK_BATCH = 250  # passes approved in one transaction


def bulk_approve(
    session: Session, pass_ids: list[int], reviewer: User, *, now: datetime, issuer: Issuer
) -> tuple[list[int], list[int]]:
    """Approve every listed pass still waiting; returns (approved ids, skipped ids).

    Batches of BULK_BATCH commit together: one read for the batch's passes, one for their
    SMS dedupe keys, one for fresh driver keys, then the rows written in one flush. A batch
    that fails to commit is redone a pass at a time, so one bad pass costs only itself."""
    wanted = list(dict.fromkeys(pass_ids))
    approved: list[int] = []
    signer = keys.current_signer(session, issuer.key_dir, now)
    for start in range(0, len(wanted), BULK_BATCH):
        batch = wanted[start : start + BULK_BATCH]
        try:
            done = _approve_batch(session, batch, reviewer, signer, now=now, issuer=issuer)
            session.commit()
        except (IntegrityError, OperationalError):
            session.rollback()
            done = []
            for pass_id in batch:
                try:
                    done += _approve_batch(
                        session, [pass_id], reviewer, signer, now=now, issuer=issuer
                    )
                    session.commit()
                except (IntegrityError, OperationalError):
                    session.rollback()
        approved += done
    metrics.APPROVALS.inc(len(approved))
    approved_set = set(approved)
    return approved, [i for i in wanted if i not in approved_set]


def _approve_batch(
    session: Session,
    batch: list[int],
    reviewer: User,
    signer: keys.Signer,
    *,
    now: datetime,
    issuer: Issuer,
) -> list[int]:
    stmt = (
        select(Pass)
        .join(Enterprise, Enterprise.id == Pass.enterprise_id)
        .where(
            Pass.id.in_(batch),
            Pass.status == PassStatus.SUBMITTED,
            Enterprise.status != EnterpriseStatus.SUSPENDED,
        )
        .options(joinedload(Pass.vehicle, innerjoin=True), joinedload(Pass.driver, innerjoin=True))
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Pass, skip_locked=True)
    found = {p.id: p for p in session.scalars(stmt).unique()}
    if issuer.crews_listed:  # one read for the batch's crews; the others wait (skipped)
        ends = crews.listed_ids(
            session, [i for p in found.values() for i in (p.driver_id, p.co_driver_id) if i]
        )
        found = {i: p for i, p in found.items() if _crew_through(p, ends)}
    needing_keys = [p for p in found.values() if p.driver_key is None]
    for p, key in zip(needing_keys, _fresh_driver_keys(session, len(needing_keys)), strict=True):
        p.driver_key = key
    done, messages = [], []
    for pass_id in batch:
        p = found.get(pass_id)
        if p is None:
            continue
        _issue(p, signer, reviewer, now=now, issuer=issuer)
        p.feed_ctr = feed.next_ctr(session)
        messages.append(_approval_sms(p, issuer))
        audit.record(session, **_approval_entry(p, reviewer, signer, now))
        done.append(pass_id)
    outbox.enqueue_many(session, messages, now=now)
    session.flush()
    return done


def _crew_through(p: Pass, ends: dict[int, datetime]) -> bool:
    crew = [i for i in (p.driver_id, p.co_driver_id) if i is not None]
    return all(i in ends and ends[i] >= p.valid_until for i in crew)


def _decide(
    session: Session,
    pass_id: int,
    actor: User,
    target: PassStatus,
    reason: str | None,
    *,
    now: datetime,
    sms_locale: str = "zh_CN",
) -> Pass:
    p = _locked_pass(session, pass_id)
    p.status = domain.next_pass_status(p.status, target)
    if target in (PassStatus.REJECTED, PassStatus.REVOKED):
        p.decision_reason = reason
        p.reviewer_id = actor.id
        if target == PassStatus.REJECTED:
            p.reviewed_at = now
    if target == PassStatus.REVOKED:  # checkpoints that decide offline must hear of it
        revocations.record(session, [revocations.Entry(p.id, True, p.valid_until)], now=now)
        p.feed_ctr = feed.next_ctr(session)  # peers' gates too
    _tell(session, p, target, reason or "", now=now, locale=sms_locale)
    if target in (PassStatus.REJECTED, PassStatus.REVOKED):
        pass_events.pass_decided.send(p, session=session, now=now)
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action(f"pass.{target}"),
        object_type="pass",
        object_id=p.id,
        # The reason's words stay on the pass, where retention erases them; the log, which
        # can never be purged, says only that there was one (an ID number typed into a
        # reason would otherwise stay there for good).
        data={"reason_kept": "pass.decision_reason"} if reason else {},
        now=now,
    )
    session.commit()
    return p


def _tell(
    session: Session, p: Pass, target: str, reason: str, *, now: datetime, locale: str
) -> None:
    """The SMS people must hear: the driver when a pass is revoked (do not travel), the
    enterprise's contact when an application is rejected (with the reason)."""
    if target == PassStatus.REVOKED:
        to, body = p.driver.phone, revoked_text(locale, number=p.number, plate=p.vehicle.plate)
    elif target == PassStatus.REJECTED:
        to = p.enterprise.contact_phone
        body = rejected_text(locale, number=p.number, plate=p.vehicle.plate, reason=reason)
    else:
        return
    outbox.enqueue(
        session,
        dedupe_key=f"pass:{p.id}:{target}",
        to=to,
        body=body,
        now=now,
        pass_id=p.id,
        enterprise_id=p.enterprise_id,
    )


def reject_pass(
    session: Session,
    pass_id: int,
    reviewer: User,
    reason: str,
    *,
    now: datetime,
    sms_locale: str = "zh_CN",
) -> Pass:
    return _decide(
        session, pass_id, reviewer, PassStatus.REJECTED, reason, now=now, sms_locale=sms_locale
    )


def bulk_reject(
    session: Session,
    pass_ids: list[int],
    reviewer: User,
    reason: str,
    *,
    now: datetime,
    sms_locale: str = "zh_CN",
) -> tuple[list[int], list[int]]:
    """Reject every listed pass still waiting, each told the one reason; returns (rejected
    ids, skipped ids). One pass at a time: each is its own decision, audited and told."""
    rejected, skipped = [], []
    for pass_id in dict.fromkeys(pass_ids):
        try:
            reject_pass(session, pass_id, reviewer, reason, now=now, sms_locale=sms_locale)
        except DomainError:  # no longer waiting (decided or cancelled meanwhile), or gone
            session.rollback()
            skipped.append(pass_id)
        else:
            rejected.append(pass_id)
    return rejected, skipped


def revoke_pass(
    session: Session,
    pass_id: int,
    reviewer: User,
    reason: str,
    *,
    now: datetime,
    sms_locale: str = "zh_CN",
) -> Pass:
    return _decide(
        session, pass_id, reviewer, PassStatus.REVOKED, reason, now=now, sms_locale=sms_locale
    )


def cancel_pass(session: Session, pass_id: int, actor: User, *, now: datetime) -> Pass:
    return _decide(session, pass_id, actor, PassStatus.CANCELLED, None, now=now)


def last_expiry_signed_by(session: Session, kid: int) -> datetime | None:
    """When the last pass signed with key `kid` stops being valid (keys stay published
    until then)."""
    return session.scalar(select(func.max(Pass.valid_until)).where(Pass.key_id == kid))


def _keep_signed_plates(vehicle: Vehicle, *, session: Session) -> None:
    """Passes carry the plate in their signed code: a plate that was issued stays as it is."""
    if session.scalar(select(Pass.id).where(Pass.vehicle_id == vehicle.id).limit(1)):
        raise ValidationFailed.one(
            "plate",
            N_("Passes were issued for this plate; register the new plate as a new vehicle."),
        )


def _list_suspended_passes(
    enterprise: Enterprise, *, session: Session, before: str, after: str, now: datetime
) -> None:
    """Suspension puts the enterprise's live approved passes on the revocation list (entry
    refused everywhere, offline too); lifting it takes them off again."""
    if after == EnterpriseStatus.SUSPENDED and before != after:
        listed = True
    elif before == EnterpriseStatus.SUSPENDED and after != before:
        listed = False
    else:
        return
    live = session.execute(
        select(Pass.id, Pass.valid_until).where(
            Pass.enterprise_id == enterprise.id,
            Pass.status == PassStatus.APPROVED,
            Pass.valid_until > now,
        )
    ).all()
    revocations.record(
        session, [revocations.Entry(pass_id, listed, until) for pass_id, until in live], now=now
    )
    feed.stamp(session, [pass_id for pass_id, _ in live])


def _queue_waiting(session: Session, *, user: User) -> dict[str, int]:
    if user.role != Role.REVIEWER:
        return {}
    waiting = session.scalar(select(func.count()).where(Pass.status == PassStatus.SUBMITTED))
    return {"passes": waiting or 0}


def connect_receivers() -> None:
    """What the pass workflow does when the fleet and accounts announce something (called by
    the app factory)."""
    fleet_events.plate_changing.connect(_keep_signed_plates)
    account_events.waiting_work.connect(_queue_waiting)
    account_events.enterprise_status_changed.connect(_list_suspended_passes)
