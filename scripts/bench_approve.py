"""Benchmark: approve 1,000 passes (sign the token, store the QR text, queue the SMS) and
render their QR images. Uses DATABASE_URL if set (e.g. PostgreSQL), else a temp SQLite.

    .venv/bin/python scripts/bench_approve.py [--passes 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from db import utcnow  # noqa: E402

STEM = "91330482MA00BENCH"  # 17 characters of a credit code; the check character is computed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=1000)
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp())
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}"
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SMS_DELIVER_INLINE": False,
        }
    )
    engine = app.extensions["engine"]
    if engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
        from accounts import services as accounts
        from accounts.domain import credit_code_check_char
        from accounts.schemas import EnterpriseSignup, UserCreate
        from passes import context, fleet, qr, services
        from passes.domain import id_check_char
        from passes.schemas import DriverIn, PassApplication, VehicleIn

        session = app.extensions["sessions"]()
        now = utcnow()
        method = "pbkdf2:sha256:1000"
        admin = accounts.create_user(
            session,
            UserCreate(username="admin", password="admin-pass-1", role="admin"),
            actor=None,
            now=now,
            password_method=method,
        )
        reviewer = accounts.create_user(
            session,
            UserCreate(username="rev", password="rev-pass-1", role="reviewer"),
            actor=None,
            now=now,
            password_method=method,
        )
        ent = accounts.sign_up_enterprise(
            session,
            EnterpriseSignup(
                name="基准测试物流",
                credit_code=STEM + credit_code_check_char(STEM),
                contact_name="张",
                contact_phone="13800000000",
                admin_username="bench",
                admin_password="bench-pass-1",
            ),
            now=now,
            password_method=method,
        )
        accounts.set_enterprise_status(session, ent.id, "approved", actor=admin, now=now)
        from accounts.models import User

        owner = session.query(User).filter_by(username="bench").one()
        vehicles = [
            fleet.add_vehicle(
                session, owner, VehicleIn(plate=f"浙F{10000 + i}", vehicle_type="van"), now=now
            )
            for i in range(50)
        ]
        stem = "33048219900101"
        drivers = [
            fleet.add_driver(
                session,
                owner,
                DriverIn(
                    name="司机",
                    id_number=f"{stem}{i:03d}" + id_check_char(f"{stem}{i:03d}"),
                    phone=f"1390000{i:04d}",
                ),
                now=now,
            )
            for i in range(50)
        ]
        rules, issuer = context.filing_rules(), context.issuer()
        ids = []
        for i in range(args.passes):
            data = PassApplication(
                vehicle_id=vehicles[i % 50].id,
                driver_id=drivers[i % 50].id,
                origin="平湖",
                cargo="货物",
                category="products",
                valid_from=now,
                valid_until=now + timedelta(days=7),
            )
            ids.append(
                services.submit_pass(session, owner, data, now=now, rules=rules, issuer=issuer).id
            )
        services.approve_pass(session, ids[0], reviewer, now=now, issuer=issuer)  # creates key

        started = time.perf_counter()
        for pass_id in ids[1:]:
            services.approve_pass(session, pass_id, reviewer, now=now, issuer=issuer)
        approve_s = time.perf_counter() - started

        from passes.models import Pass

        codes = [p.code for p in session.query(Pass).all()]
        started = time.perf_counter()
        for code in codes[:200]:
            qr.png(code)
        png_ms = (time.perf_counter() - started) / 200 * 1000
        versions = [qr.version(c) for c in codes[:50]]
        lengths = [len(c.split("/P/")[1]) for c in codes]
    print(f"database: {engine.dialect.name}")
    print(
        f"approved {len(ids) - 1} passes one by one (sign + QR text + SMS row + audit, "
        f"one transaction each): {approve_s:.2f} s, {(len(ids) - 1) / approve_s:.0f}/s"
    )
    print(
        f"token length: {statistics.median(lengths):.0f} base32 chars; "
        f"QR version {min(versions)}-{max(versions)} (error correction M)"
    )
    print(f"QR PNG render: {png_ms:.1f} ms per image")


if __name__ == "__main__":
    main()
