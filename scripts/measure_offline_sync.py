"""Time to sync 500 queued offline scans: one POST /api/v1/scans/batch of 500 entries
(500 passes, one scan each) through the app, then the data's invariants.

.venv/bin/python scripts/measure_offline_sync.py [--scans 500]
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import timedelta

from benchdata import bench_app, jurisdiction, submit_passes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=500)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from checkpoints.models import Scan, Trip
    from core import audit
    from core.db import utcnow
    from passes import context, services
    from passes.models import Pass

    app, _ = bench_app(WTF_CSRF_ENABLED=False)
    j = jurisdiction(app)
    with app.test_request_context():
        ids = submit_passes(j, args.scans)
        approved = services.bulk_approve(
            j.session, ids, j.reviewer, now=utcnow(), issuer=context.issuer()
        )[0]
    codes = j.session.scalars(select(Pass.code).where(Pass.id.in_(approved))).all()
    j.session.close()
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": "gate", "password": "gate-pass-1"}
    ).get_json()["token"]
    at = utcnow()
    items = [
        {
            "scan_id": str(uuid.uuid4()),
            "checkpoint_id": j.gate.id,
            "code": code,
            "offline": True,
            "decision": "allow",
            "event": "entry",
            "scanned_at": (at + timedelta(milliseconds=100 * n)).isoformat(),
        }
        for n, code in enumerate(codes)
    ]
    started = time.perf_counter()
    response = client.post(
        "/api/v1/scans/batch", json={"items": items}, headers={"Authorization": f"Bearer {token}"}
    )
    seconds = time.perf_counter() - started
    statuses = [i["status"] for i in response.get_json()["items"]]
    with app.extensions["sessions"]() as session:
        scans = session.scalar(select(func.count()).select_from(Scan))
        trips = session.scalar(select(func.count()).select_from(Trip))
        used = session.scalar(select(func.sum(Pass.trips_used)))
        ok = audit.verify(session).ok
    print(
        f"{app.extensions['engine'].dialect.name}: {len(items)} offline scans synced in "
        f"{seconds:.2f} s ({len(items) / seconds:.0f}/s); recorded {statuses.count('recorded')}; "
        f"scans {scans}, trips {trips}, trips used {used}, audit ok {ok}"
    )


if __name__ == "__main__":
    main()
