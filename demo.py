"""`flask --app app demo seed`: a small demo jurisdiction with one login per role.

Demo passwords exist only here; production refuses to seed them without --force.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import services
from accounts.domain import EnterpriseStatus, Role, credit_code_check_char
from accounts.models import Enterprise, User
from accounts.schemas import EnterpriseSignup, UserCreate
from db import utcnow

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
        for row in ENTERPRISES:
            _seed_enterprise(session, row, staff["admin"])
    finally:
        session.close()
    click.echo("Demo logins (username / password):")
    for login, role in STAFF:
        click.echo(f"  {role:<11} {login} / {demo_password(login)}")
    for row in ENTERPRISES:
        click.echo(f"  {'enterprise':<11} {row[4]} / {demo_password(row[4])}  ({row[0]}, {row[5]})")
