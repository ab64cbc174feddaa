"""Benchmark: approve 1,000 passes (sign the token, store the QR text, queue the SMS) and
render their QR images. Uses DATABASE_URL if set (e.g. PostgreSQL), else a temp SQLite.

    .venv/bin/python scripts/bench_approve.py [--passes 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchdata import bench_app, jurisdiction, save_json, submit_passes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=1000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    app, _ = bench_app()
    with app.app_context():
        from core.db import utcnow
        from passes import context, services
        from passes.models import Pass
        from trust import qr

        j = jurisdiction(app)
        ids = submit_passes(j, args.passes, fleet_size=50)
        issuer, now = context.issuer(), utcnow()
        services.approve_pass(j.session, ids[0], j.reviewer, now=now, issuer=issuer)  # the key

        started = time.perf_counter()
        for pass_id in ids[1:]:
            services.approve_pass(j.session, pass_id, j.reviewer, now=now, issuer=issuer)
        approve_s = time.perf_counter() - started

        # The review queue's "approve selected": the same work in batches committed together.
        bulk_ids = submit_passes(j, args.passes, fleet_size=50, first=5000)
        started = time.perf_counter()
        approved, skipped = services.bulk_approve(
            j.session, bulk_ids, j.reviewer, now=now, issuer=issuer
        )
        bulk_s = time.perf_counter() - started
        assert (len(approved), skipped) == (len(bulk_ids), []), "bulk approval skipped passes"
        assert_approvals_complete(j.session, len(ids) + len(bulk_ids))

        codes = [p.code for p in j.session.query(Pass).all()]
        started = time.perf_counter()
        for code in codes[:200]:
            qr.png(code)
        png_ms = (time.perf_counter() - started) / 200 * 1000
        versions = [qr.version(c) for c in codes[:50]]
        lengths = [len(c.split("/P/")[1]) for c in codes]
    print(f"database: {app.extensions['engine'].dialect.name}")
    print(
        f"approved {len(ids) - 1} passes one by one (sign + QR text + SMS row + audit, "
        f"one transaction each): {approve_s:.2f} s, {(len(ids) - 1) / approve_s:.0f}/s"
    )
    print(
        f"approved {len(bulk_ids)} passes in bulk (batches of {services.BULK_BATCH}): "
        f"{bulk_s:.2f} s, {len(bulk_ids) / bulk_s:.0f}/s"
    )
    print(
        f"token length: {statistics.median(lengths):.0f} base32 chars; "
        f"QR version {min(versions)}-{max(versions)} (error correction M)"
    )
    print(f"QR PNG render: {png_ms:.1f} ms per image")
    save_json(
        args.json,
        {
            "database": app.extensions["engine"].dialect.name,
            "approved": len(ids) - 1,
            "approve_seconds": round(approve_s, 2),
            "approve_per_second": round((len(ids) - 1) / approve_s),
            "bulk_approved": len(bulk_ids),
            "bulk_seconds": round(bulk_s, 2),
            "token_chars": statistics.median(lengths),
            "qr_versions": [min(versions), max(versions)],
            "png_ms": round(png_ms, 1),
        },
    )


def assert_approvals_complete(session, n: int) -> None:
    """Every approved pass has its code, its SMS row and its audit entry."""
    from sqlalchemy import func, select

    from core.audit import AuditEntry
    from passes.models import Pass
    from sms.models import SmsMessage

    approved = session.scalar(
        select(func.count()).where(Pass.status == "approved", Pass.code.is_not(None))
    )
    sms = session.scalar(select(func.count()).where(SmsMessage.dedupe_key.like("pass:%:approved")))
    entries = session.scalar(select(func.count()).where(AuditEntry.action == "pass.approve"))
    assert approved == sms == entries == n, (approved, sms, entries, n)


if __name__ == "__main__":
    main()
