"""Test helpers: factories that go through the real services, and client helpers."""

from __future__ import annotations

import itertools
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from accounts import services
from accounts.domain import EnterpriseStatus, Role, credit_code_check_char
from accounts.models import Enterprise, User
from accounts.schemas import EnterpriseSignup, UserCreate

FAST_HASH = "pbkdf2:sha256:1000"
PASSWORD = "secret-pass-1"


def app_config(database_url: str, instance: Path, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "APP_ENV": "testing",
        "AUDIT_SEQUENCER": "off",  # tests integrate the audit log when they mean to
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "INSTANCE_PATH": str(instance),
        # A test's scans follow each other within milliseconds, where a gate's are minutes
        # apart: repeats are off unless a test of them turns them on.
        "REPEAT_SCAN_SECONDS": 0,
        **extra,
    }


def now() -> datetime:
    return datetime.now(UTC)


_serial = itertools.count(1)


def credit_code(n: int | None = None) -> str:
    stem = f"91330482MA{(n or next(_serial)):07d}"
    return stem + credit_code_check_char(stem)


class Factory:
    """Builds rows through the real services, so tests start from states users reach."""

    def __init__(self, app: Flask):
        self.app = app

    def session(self) -> Any:
        return self.app.extensions["sessions"]()

    def enterprise(
        self, status: str = EnterpriseStatus.APPROVED, username: str | None = None, **kw: Any
    ) -> Enterprise:
        n = next(_serial)
        data = {
            "name": f"测试物流有限公司{n}",
            "credit_code": credit_code(n),
            "contact_name": "张三",
            "contact_phone": f"139{n % 10**8:08d}",
            "admin_username": username or f"ent{n}",
            "admin_password": PASSWORD,
            **kw,
        }
        with self.session() as session:
            enterprise = services.sign_up_enterprise(
                session, EnterpriseSignup(**data), now=now(), password_method=FAST_HASH
            )
            if status != EnterpriseStatus.PENDING:
                admin = self.user(Role.ADMIN)
                services.set_enterprise_status(
                    session, enterprise.id, status, actor=admin, now=now()
                )
            return enterprise

    def user(
        self, role: str, username: str | None = None, enterprise_id: int | None = None
    ) -> User:
        with self.session() as session:
            return services.create_user(
                session,
                UserCreate(
                    username=username or f"{role}{next(_serial)}",
                    password=PASSWORD,
                    role=Role(role),
                    enterprise_id=enterprise_id,
                ),
                actor=None,
                now=now(),
                password_method=FAST_HASH,
            )

    def enterprise_user(self, enterprise: Enterprise) -> User:
        with self.session() as session:
            return session.query(User).filter_by(enterprise_id=enterprise.id).first()

    def vehicle(self, owner: User, **kw: Any) -> Any:
        from fleet import services as fleet
        from fleet.schemas import VehicleIn

        data = {"plate": plate(), "vehicle_type": "heavy_truck", **kw}
        with self.session() as session:
            return fleet.add_vehicle(session, owner, VehicleIn(**data), now=now())

    def driver(self, owner: User, **kw: Any) -> Any:
        from fleet import services as fleet
        from fleet.schemas import DriverIn

        n = next(_serial)
        data = {"name": "李四", "id_number": id_number(n), "phone": f"1380000{n % 10000:04d}", **kw}
        with self.session() as session:
            return fleet.add_driver(session, owner, DriverIn(**data), now=now())

    def checkpoint(self, kind: str = "gate", enterprise: Enterprise | None = None) -> Any:
        from checkpoints import services as checkpoints
        from checkpoints.schemas import CheckpointIn

        n = next(_serial)
        data = CheckpointIn(
            code=f"{kind.upper()}-{n}",
            name=f"测试{kind}{n}",
            kind=kind,
            enterprise_id=enterprise.id if enterprise else None,
        )
        with self.session() as session:
            return checkpoints.create_checkpoint(session, data, actor=None, now=now())

    def officer(self, *checkpoints: Any) -> User:
        with self.session() as session:
            return services.create_user(
                session,
                UserCreate(
                    username=f"officer{next(_serial)}",
                    password=PASSWORD,
                    role=Role.OFFICER,
                    checkpoint_ids=[c.id for c in checkpoints],
                ),
                actor=None,
                now=now(),
                password_method=FAST_HASH,
            )

    def issuer(self) -> Any:
        from passes.services import Issuer

        return Issuer(
            key_dir=Path(self.app.instance_path) / "keys",
            public_base_url=self.app.config["PUBLIC_BASE_URL"],
            area_code=self.app.config["AREA_CODE"],
        )

    def pass_(
        self, enterprise: Enterprise | None = None, status: str = "submitted", **kw: Any
    ) -> Any:
        """A pass application through the services, optionally approved by a reviewer."""
        from passes import filing, services
        from passes.schemas import PassApplication

        enterprise = enterprise or self.enterprise()
        owner = self.enterprise_user(enterprise)
        vehicle, driver = self.vehicle(owner), self.driver(owner)
        data = PassApplication.model_validate(application(vehicle.id, driver.id, **kw))
        rules = filing.FilingRules(area_code=self.app.config["AREA_CODE"])
        with self.session() as session:
            p = filing.submit_pass(
                session, owner, data, now=now(), rules=rules, issuer=self.issuer()
            )
            if status in ("approved", "revoked"):
                reviewer = self.user("reviewer")
                services.approve_pass(session, p.id, reviewer, now=now(), issuer=self.issuer())
            if status == "revoked":
                services.revoke_pass(session, p.id, reviewer, "测试吊销", now=now())
            from sqlalchemy.orm import selectinload

            model = type(p)
            return session.get(
                model,
                p.id,
                populate_existing=True,
                options=[
                    selectinload(model.vehicle),
                    selectinload(model.driver),
                    selectinload(model.enterprise),
                    selectinload(model.destination),
                ],
            )


CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    match = CSRF_META.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )


def post_form(client: FlaskClient, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client)})


def api_token(client: FlaskClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


# --- fleet and passes --------------------------------------------------------------------

_plates = itertools.count(10000)


def plate() -> str:
    return f"浙F{next(_plates)}"


def id_number(n: int | None = None) -> str:
    from fleet.domain import id_check_char

    stem = f"33048219900101{(n or next(_serial)) % 1000:03d}"
    return stem + id_check_char(stem)


def application(vehicle_id: int, driver_id: int, **kw: Any) -> dict[str, Any]:
    start = now().replace(microsecond=0)
    return {
        "vehicle_id": vehicle_id,
        "driver_id": driver_id,
        "origin": "平湖市当湖街道",
        "cargo": "蔬菜",
        "category": "daily_necessities",
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=3)).isoformat(),
        **kw,
    }


def audit_log_verifies(app: Flask) -> Any:
    """Integrate what is pending, as the sequencer would, then verify the whole log."""
    from trust import auditlog
    from trust.context import audit_log, sequencer

    sequencer(app).tick()
    settings = audit_log(app)
    with app.extensions["read_sessions"]() as session:
        result = auditlog.verify(session, settings.keys, settings.origin)
    assert result.pending == 0, result
    return result


class Statements:
    """The SQL the app sends while the block runs, upper-cased on one line each; with
    `flagged`, as (read_only, statement): whether it ran on a read-only connection."""

    def __init__(self, engine: Any, *, flagged: bool = False):
        self.engine, self.flagged, self.seen = engine, flagged, []

    def __enter__(self) -> list[Any]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sql = " ".join(statement.split()).upper()
        read_only = bool(conn.get_execution_options().get("read_only"))
        self.seen.append((read_only, sql) if self.flagged else sql)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now (for servers a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
