"""The scans of the daily figures: every scan recorded, the entries and exits let through,
and the scans refused, by reason (supervision/statistics.py adds them to its rows).

A scan belongs to the enterprise of its pass. A scan of a code that named no pass (forged,
damaged, another system's) belongs to no enterprise: it is counted under EVERYONE, so only
oversight sees it (in the kept figures it is part of EVERYONE's row, not of any enterprise's).
Scans count as recorded, in the server's time (`recorded_at`, what ix_scan_recorded orders);
an annulment is not a scan of its own, and the scan it annuls stays counted (the trip it
opened is voided, which the trip figures show).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session

from accounts.models import User
from accounts.scoping import scoped
from checkpoints.models import Scan
from passes.models import Pass

# DailyFigure rows of every enterprise together (enterprise ids start at 1): oversight
# reads one row a day instead of one per enterprise and day.
EVERYONE = 0
UNKNOWN = "unknown"  # a refusal recorded without a reason (as the dashboard counts it)


def first_reason(text: str | None) -> str:
    """A refused scan's reasons (as JSON text) by the first, which decided it."""
    reasons = json.loads(text) if text else []
    return str(reasons[0]) if reasons else UNKNOWN


def count(
    session: Session,
    user: User | None,
    lo: datetime,
    hi: datetime,
    hour: Callable[[Any], Any],
    row: Callable[[str, int], dict[str, Any]],
) -> None:
    """Add the scans recorded in [lo, hi) to `row(local hour, enterprise id)`: scans,
    entries, exits and denials (first reason -> refused scans). One walk of the range,
    grouped by hour, enterprise, event and decision (and a refusal's reasons)."""
    recorded = hour(Scan.recorded_at)
    refused = Scan.decision == "deny"
    reasons = case((refused, cast(Scan.reasons, String)), else_=None)
    stmt = (
        select(recorded, Pass.enterprise_id, Scan.event, Scan.decision, reasons, func.count())
        .select_from(Scan)
        .outerjoin(Pass, Pass.id == Scan.pass_id)
        .where(Scan.recorded_at >= lo, Scan.recorded_at < hi, Scan.event != "annul")
        .group_by(recorded, Pass.enterprise_id, Scan.event, Scan.decision, reasons)
    )
    if user is not None:  # an enterprise's own passes; oversight reads the pass-less too
        stmt = scoped(stmt, Pass, user, shared=False)
    for bucket, enterprise_id, event, decision, text, n in session.execute(stmt):
        r = row(bucket, EVERYONE if enterprise_id is None else enterprise_id)
        r["scans"] += n
        if decision == "deny":
            r["denials"][first_reason(text)] += n
        elif event == "entry":
            r["entries"] += n
        elif event == "exit":
            r["exits"] += n
