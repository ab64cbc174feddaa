"""A pass's journey: every scan of it at our checkpoints and every one a peer reported,
oldest first (GET /api/v1/passes/{id}/journey, the journey page). Annulments and the
scans they annul are left out: the record says they did not happen."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from checkpoints.models import Checkpoint, Scan
from federation.models import FederationReport
from federation.services import Jurisdiction
from passes.models import Pass


def of(session: Session, found: Pass, here: Jurisdiction) -> list[dict[str, Any]]:
    annulment = aliased(Scan)
    ours = session.execute(
        select(Scan, Checkpoint.code, Checkpoint.name)
        .join(Checkpoint, Checkpoint.id == Scan.checkpoint_id)
        .where(
            Scan.pass_id == found.id,
            Scan.annuls_id.is_(None),
            ~exists().where(annulment.annuls_id == Scan.id),
        )
    ).all()
    steps = [
        {
            "area_code": here.area_code,
            "jurisdiction": here.name,
            "checkpoint_code": code,
            "checkpoint_name": name,
            "event": scan.event,
            "decision": scan.decision,
            "reasons": list(scan.reasons or []),
            "at": scan.scanned_at,
            "reported_at": None,
        }
        for scan, code, name in ours
    ]
    reported = session.scalars(select(FederationReport).where(FederationReport.pass_id == found.id))
    steps += [
        {
            "area_code": r.area_code,
            "jurisdiction": r.jurisdiction,
            "checkpoint_code": r.checkpoint_code,
            "checkpoint_name": r.checkpoint_name,
            "event": r.event,
            "decision": r.decision,
            "reasons": list(r.reasons or []),
            "at": r.at,
            "reported_at": r.reported_at,
        }
        for r in reported
    ]
    return sorted(steps, key=lambda step: step["at"])
