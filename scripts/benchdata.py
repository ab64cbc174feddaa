"""Shared set-up for the benchmark scripts: a migrated database (DATABASE_URL, or a temp
SQLite) and a small jurisdiction built through the real services."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEM = "91330482MA00QRBNC"  # 17 characters of a credit code; the check character is computed
HASH = "pbkdf2:sha256:1000"


def bench_app(**config: Any) -> tuple[Any, Path]:
    """An app on a fresh, migrated database; returns it and its instance folder."""
    from sqlalchemy import text

    from app import create_app

    instance = Path(tempfile.mkdtemp())
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}"
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "PASSWORD_HASH_METHOD": HASH,
            "SMS_DELIVER_INLINE": False,
            **config,
        }
    )
    # In process, a request log line each would flood the report's output.
    logging.getLogger("trafficpass.requests").setLevel(logging.WARNING)
    engine = app.extensions["engine"]
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return app, instance


@dataclass
class Jurisdiction:
    session: Any
    admin: Any
    reviewer: Any
    owner: Any
    gate: Any
    officer: Any


def jurisdiction(app: Any) -> Jurisdiction:
    """Admin, reviewer, one approved enterprise with its user, one gate and its officer."""
    from accounts import services as accounts
    from accounts.domain import credit_code_check_char
    from accounts.models import User
    from accounts.schemas import EnterpriseSignup, UserCreate
    from checkpoints import services as checkpoints
    from checkpoints.schemas import CheckpointIn
    from core.db import utcnow

    session, now = app.extensions["sessions"](), utcnow()

    def user(name: str, role: str, **kw: Any) -> Any:
        data = UserCreate(username=name, password=f"{name}-pass-1", role=role, **kw)
        return accounts.create_user(session, data, actor=None, now=now, password_method=HASH)

    admin, reviewer = user("admin", "admin"), user("rev", "reviewer")
    gate = checkpoints.create_checkpoint(
        session, CheckpointIn(code="G-BENCH", name="基准卡口", kind="gate"), actor=admin, now=now
    )
    officer = user("gate", "officer", checkpoint_ids=[gate.id])
    signup = EnterpriseSignup(
        name="基准物流",
        credit_code=STEM + credit_code_check_char(STEM),
        contact_name="张",
        contact_phone="13800000000",
        admin_username="ent",
        admin_password="ent-pass-1",
    )
    enterprise = accounts.sign_up_enterprise(session, signup, now=now, password_method=HASH)
    accounts.set_enterprise_status(session, enterprise.id, "approved", actor=admin, now=now)
    owner = session.query(User).filter_by(username="ent").one()
    return Jurisdiction(session, admin, reviewer, owner, gate, officer)


def submit_passes(
    j: Jurisdiction,
    n: int,
    *,
    fleet_size: int | None = None,
    max_trips: int = 1,
    first: int = 0,
) -> list[int]:
    """`n` applications over `fleet_size` vehicles and drivers (one each by default), the
    fleet numbered from `first` (so a second call registers a fleet of its own)."""
    from core.db import utcnow
    from fleet import services as fleet
    from fleet.domain import id_check_char
    from fleet.schemas import DriverIn, VehicleIn
    from passes import context, filing
    from passes.schemas import PassApplication

    now, size = utcnow(), fleet_size or n
    vehicles, drivers = [], []
    for i in range(first, first + size):
        vehicles.append(
            fleet.add_vehicle(
                j.session, j.owner, VehicleIn(plate=f"浙F{10000 + i}", vehicle_type="van"), now=now
            )
        )
        day = date(1980, 1, 1) + timedelta(days=i // 1000)  # 1,000 serials per birth date
        stem = f"330482{day:%Y%m%d}{i % 1000:03d}"
        drivers.append(
            fleet.add_driver(
                j.session,
                j.owner,
                DriverIn(name="司机", id_number=stem + id_check_char(stem), phone=f"139{i:08d}"),
                now=now,
            )
        )
    rules, issuer = context.filing_rules(), context.issuer()
    ids = []
    for i in range(n):
        data = PassApplication(
            vehicle_id=vehicles[i % size].id,
            driver_id=drivers[i % size].id,
            origin="平湖",
            cargo="货物",
            category="products",
            valid_from=now,
            valid_until=now + timedelta(days=7),
            max_trips=max_trips,
            file_anyway=True,  # a small fleet carries many passes at once, on purpose
        )
        ids.append(
            filing.submit_pass(j.session, j.owner, data, now=now, rules=rules, issuer=issuer).id
        )
    return ids


def save_json(path: str | None, data: dict[str, Any]) -> None:
    """Write one benchmark's figures for scripts/bench_report.py (when --json is given)."""
    if not path:
        return
    import json

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2, ensure_ascii=False))
