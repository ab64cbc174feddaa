"""The audit log for oversight: browsing, verification, proofs and signed checkpoints."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

import web
from accounts.domain import Role
from accounts.models import User
from api.core import endpoint, paginate
from audit import AuditCheckpoint, AuditEntry
from checkpoints import history
from errors import N_, NotFound, ValidationFailed
from trust import auditlog

bp = Blueprint("audit", __name__)
AUDIT_READERS = {Role.ADMIN, Role.SUPERVISOR}


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    first_bad_id: int | None
    pending: int
    checkpoints: int
    size: int
    root_hash: str
    problem: str | None


def audit_log() -> auditlog.AuditLog:
    return current_app.extensions["audit_log"]


def run_verification() -> auditlog.Verification:
    settings = audit_log()
    saved = []
    if settings.witness.exists():
        try:
            saved = auditlog.read_checkpoints(settings.witness)
        except ValueError:
            current_app.logger.warning("the audit witness file is unreadable; skipped")
    return auditlog.verify(web.db(), settings.keys, settings.origin, saved)


@endpoint(
    "/audit/verify",
    "GET",
    summary="Recompute the audit log's Merkle tree and check every signed checkpoint",
    roles=AUDIT_READERS,
    response=AuditVerification,
    tag="audit",
)
def verify_audit(_user: object) -> AuditVerification:
    result = run_verification()
    return AuditVerification(**result.__dict__)


class CheckpointOut(BaseModel):
    origin: str
    size: int
    root_hash: str
    time: str
    kid: str
    signature: str
    public_key: str  # PEM; pin it once, then check every later checkpoint with it


def latest_checkpoint() -> dict[str, Any] | None:
    settings = audit_log()
    row = web.db().scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc())).first()
    if row is None:
        return None
    checkpoint = auditlog.Checkpoint.from_row(settings.origin, row)
    return {**checkpoint.to_json(), "public_key": settings.keys.public_key_pem()}


@endpoint(
    "/audit/checkpoint",
    "GET",
    summary="The latest signed checkpoint of the audit log (size, root hash, time)",
    response=CheckpointOut,
    tag="audit",
)
def checkpoint(_user: None) -> Any:
    found = latest_checkpoint()
    if found is None:
        raise NotFound(N_("The audit log has no signed checkpoint yet."))
    return found


def _whole(name: str, *, required: bool = False) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise ValidationFailed.one(name, N_("Enter a whole number."))
        return None
    return history.id_filter(raw, name)


@endpoint(
    "/audit/proof",
    "GET",
    summary="Inclusion proof (?entry=&size=) or consistency proof (?from=&to=), RFC 6962",
    roles=AUDIT_READERS,
    query={"entry": "integer", "size": "integer", "from": "integer", "to": "integer"},
    tag="audit",
)
def proof(_user: object) -> dict[str, Any]:
    session = web.db()
    try:
        if "entry" in request.args:
            return auditlog.inclusion(session, _whole("entry", required=True), _whole("size"))
        if "from" in request.args or "to" in request.args:
            first, second = _whole("from", required=True), _whole("to", required=True)
            return auditlog.consistency(session, first, second)
    except auditlog.ProofRequestError as exc:
        raise ValidationFailed.one("size", exc.args[0]) from exc
    raise ValidationFailed.one(
        "entry", N_("Ask for ?entry= (inclusion) or ?from=&to= (consistency).")
    )


class AuditEntryOut(BaseModel):
    id: int
    seq: int | None
    at: str
    actor_id: int | None
    actor: str | None
    action: str
    object_type: str
    object_id: str | None
    data: dict[str, Any]
    leaf_hash: str | None


def entries_query(args: Any) -> Select[Any]:
    tz = current_app.config["TIMEZONE"]
    stmt = select(AuditEntry).options(selectinload(AuditEntry.actor))
    if actor := args.get("actor"):
        if actor.isdigit():
            stmt = stmt.where(AuditEntry.actor_id == int(actor))
        else:
            stmt = stmt.where(
                AuditEntry.actor_id.in_(select(User.id).where(User.username == actor))
            )
    for name, column in (
        ("action", AuditEntry.action),
        ("object_type", AuditEntry.object_type),
        ("object_id", AuditEntry.object_id),
    ):
        if value := args.get(name):
            if len(value) > 64:
                raise ValidationFailed.one(name, N_("At most %(n)d characters.", n=64))
            stmt = stmt.where(column == value)
    if raw := args.get("from"):
        stmt = stmt.where(AuditEntry.at >= history.moment(raw, "from", tz, end=False))
    if raw := args.get("to"):
        stmt = stmt.where(AuditEntry.at <= history.moment(raw, "to", tz, end=True))
    return stmt.order_by(AuditEntry.id.desc())


def entry_out(entry: AuditEntry) -> dict[str, Any]:
    return AuditEntryOut(
        id=entry.id,
        seq=entry.seq,
        at=entry.at.isoformat(),
        actor_id=entry.actor_id,
        actor=entry.actor.username if entry.actor else None,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        data=entry.data,
        leaf_hash=entry.leaf_hash,
    ).model_dump(mode="json")


@endpoint(
    "/audit/entries",
    "GET",
    summary="Audit entries, newest first",
    roles=AUDIT_READERS,
    query={
        "actor": "string",
        "action": "string",
        "object_type": "string",
        "object_id": "string",
        "from": "string",
        "to": "string",
        "page": "integer",
        "per_page": "integer",
    },
    tag="audit",
)
def list_entries(_user: object) -> dict[str, Any]:
    return paginate(entries_query(request.args), serialize=entry_out)
