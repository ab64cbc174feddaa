"""Benchmark: the audit log at size. Writes N entries, seals them with the sequencer and
times a full verification (recompute the Merkle tree, check every signed checkpoint).
Uses DATABASE_URL if set (e.g. PostgreSQL), else a temp SQLite.

    .venv/bin/python scripts/bench_audit.py [--entries 1000000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from benchdata import bench_app, save_json


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    app, _ = bench_app(AUDIT_SEQUENCER="off")
    from sqlalchemy import insert

    from core.audit import AuditEntry
    from trust import auditlog
    from trust.context import audit_log, sequencer

    start = datetime(2026, 11, 1, tzinfo=UTC)
    engine = app.extensions["engine"]
    written = 0
    started = time.perf_counter()
    while written < args.entries:
        rows = [
            {
                "at": start + timedelta(milliseconds=i),
                "actor_id": None,
                "action": "scan.allow",
                "object_type": "scan",
                "object_id": str(i),
                "data": {"checkpoint": "G-01", "event": "entry", "pass": i, "reasons": []},
            }
            for i in range(written, min(written + 20_000, args.entries))
        ]
        with engine.begin() as conn:
            conn.execute(insert(AuditEntry), rows)
        written += len(rows)
    write_s = time.perf_counter() - started

    running = sequencer(app)
    started = time.perf_counter()
    batches = running.tick()
    seal_s = time.perf_counter() - started

    settings = audit_log(app)
    started = time.perf_counter()
    with app.extensions["read_sessions"]() as session:
        result = auditlog.verify(session, settings.keys, settings.origin)
    verify_s = time.perf_counter() - started
    if not (result.ok and result.entries == args.entries and result.pending == 0):
        raise SystemExit(f"the audit log does not verify after sealing: {result}")
    database = engine.dialect.name
    print(f"database: {database}")
    print(f"wrote {args.entries} entries in {write_s:.1f} s")
    print(
        f"sealed them in {len(batches)} signed checkpoints: {seal_s:.1f} s "
        f"({args.entries / seal_s:.0f} entries/s)"
    )
    print(
        f"verified {result.entries} entries and {result.checkpoints} checkpoints: {verify_s:.1f} s"
    )
    save_json(
        args.json,
        {
            "database": database,
            "entries": args.entries,
            "seal_seconds": round(seal_s, 1),
            "verify_seconds": round(verify_s, 1),
            "checkpoints": result.checkpoints,
        },
    )


if __name__ == "__main__":
    main()
