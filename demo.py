"""`flask --app app demo seed`: a small demo jurisdiction with one login per role.

Demo passwords exist only here; production refuses to seed them without --force.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

import demo_history
from accounts import services
from accounts.domain import EnterpriseStatus, Role, credit_code_check_char
from accounts.models import Enterprise, User
from accounts.schemas import EnterpriseSignup, UserCreate
from checkpoints.domain import AnomalyKind
from core.db import utcnow
from supervision import alerts, statistics_refresh
from supervision.models import AlertSettings

demo = AppGroup("demo", help="Demo data.")

ENTERPRISES = [
    # name, 17-char credit code stem, contact, mobile, login, status
    (
        "平湖市示范物流有限公司",
        "91330482MA2B00001",
        "张伟",
        "13800000001",
        "enterprise",
        "approved",
    ),
    ("平湖市民生食品有限公司", "91330482MA2B00002", "李娜", "13800000002", "foods", "approved"),
    ("平湖新华制造有限公司", "91330482MA2B00003", "王强", "13800000003", "newco", "pending"),
]
STATION = ("S-PH-01", "独山港司机之家", "station")
GATES = [("G-PH01", "平湖收费站出口"), ("G-ZP02", "乍浦港卡口")]
STAFF = [
    ("admin", Role.ADMIN),
    ("reviewer", Role.REVIEWER),
    ("supervisor", Role.SUPERVISOR),
    ("officer", Role.OFFICER),
]


def demo_password(login: str) -> str:
    return f"{login}-demo-1"


def _seed_enterprise(session: Session, row: tuple[str, ...], admin: User) -> Enterprise:
    name, stem, contact, mobile, login, status = row
    code = stem + credit_code_check_char(stem)
    existing = session.scalars(select(Enterprise).where(Enterprise.credit_code == code)).first()
    if existing:
        return existing
    method = current_app.config["PASSWORD_HASH_METHOD"]
    enterprise = services.sign_up_enterprise(
        session,
        EnterpriseSignup(
            name=name,
            credit_code=code,
            contact_name=contact,
            contact_phone=mobile,
            admin_username=login,
            admin_password=demo_password(login),
        ),
        now=utcnow(),
        password_method=method,
    )
    if status == EnterpriseStatus.APPROVED:
        services.set_enterprise_status(session, enterprise.id, status, actor=admin, now=utcnow())
    return enterprise


def _seed_fleet_and_passes(
    session: Session, shipper: Enterprise, receiver: Enterprise, reviewer: User
) -> None:
    """A few trucks, drivers and passes so every page has something to show."""
    from fleet import services as fleet
    from fleet.domain import id_check_char
    from fleet.models import Vehicle
    from fleet.schemas import DriverIn, VehicleIn
    from passes import context, filing, services
    from passes.schemas import PassApplication

    if session.scalar(select(Vehicle.id).where(Vehicle.plate == "浙F12345")):
        return
    owner = session.scalars(select(User).where(User.enterprise_id == shipper.id)).first()
    now = utcnow()
    vehicles = [
        fleet.add_vehicle(
            session, owner, VehicleIn(plate=p, vehicle_type=t, capacity_kg=c), now=now
        )
        for p, t, c in [
            ("浙F12345", "heavy_truck", 18000),
            ("浙FD23456", "light_truck", 2500),
            ("浙F3456挂", "trailer", 30000),
        ]
    ]
    drivers = []
    for name, stem, phone in [
        ("王建国", "33048219800512003", "13900000011"),
        ("刘芳", "33048219900823004", "13900000012"),
    ]:
        data = DriverIn(name=name, id_number=stem + id_check_char(stem), phone=phone)
        drivers.append(fleet.add_driver(session, owner, data, now=now))
    rules, issuer = context.filing_rules(), context.issuer()
    for vehicle, driver, category, cargo, approve in [
        (vehicles[0], drivers[0], "daily_necessities", "大米 20 吨", True),
        (vehicles[1], drivers[1], "emergency", "医用口罩 5 万只", False),
    ]:
        application = PassApplication(
            vehicle_id=vehicle.id,
            driver_id=driver.id,
            destination_enterprise_id=receiver.id,
            origin="嘉兴市南湖区",
            cargo=cargo,
            category=category,
            valid_from=now,
            valid_until=now + timedelta(days=7),
            max_trips=3,
        )
        p = filing.submit_pass(session, owner, application, now=now, rules=rules, issuer=issuer)
        if approve:
            services.approve_pass(session, p.id, reviewer, now=now, issuer=issuer)


def _seed_checkpoints(session: Session, admin: User, officer: User, receiver: Enterprise) -> None:
    """Two gates for the demo officer (the first taking bookings), a station for the crews'
    stops, and the receiving enterprise's own site, so the scanner has somewhere to scan
    entry, a stop, arrival and exit."""
    from checkpoints import services as checkpoints
    from checkpoints.models import Checkpoint
    from checkpoints.schemas import CheckpointIn

    gates = []
    for code, name, kind in (*((c, n, "gate") for c, n in GATES), STATION):
        gate = session.scalars(select(Checkpoint).where(Checkpoint.code == code)).first()
        if gate is None:
            data = CheckpointIn(code=code, name=name, kind=kind)
            gate = checkpoints.create_checkpoint(session, data, actor=admin, now=utcnow())
            if len(gates) == 0:
                gate.capacity_per_hour = 20  # 预约制: twenty trucks an hour at the first gate
        gates.append(gate.id)
    if not checkpoints.officer_gates(session, users=[officer])[1][officer.id]:
        checkpoints.assign_checkpoints(session, officer, gates, actor=admin, now=utcnow())
    owner = session.scalars(select(User).where(User.enterprise_id == receiver.id)).first()
    checkpoints.request_site(session, owner, now=utcnow())


@demo.command("seed")
@click.option("--force", is_flag=True, help="Seed even in production (never do this).")
def seed(force: bool) -> None:
    """Create demo enterprises and one user per role; prints the logins."""
    if current_app.config["APP_ENV"] == "production" and not force:
        raise click.UsageError("refusing to create demo logins in production")
    session = current_app.extensions["sessions"]()
    method = current_app.config["PASSWORD_HASH_METHOD"]
    try:
        staff: dict[str, User] = {}
        for login, role in STAFF:
            user = session.scalars(select(User).where(User.username == login)).first()
            if user is None:
                user = services.create_user(
                    session,
                    UserCreate(username=login, password=demo_password(login), role=role),
                    actor=staff.get("admin"),
                    now=utcnow(),
                    password_method=method,
                )
            staff[login] = user
        enterprises = [_seed_enterprise(session, row, staff["admin"]) for row in ENTERPRISES]
        statuses = [str(e.status) for e in enterprises]  # as they stand, approved since or not
        _seed_checkpoints(session, staff["admin"], staff["officer"], enterprises[1])
        tz = current_app.config["TIMEZONE"]  # the week behind first: it signs the first code
        demo_history.seed_history(session, enterprises[0], enterprises[1], staff, tz)
        _seed_fleet_and_passes(session, enterprises[0], enterprises[1], staff["reviewer"])
        statistics_refresh.refresh(session, now=utcnow(), tz=tz, everything=True)
        if session.get(AlertSettings, staff["supervisor"].id) is None:
            # The demo supervisor hears of every anomaly kind in the app (no SMS).
            alerts.save_settings(
                session,
                staff["supervisor"],
                alerts.AlertSettingsIn(kinds=list(AnomalyKind)),
                now=utcnow(),
            )
        if current_app.config["SMS_BACKEND"] == "console":
            # No worker runs in the demo: hand the seeded messages to the console now.
            from sms import context as sms_context
            from sms import outbox

            outbox.work_once(session, sms_context.sms_backend(), "demo", now=utcnow, limit=100)
    finally:
        session.close()
    click.echo("Demo logins (username / password):")
    for login, role in STAFF:
        click.echo(f"  {role:<11} {login} / {demo_password(login)}")
    for row, status in zip(ENTERPRISES, statuses, strict=True):
        click.echo(f"  {'enterprise':<11} {row[4]} / {demo_password(row[4])}  ({row[0]}, {status})")
