"""Benchmark: the audit log at size. Writes N entries, seals them with the sequencer and
times a full verification (recompute the Merkle tree, check every signed checkpoint), then
an inclusion and a consistency proof at that size from the stored nodes, against the same
proofs computed from every leaf, side by side.
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
    proofs = _proofs(app, args.entries)
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
    print(
        f"inclusion proof p50 {proofs['inclusion_ms']} ms, consistency proof p50 "
        f"{proofs['consistency_ms']} ms ({proofs['rows']} rows each at most); from every "
        f"leaf: {proofs['from_leaves_ms']} ms"
    )
    save_json(
        args.json,
        {
            "database": database,
            "entries": args.entries,
            "seal_seconds": round(seal_s, 1),
            "verify_seconds": round(verify_s, 1),
            "checkpoints": result.checkpoints,
            **proofs,
        },
    )


def _proofs(app, size: int) -> dict[str, float]:
    """Median milliseconds of 25 proofs each at `size` (entries spread over the log), the
    rows the largest read, and the same inclusion proof from every leaf, once."""
    import statistics

    from sqlalchemy import select

    from core.audit import AuditEntry
    from trust import audit_proofs, merkle

    timings: dict[str, list[float]] = {"inclusion": [], "consistency": []}
    rows = 0
    real = audit_proofs._Subtrees.__init__

    def counting(self, session, wanted):  # the rows a proof reads
        nonlocal rows
        real(self, session, wanted)
        rows = max(rows, len(self.known))

    audit_proofs._Subtrees.__init__ = counting  # type: ignore[method-assign]
    with app.extensions["read_sessions"]() as session:
        for i in range(25):
            seq = 1 + (size - 1) * i // 24
            entry = session.scalar(select(AuditEntry.id).where(AuditEntry.seq == seq))
            started = time.perf_counter()
            proof = audit_proofs.inclusion(session, entry, size)
            timings["inclusion"].append(time.perf_counter() - started)
            started = time.perf_counter()
            audit_proofs.consistency(session, max(1, seq - 1), size)
            timings["consistency"].append(time.perf_counter() - started)
        started = time.perf_counter()
        leaves = [
            bytes.fromhex(h)
            for h in session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq))
        ]
        from_leaves = merkle.inclusion_proof(proof["leaf_index"], leaves)
        from_leaves_s = time.perf_counter() - started
    audit_proofs._Subtrees.__init__ = real  # type: ignore[method-assign]
    if [h.hex() for h in from_leaves] != proof["audit_path"]:
        raise SystemExit("the proof from stored nodes differs from the one from every leaf")
    return {
        "inclusion_ms": round(statistics.median(timings["inclusion"]) * 1000, 1),
        "consistency_ms": round(statistics.median(timings["consistency"]) * 1000, 1),
        "rows": rows,
        "from_leaves_ms": round(from_leaves_s * 1000, 1),
    }


if __name__ == "__main__":
    main()
