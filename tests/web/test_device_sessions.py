"""Officers stay signed in on their phones across a browser restart for their shift: a
device-bound cookie, ended by signing out there, by an administrator, by deactivation, or
when the shift's hours are over (accounts/devices.py)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.devices import COOKIE
from accounts.models import DeviceSession
from tests.support import PASSWORD, csrf_token, login, now, post_form

PHONE_AGENT = "Mozilla/5.0 (Linux; Android 10; K) Chrome/120 Mobile"


@pytest.fixture
def phone(app):
    """A second client that carries only the device cookie: the browser after a restart."""

    def restarted(client, agent=PHONE_AGENT):
        kept = client.get_cookie(COOKIE)
        fresh = app.test_client()
        fresh.environ_base["HTTP_USER_AGENT"] = agent
        if kept is not None:
            fresh.set_cookie(COOKIE, kept.value)
        return fresh

    return restarted


def sign_in_kept(client, username):
    client.environ_base["HTTP_USER_AGENT"] = PHONE_AGENT
    return client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "keep": "y",
            "csrf_token": csrf_token(client),
        },
    )


def test_a_kept_phone_is_signed_in_again_after_a_restart(client, make, phone, db):
    officer = make.officer(make.checkpoint("gate"))
    assert sign_in_kept(client, officer.username).status_code == 302
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    assert cookie.http_only
    db.rollback()
    stored = db.scalars(select(DeviceSession)).one()
    assert stored.token_hash != cookie.value  # only its hash is kept
    restarted = phone(client)
    assert restarted.get("/scan").status_code == 200


def test_another_browser_with_the_cookie_is_not_signed_in_and_the_cookie_dropped(
    client, make, phone
):
    officer = make.officer(make.checkpoint("gate"))
    sign_in_kept(client, officer.username)
    elsewhere = phone(client, agent="curl/8.0")
    response = elsewhere.get("/scan")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert f"{COOKIE}=;" in response.headers.get("Set-Cookie", "")


def test_signing_out_on_the_phone_ends_it(client, make, phone):
    officer = make.officer(make.checkpoint("gate"))
    sign_in_kept(client, officer.username)
    kept = phone(client)  # a copy of the cookie taken before signing out
    post_form(client, "/logout")
    assert kept.get("/scan").status_code == 302


def test_an_administrator_signs_a_user_out_of_kept_phones(app, client, make, phone, db):
    officer = make.officer(make.checkpoint("gate"))
    sign_in_kept(client, officer.username)
    kept = phone(client)
    admin_client = app.test_client()
    login(admin_client, make.user("admin").username)
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{officer.id}/revoke-devices" in page
    response = post_form(admin_client, f"/admin/users/{officer.id}/revoke-devices")
    assert response.status_code == 302
    assert kept.get("/scan").status_code == 302
    db.rollback()
    assert db.scalars(select(DeviceSession)).one().revoked_at is not None


def test_the_shift_ends_and_deactivation_ends_it_too(app, client, make, phone):
    officer = make.officer(make.checkpoint("gate"))
    sign_in_kept(client, officer.username)
    kept = phone(client)
    app.extensions["clock"] = lambda: now() + timedelta(hours=17)
    assert kept.get("/scan").status_code == 302
    app.extensions.pop("clock")
    second = app.test_client()
    sign_in_kept(second, officer.username)
    kept = phone(second)
    from accounts import services
    from accounts.models import User

    with app.extensions["sessions"]() as session:
        admin = make.user("admin")
        services.set_user_active(
            session, officer.id, False, actor=session.get(User, admin.id), now=now()
        )
    assert kept.get("/scan").status_code == 302


def test_oversight_roles_are_never_kept(client, make, db):
    supervisor = make.user("supervisor")
    assert sign_in_kept(client, supervisor.username).status_code == 302
    assert client.get_cookie(COOKIE) is None
    db.rollback()
    assert db.scalars(select(DeviceSession)).all() == []
