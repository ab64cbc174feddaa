"""The audit log for oversight: browsing, verification, proofs and signed checkpoints.

Over 300 lines on purpose: the audit log's pages and endpoints (browse, verify, proofs,
export), read together; the words that name its entries are in supervision.audit_names."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from accounts.domain import Role
from accounts.models import User
from api.core import endpoint, paginate
from checkpoints import history
from core import audit, inputs, responses, web
from core.audit import AuditCheckpoint, AuditEntry
from core.errors import N_, NotFound, ValidationFailed
from core.words import word
from federation import services as federation_services
from supervision import audit_names
from trust import audit_checkpoints, audit_proofs, auditlog

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


def audit_log() -> audit_checkpoints.AuditLog:
    return current_app.extensions["audit_log"]


def run_verification() -> auditlog.Verification:
    settings = audit_log()
    saved = []
    if settings.witness.exists():
        try:
            saved = audit_checkpoints.read_checkpoints(settings.witness, skip_bad=True)
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
    # PEM; pin it once, then check every later checkpoint with it. None on a server that
    # lacks the key that signed it (its key folder was not copied from the others).
    public_key: str | None


def latest_checkpoint() -> dict[str, Any] | None:
    settings = audit_log()
    row = web.db().scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc())).first()
    if row is None:
        return None
    checkpoint = audit_checkpoints.Checkpoint.from_row(settings.origin, row)
    return {**checkpoint.to_json(), "public_key": settings.keys.public_key_pem(checkpoint.kid)}


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


def _wholes(*names: str, required: tuple[str, ...] = ()) -> list[int | None]:
    """The named query values as whole numbers; every bad or missing one is reported."""
    values: list[int | None] = []
    errors: dict[str, list[str]] = {}
    for name in names:
        raw = request.args.get(name) or ""
        try:
            if raw:
                values.append(history.id_filter(raw, name))
                continue
            if name in required:
                raise ValidationFailed.one(name, N_("Enter a whole number."))
        except ValidationFailed as exc:
            errors.update(exc.errors)
        values.append(None)
    if errors:
        raise ValidationFailed(errors)
    return values


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
            entry, size = _wholes("entry", "size", required=("entry",))
            return audit_proofs.inclusion(session, entry, size)  # type: ignore[arg-type]
        if "from" in request.args or "to" in request.args:
            first, second = _wholes("from", "to", required=("from", "to"))
            return audit_proofs.consistency(session, first, second)  # type: ignore[arg-type]
    except audit_proofs.ProofRequestError as exc:
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
            stmt = stmt.where(AuditEntry.actor_id == history.id_filter(actor, "actor"))
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
    if text := args.get("object", "").strip():
        if len(text) > 64:
            raise ValidationFailed.one("object", N_("At most %(n)d characters.", n=64))
        stmt = stmt.where(audit_names.matching(web.db(), text))
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
        "object": "string",
        "from": "string",
        "to": "string",
        "page": "integer",
        "per_page": "integer",
    },
    tag="audit",
)
def list_entries(_user: object) -> dict[str, Any]:
    return paginate(entries_query(request.args), serialize=entry_out)


# --- the audit page ---------------------------------------------------------------------


def object_link(entry: AuditEntry, role: str) -> str | None:
    """Where the entry's object can be opened by this reader, if anywhere: passes and the
    trips of scans and anomalies for every reader; admin pages for an admin."""
    data, kind = entry.data or {}, entry.object_type
    if kind == "pass" and (entry.object_id or "").isdigit():
        return url_for("passes.detail", pass_id=int(entry.object_id or 0))
    if kind == "scan" and isinstance(data.get("pass"), int):
        return url_for("passes.detail", pass_id=data["pass"])
    if kind == "anomaly" and isinstance(data.get("trip"), int):
        return url_for("checkpoints.trip", trip_id=data["trip"])
    if role != Role.ADMIN:
        return None
    admin_pages = {
        "enterprise": "admin.enterprises",
        "user": "admin.users",
        "checkpoint": "checkpoints.admin",
        "signing_key": "keys.index",
    }
    return url_for(admin_pages[kind]) if kind in admin_pages else None


PER_PAGE = 50


@bp.route("/audit", methods=["GET", "POST"])
@web.roles_required(*AUDIT_READERS)
def page() -> Any:
    """Browse the log, see its latest signed checkpoint, verify it on demand."""
    stmt, errors = inputs.filtered(entries_query, request.args)
    listed = web.page_of(stmt, PER_PAGE)
    verification = run_verification() if request.method == "POST" else None
    checkpoint = latest_checkpoint()
    return render_template(
        "supervision/audit.html",
        entries=listed.rows,
        has_next=listed.has_next,
        page=listed.page,
        args=request.args,
        errors=errors,
        checkpoint=checkpoint,
        held_by=[p for p in federation_services.peers(web.db()) if p.holds_ours],
        signed_at=datetime.fromisoformat(checkpoint["time"]) if checkpoint else None,
        verification=verification,
        action_words=audit_names.action_words,
        object_words=audit_names.object_words,
        names=audit_names.Names(web.db(), listed.rows),
        object_link=lambda entry: object_link(entry, current_user.role),
        object_types=sorted(audit_names.OBJECT_TYPES),
        actions=[a.value for a in sorted(audit.Action)],
    )


AUDIT_HEADER = [
    N_("Log entry"),
    N_("Place in the log"),
    N_("Time"),
    N_("Who"),
    N_("What"),
    N_("Object"),
    N_("Object number"),
    N_("Details"),
    N_("Leaf hash"),
    N_("Action code"),
    N_("Object type code"),
    N_("Object id"),
    N_("Details as stored"),
]


def audit_rows(session: Any, stmt: Select[Any], tz: str) -> Any:
    """The export's rows in the user's words, with the stored codes last for machines."""
    zone = ZoneInfo(tz)
    for batch in session.scalars(stmt.execution_options(yield_per=1000)).partitions():
        names = audit_names.Names(session, batch)
        for entry in batch:
            yield [
                entry.id,
                entry.seq,
                entry.at.astimezone(zone).replace(tzinfo=None, microsecond=0),
                actor_words(entry.actor) if entry.actor else gettext("System"),
                audit_names.action_words(entry.action),
                audit_names.object_words(entry.object_type),
                names.object(entry),
                names.details(entry),
                entry.leaf_hash,
                entry.action,
                entry.object_type,
                entry.object_id,
                json.dumps(entry.data, ensure_ascii=False, sort_keys=True),
            ]


def actor_words(user: User) -> str:
    return f"{user.username}（{word('role', user.role)}）"


@bp.get("/audit/export.<fmt>")
@web.roles_required(*AUDIT_READERS)
def export(fmt: str) -> Any:
    """The entries the page's filters select, as CSV or XLSX; the export is audited too."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    tz = current_app.config["TIMEZONE"]
    stmt = entries_query(request.args)  # 422 on a bad filter
    # The filters asked for, as far as they are codes, ids and dates: the audit log is never
    # purged, so words typed into a filter (an ID number, say) are kept as "***".
    wanted = {
        k: v if CODE_LIKE.fullmatch(v) else "***"
        for k, v in request.args.items()
        if k in AUDIT_FILTERS
    }
    with current_app.extensions["sessions"]() as session:
        audit.record(
            session,
            actor_id=current_user.id,
            action=audit.Action.EXPORT_AUDIT,
            object_type="export",
            object_id=fmt,
            data=wanted,
            now=web.now(),
        )
        session.commit()
    header = [gettext(h) for h in AUDIT_HEADER]
    name = f"audit-{web.now().astimezone(ZoneInfo(tz)):%Y%m%d-%H%M}.{fmt}"
    return responses.table_download(
        fmt, header, lambda session: audit_rows(session, stmt, tz), name, "audit"
    )


AUDIT_FILTERS = ("actor", "action", "object_type", "object_id", "object", "from", "to")
CODE_LIKE = re.compile(r"[A-Za-z0-9_.:+-]{0,40}")  # usernames, codes, ids, ISO dates


@bp.get("/audit/checkpoint.json")
@web.roles_required(*AUDIT_READERS)
def download_checkpoint() -> Any:
    """The latest signed checkpoint as a file to keep outside the database."""
    found = latest_checkpoint()
    if found is None:
        raise NotFound(N_("The audit log has no signed checkpoint yet."))
    return Response(
        json.dumps(found, ensure_ascii=False, indent=2) + "\n",
        mimetype="application/json",
        headers={
            "Content-Disposition": f"attachment; filename=audit-checkpoint-{found['size']}.json"
        },
    )
