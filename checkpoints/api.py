"""JSON API for checkpoints, scans, trips and anomalies (docs/api.md).

Over 300 lines on purpose: the loop's JSON contract (checkpoints, scans, the offline batch,
trips, anomalies) in one place, as docs/api.md lists it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from flask import Response, current_app, request
from flask_babel import gettext
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts.domain import OVERSIGHT_ROLES, Caller, Role
from accounts.models import User
from accounts.scoping import get_scoped
from api.core import Page, endpoint, paginate, problem_body
from checkpoints import corrections, history, scanner_lists, scanners, scanning, services
from checkpoints.models import Anomaly, Checkpoint, Scan, Trip, officer_checkpoint
from checkpoints.scanner_lists import LivePassList
from checkpoints.schemas import (
    AnnulIn,
    CheckpointIn,
    CheckpointOut,
    NoteIn,
    OfflineScanIn,
    ScanBatchIn,
    ScanBatchOut,
    ScanIn,
    ScannerReportIn,
    ScanOut,
)
from core import inputs, metrics, web
from core.errors import DomainError, ValidationFailed
from trust import keys, revocations

ALL = frozenset(Role)
SCANNERS = {Role.OFFICER, Role.ENTERPRISE}
TRIP_READERS = OVERSIGHT_ROLES | {Role.ENTERPRISE}


@endpoint("/health", "GET", summary="Liveness: answers without touching the database", tag="meta")
def health(_user: None) -> dict[str, bool]:
    return {"ok": True}


@endpoint(
    "/checkpoints",
    "POST",
    summary="Create a gate or a site",
    roles={Role.ADMIN},
    body=CheckpointIn,
    response=CheckpointOut,
    status=201,
    tag="checkpoints",
)
def create_checkpoint(user: User, body: CheckpointIn) -> Checkpoint:
    return services.create_checkpoint(web.db(), body, actor=user, now=web.now())


@endpoint(
    "/checkpoints",
    "GET",
    summary="List checkpoints",
    roles=ALL,
    response=Page[CheckpointOut],
    query={"kind": "string", "page": "integer", "per_page": "integer"},
    tag="checkpoints",
)
def list_checkpoints(_user: User) -> dict[str, Any]:
    stmt = select(Checkpoint).order_by(Checkpoint.kind, Checkpoint.code)
    if kind := request.args.get("kind"):
        stmt = stmt.where(Checkpoint.kind == kind)
    return paginate(stmt, CheckpointOut)


class ActiveIn(BaseModel):
    active: bool


@endpoint(
    "/checkpoints/<int:checkpoint_id>/active",
    "POST",
    summary="Open or close a checkpoint",
    roles={Role.ADMIN},
    body=ActiveIn,
    response=CheckpointOut,
    tag="checkpoints",
)
def set_active(user: User, body: ActiveIn, checkpoint_id: int) -> Checkpoint:
    return services.set_checkpoint_active(
        web.db(), checkpoint_id, body.active, actor=user, now=web.now()
    )


@endpoint(
    "/checkpoints/site",
    "POST",
    summary="Create (once) the caller's own site checkpoint",
    roles={Role.ENTERPRISE},
    response=CheckpointOut,
    status=201,
    tag="checkpoints",
)
def request_site(user: User) -> Checkpoint:
    return services.request_site(web.db(), user, now=web.now())


@endpoint(
    "/scans",
    "POST",
    summary="Record a scan (idempotent by scan_id)",
    roles=SCANNERS,
    body=ScanIn,
    response=ScanOut,
    tag="scans",
    snapshot=True,
)
def record_scan(user: Caller, body: ScanIn) -> Response:
    reads = web.reads()
    trusted = _trust_cache().view(reads, web.now())
    asked = None
    if body.number and body.plate and not body.code:  # typed: a peer's number asks its issuer
        asked = current_app.extensions["ask_issuer"](body.number, body.plate)
    recorded = scanning.record(
        web.db(), user, body, keys=trusted, clock=web.now, reads=reads, settings=_scan_settings()
    )
    answer = recorded.response if asked is None else {**recorded.response, "asked_issuer": asked}
    if not recorded.retry:
        metrics.scanned(
            answer["decision"],
            answer["reasons"],
            answer["anomalies"],
            bool(answer.get("repeat_of")),
        )
    metrics.SCAN_SECONDS.observe(web.elapsed())
    return Response(orjson.dumps(answer), mimetype="application/json")


def _trust_cache() -> keys.TrustCache:
    return current_app.extensions["trust_cache"]


def _scan_settings() -> scanning.ScanSettings:
    return scanning.ScanSettings.from_settings(current_app.config)


@endpoint(
    "/scanner/passes",
    "GET",
    summary="Live passes for offline scanning by number (no plates, drivers masked)",
    roles=SCANNERS,
    response=LivePassList,
    tag="scans",
)
def scanner_passes(user: User) -> dict[str, Any]:
    session, cfg = web.db(), current_app.config
    scanners.require_scanner(session, user)
    body = scanner_lists.live_passes(
        session,
        user,
        now=web.now(),
        cap=cfg["SCANNER_PASS_LIST_CAP"],
        crews_required=cfg["CREW_WHITELIST_REQUIRED"],
    )
    return {"ctr": revocations.current_ctr(session), **body}


@endpoint(
    "/scanner/report",
    "POST",
    summary="A scanning phone's state after a sync (lists' age, queued scans)",
    roles=SCANNERS,
    body=ScannerReportIn,
    tag="scans",
)
def scanner_report(user: User, body: ScannerReportIn) -> dict[str, bool]:
    scanners.report_device(
        web.db(),
        user,
        device_id=str(body.device_id),
        checkpoint_id=body.checkpoint_id,
        lists_at=body.lists_at,
        queued=body.queued,
        oldest_queued_at=body.oldest_queued_at,
        now=web.now(),
    )
    return {"ok": True}


def _item_problem(exc: DomainError) -> dict[str, Any]:
    errors = exc.errors if isinstance(exc, ValidationFailed) else None
    detail = gettext(exc.detail, **exc.params) if exc.detail else None
    return problem_body(exc.status, gettext(exc.title), detail, errors)


@endpoint(
    "/scans/batch",
    "POST",
    summary="Upload scans decided offline (idempotent per scan_id; an answer per item)",
    roles=SCANNERS,
    body=ScanBatchIn,
    response=ScanBatchOut,
    tag="scans",
    snapshot=True,
)
def record_batch(user: Caller, body: ScanBatchIn) -> dict[str, Any]:
    """Each item is recorded as it happened, in the order of the phones' clocks, in its
    own transaction: a bad item gets its problem and the good ones are kept."""
    session, reads, now = web.db(), web.reads(), web.now()
    answers: list[dict[str, Any] | None] = [None] * len(body.items)
    parsed = []
    for index, raw in enumerate(body.items):
        scan_id = raw.get("scan_id") if isinstance(raw, dict) else None
        try:
            item = inputs.validate(OfflineScanIn, raw)
        except ValidationFailed as exc:
            answers[index] = {
                "scan_id": scan_id if isinstance(scan_id, str) else None,
                "status": "error",
                "problem": _item_problem(exc),
            }
        else:
            parsed.append((item.scanned_at, index, item))
    for _at, index, item in sorted(parsed, key=lambda entry: (entry[0], entry[1])):
        scan_id = str(item.scan_id)
        device = scanning.DeviceVerdict(item.decision, item.event, item.scanned_at)
        try:
            recorded = scanning.record(
                session,
                user,
                item,
                keys=_trust_cache().view(reads, now),
                clock=web.now,
                device=device,
                reads=reads,
                settings=_scan_settings(),
            )
        except DomainError as exc:
            session.rollback()
            answers[index] = {"scan_id": scan_id, "status": "error", "problem": _item_problem(exc)}
            continue
        result = recorded.response
        conflict = "offline_conflict" in [*result["reasons"], *result["anomalies"]]
        status = "duplicate" if recorded.retry else "conflict" if conflict else "recorded"
        answers[index] = {"scan_id": scan_id, "status": status, "result": result}
        metrics.OFFLINE_SCANS.labels(status).inc()
        if not recorded.retry:
            metrics.scanned(
                result["decision"],
                result["reasons"],
                result["anomalies"],
                bool(result.get("repeat_of")),
            )
    return {"items": answers}


class ScanRow(BaseModel):
    model_config = {"from_attributes": True}
    id: int
    scan_id: str
    checkpoint_id: int
    officer_id: int
    pass_id: int | None
    trip_id: int | None
    event: str
    decision: str
    reasons: list[str]
    annuls_id: int | None
    note: str | None
    plate: str | None
    scanned_at: datetime
    recorded_at: datetime
    offline: bool  # decided on a phone without network; scanned_at is the phone's time


def _visible_scans(user: User) -> Any:
    stmt = select(Scan)
    if user.role == Role.OFFICER:
        mine = select(officer_checkpoint.c.checkpoint_id).where(
            officer_checkpoint.c.user_id == user.id
        )
        stmt = stmt.where(Scan.checkpoint_id.in_(mine))
    elif user.role == Role.ENTERPRISE:
        sites = select(Checkpoint.id).where(Checkpoint.enterprise_id == user.enterprise_id)
        stmt = stmt.where(Scan.checkpoint_id.in_(sites))
    return stmt


@endpoint(
    "/scans",
    "GET",
    summary="Recent scans (officers: their checkpoints)",
    roles=ALL,
    response=Page[ScanRow],
    query={"checkpoint_id": "integer", "page": "integer", "per_page": "integer"},
    tag="scans",
)
def list_scans(user: User) -> dict[str, Any]:
    stmt = _visible_scans(user)
    raw = request.args.get("checkpoint_id", "")
    if raw:
        stmt = stmt.where(Scan.checkpoint_id == history.id_filter(raw, "checkpoint_id"))
    return paginate(stmt.order_by(Scan.id.desc()), ScanRow)


class AnnulOut(ScanRow):
    # "wrong_direction" at a gate: the answer of the other direction's scan, recorded with
    # the annulment (its scan_id derived from the annulled one's); otherwise null
    redo: ScanOut | None = None


@endpoint(
    "/scans/<scan_id>/annul",
    "POST",
    summary="Annul a mistaken scan (a new record); wrong_direction records the other one",
    roles={Role.OFFICER, Role.ENTERPRISE, Role.SUPERVISOR},
    body=AnnulIn,
    response=AnnulOut,
    tag="scans",
)
def annul(user: User, body: AnnulIn, scan_id: str) -> dict[str, Any]:
    """`scan_id` is the client's UUID of the scan to annul."""
    reads = web.reads()
    annulment, redo = corrections.correct(
        web.db(),
        user,
        scan_id,
        body.reason,
        note=body.note,
        keys=_trust_cache().view(reads, web.now()),
        clock=web.now,
        settings=_scan_settings(),
    )
    reads.close()
    return {**ScanRow.model_validate(annulment).model_dump(mode="json"), "redo": redo}


class AnomalyOut(BaseModel):
    model_config = {"from_attributes": True}
    id: int
    trip_id: int
    pass_id: int
    enterprise_id: int
    kind: str
    detected_at: datetime
    resolved_at: datetime | None
    note: str | None


class TripOut(BaseModel):
    model_config = {"from_attributes": True}
    id: int
    pass_id: int
    enterprise_id: int
    plate: str
    seq: int | None
    state: str
    entered_at: datetime | None
    entry_checkpoint_id: int | None
    arrived_at: datetime | None
    arrival_checkpoint_id: int | None
    exited_at: datetime | None
    exit_checkpoint_id: int | None


class TripDetail(TripOut):
    events: list[ScanRow]
    anomalies: list[AnomalyOut]


@endpoint(
    "/trips",
    "GET",
    summary="Search trips",
    roles=TRIP_READERS,
    response=Page[TripOut],
    query={
        "plate": "string",
        "number": "string",
        "enterprise_id": "integer",
        "state": "string",
        "anomaly": "string",
        "from": "string",
        "to": "string",
        "driver": "string",
        "checkpoint_id": "integer",
        "sort": "string",
        "page": "integer",
        "per_page": "integer",
    },
    tag="trips",
)
def list_trips(user: User) -> dict[str, Any]:
    stmt = history.search(request.args, user, tz=current_app.config["TIMEZONE"])
    return paginate(stmt, TripOut)


def trip_detail(trip: Trip) -> dict[str, Any]:
    session = web.db()
    events = session.scalars(select(Scan).where(Scan.trip_id == trip.id).order_by(Scan.id))
    anomalies = session.scalars(
        select(Anomaly).where(Anomaly.trip_id == trip.id).order_by(Anomaly.id)
    )
    return TripDetail(
        **TripOut.model_validate(trip).model_dump(),
        events=[ScanRow.model_validate(e) for e in events],
        anomalies=[AnomalyOut.model_validate(a) for a in anomalies],
    ).model_dump(mode="json")


@endpoint(
    "/trips/<int:trip_id>",
    "GET",
    summary="One trip with its events and anomalies",
    roles=TRIP_READERS,
    response=TripDetail,
    tag="trips",
)
def get_trip(user: User, trip_id: int) -> dict[str, Any]:
    return trip_detail(get_scoped(web.db(), Trip, trip_id, user))


@endpoint(
    "/anomalies",
    "GET",
    summary="Anomalies (?open=true for unresolved)",
    roles=OVERSIGHT_ROLES,
    response=Page[AnomalyOut],
    query={"open": "string", "kind": "string", "page": "integer", "per_page": "integer"},
    tag="anomalies",
)
def list_anomalies(_user: User) -> dict[str, Any]:
    stmt = select(Anomaly).options(selectinload(Anomaly.trip))
    if request.args.get("open") == "true":
        stmt = stmt.where(Anomaly.resolved_at.is_(None))
    if kind := request.args.get("kind"):
        stmt = stmt.where(Anomaly.kind == kind)
    return paginate(stmt.order_by(Anomaly.id.desc()), AnomalyOut)


@endpoint(
    "/anomalies/<int:anomaly_id>/resolve",
    "POST",
    summary="Resolve with a note",
    roles={Role.SUPERVISOR},
    body=NoteIn,
    response=AnomalyOut,
    tag="anomalies",
)
def resolve(user: User, body: NoteIn, anomaly_id: int) -> Anomaly:
    return services.resolve_anomaly(web.db(), anomaly_id, body.note, actor=user, now=web.now())
