"""Sign-in and sign-up limits beyond one username at one address (accounts.throttle):
per address, per username, a global ceiling on password checks, sign-ups per address and
overall. A refused attempt costs no password hash and writes nothing; web pages and the
API answer 429 with Retry-After; every limit lifts once its window has passed."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts import throttle
from accounts.models import Enterprise, LoginAttempt, User
from core.audit import AuditEntry
from tests.support import PASSWORD, credit_code, csrf_token, now

WRONG = "wrong-pass-1"


@pytest.fixture
def hashes(monkeypatch):
    """Every password hash the sign-in checks, in order."""
    import accounts.services as services

    checked = []
    real = services.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(services, "check_password_hash", spy)
    return checked


@pytest.fixture
def clock(app):
    """The app's clock, moved on with `clock.advance(...)`."""

    class Clock:
        at = now()

        def advance(self, **delta):
            self.at += timedelta(**delta)

    c = Clock()
    app.extensions["clock"] = lambda: c.at
    return c


def sign_in(client, username, password=PASSWORD, ip="127.0.0.1"):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": ip},
    )


def token(client, username, password=PASSWORD, ip="127.0.0.1"):
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def attempts(db):
    db.rollback()
    return db.scalar(select(func.count()).select_from(LoginAttempt))


def counts(db):
    db.rollback()
    return tuple(
        db.scalar(select(func.count()).select_from(m))
        for m in (Enterprise, User, AuditEntry, LoginAttempt)
    )


def retry_after(response):
    return int(response.headers["Retry-After"])


# --- sign-in -------------------------------------------------------------------------------


def test_thirty_usernames_from_one_address_stop_at_the_address_limit(
    app, client, make, db, hashes, clock
):
    assert app.config["LOGIN_ADDRESS_MAX_FAILURES"] == 20
    real = make.user("admin")
    names = [f"guess{n}" for n in range(29)] + [real.username]
    statuses = [sign_in(client, name, WRONG, ip="203.0.113.9").status_code for name in names]
    assert statuses == [401] * 20 + [429] * 10
    assert len(hashes) == 20  # the ten refused cost no hash
    assert attempts(db) == 20  # and wrote nothing
    # Even the right password waits there; the token endpoint shares the limit.
    blocked = sign_in(client, real.username, ip="203.0.113.9")
    assert blocked.status_code == 429
    assert 0 < retry_after(blocked) <= 15 * 60
    assert "此网络登录失败次数过多" in blocked.get_data(as_text=True)  # not "you failed"
    api = token(client, real.username, ip="203.0.113.9")
    assert api.status_code == 429
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["status"] == 429
    assert 0 < retry_after(api) <= 15 * 60
    assert len(hashes) == 20
    # Another address is not held by this one's failures.
    assert sign_in(client, real.username, ip="198.51.100.7").status_code == 302
    # Once the window has passed, the right password works from there again.
    clock.advance(minutes=16)
    assert sign_in(client, real.username, ip="203.0.113.9").status_code == 302


def test_one_username_from_many_addresses_stops_at_the_username_limit(
    app, client, make, db, hashes, clock
):
    assert app.config["LOGIN_USER_MAX_FAILURES"] == 20
    user = make.user("reviewer")
    assert sign_in(client, user.username, ip="192.0.2.200").status_code == 302  # their desk
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    del hashes[:]
    for n in range(20):
        assert sign_in(client, user.username, WRONG, ip=f"10.1.0.{n}").status_code == 401
    refused = sign_in(client, user.username, PASSWORD, ip="10.1.0.99")
    assert refused.status_code == 429
    assert 0 < retry_after(refused) <= 15 * 60
    api = token(client, user.username, WRONG, ip="10.1.0.98")
    assert api.status_code == 429
    assert retry_after(api) > 0
    assert len(hashes) == 20
    # The attack does not lock the user out where they signed in before, nor other users.
    assert sign_in(client, user.username, ip="192.0.2.200").status_code == 302
    other = make.user("reviewer")
    assert token(client, other.username, ip="10.1.0.97").status_code == 200
    # Window-based: it slows, it does not lock for good.
    clock.advance(minutes=16)
    assert token(client, user.username, ip="10.1.0.99").status_code == 200


def test_the_global_ceiling_on_password_checks_refuses_without_a_hash(
    app, client, make, db, hashes, clock
):
    app.config["LOGIN_MAX_CHECKS_PER_MINUTE"] = 5
    users = [make.user("supervisor") for _ in range(7)]
    for n, user in enumerate(users[:5]):
        assert token(client, user.username, ip=f"172.16.0.{n}").status_code == 200
    before = attempts(db)
    refused = token(client, users[5].username, ip="172.16.0.50")
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert 0 < retry_after(refused) <= 60
    assert "busy" in refused.get_json()["detail"] or "繁忙" in refused.get_json()["detail"]
    client.get("/lang/en")
    page = sign_in(client, users[6].username, ip="172.16.0.51")
    assert page.status_code == 429
    assert 0 < retry_after(page) <= 60
    assert "Sign-in is very busy right now" in page.get_data(as_text=True)
    assert len(hashes) == 5
    assert attempts(db) == before
    clock.advance(seconds=61)
    assert sign_in(client, users[6].username, ip="172.16.0.51").status_code == 302


def test_the_original_limit_per_username_and_address_is_kept(app, client, make, hashes):
    user = make.user("admin")
    for _ in range(10):
        assert sign_in(client, user.username, WRONG).status_code == 401
    page = sign_in(client, user.username)
    assert page.status_code == 429
    assert 0 < retry_after(page) <= 15 * 60  # the page says when, as the API does
    assert len(hashes) == 10


def test_limits_set_to_zero_are_off(app, client, make):
    app.config.update(LOGIN_ADDRESS_MAX_FAILURES=0, LOGIN_USER_MAX_FAILURES=0)
    app.config.update(LOGIN_MAX_FAILURES=0, LOGIN_MAX_CHECKS_PER_MINUTE=0)
    user = make.user("admin")
    for _ in range(25):
        assert sign_in(client, user.username, WRONG).status_code == 401
    assert sign_in(client, user.username).status_code == 302


# --- sign-up -------------------------------------------------------------------------------

SIGNUP = {
    "name": "平湖市限流物流有限公司",
    "contact_name": "王芳",
    "contact_phone": "13912345678",
    "admin_password": "limits-pass-1",
}


def sign_up_api(client, n, ip="127.0.0.1", **change):
    body = {**SIGNUP, "credit_code": credit_code(), "admin_username": f"limited{n}", **change}
    return client.post("/api/v1/enterprises", json=body, environ_base={"REMOTE_ADDR": ip})


def sign_up_page(client, n, ip="127.0.0.1"):
    data = {**SIGNUP, "credit_code": credit_code(), "admin_username": f"paged{n}"}
    data["csrf_token"] = csrf_token(client)
    return client.post("/signup", data=data, environ_base={"REMOTE_ADDR": ip})


def test_sign_up_is_limited_per_address_on_the_api_and_the_page(
    app, client, db, clock, monkeypatch
):
    import accounts.services as services

    assert app.config["SIGNUP_MAX_PER_ADDRESS"] == 10
    for n in range(10):
        assert sign_up_api(client, n, ip="203.0.113.20").status_code == 201
    before = counts(db)
    made = []
    real = services.generate_password_hash
    monkeypatch.setattr(
        services, "generate_password_hash", lambda *a, **k: made.append(1) or real(*a, **k)
    )
    refused = sign_up_api(client, 10, ip="203.0.113.20")
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert 0 < retry_after(refused) <= 3600
    client.get("/lang/en")
    page = sign_up_page(client, 11, ip="203.0.113.20")
    assert page.status_code == 429
    assert 0 < retry_after(page) <= 3600
    assert "Too many sign-ups from this network" in page.get_data(as_text=True)
    assert counts(db) == before  # no enterprise, user, audit entry or count written
    assert made == []  # and no password hashed
    assert sign_up_api(client, 12, ip="198.51.100.20").status_code == 201
    clock.advance(minutes=61)
    assert sign_up_page(client, 13, ip="203.0.113.20").status_code == 302


def test_failed_sign_ups_count_too(app, client, db):
    app.config["SIGNUP_MAX_PER_ADDRESS"] = 3
    taken = credit_code()
    assert sign_up_api(client, 0, credit_code=taken).status_code == 201
    for n in range(1, 3):
        assert sign_up_api(client, n, credit_code=taken).status_code == 422  # already registered
    assert sign_up_api(client, 3).status_code == 429


def test_sign_up_is_limited_overall(app, client, db, clock):
    app.config["SIGNUP_MAX_TOTAL"] = 3
    for n in range(3):
        assert sign_up_api(client, n, ip=f"10.2.0.{n}").status_code == 201
    refused = sign_up_api(client, 3, ip="10.2.0.50")
    assert refused.status_code == 429
    assert 0 < retry_after(refused) <= 3600
    page = sign_up_page(client, 4, ip="10.2.0.51")
    assert page.status_code == 429
    assert retry_after(page) > 0
    clock.advance(minutes=61)
    assert sign_up_api(client, 5, ip="10.2.0.50").status_code == 201


def test_a_failed_sign_in_under_the_reserved_name_is_no_sign_up(app, client, db):
    app.config["SIGNUP_MAX_TOTAL"] = 1
    assert token(client, throttle.SIGN_UP, WRONG).status_code == 422
    assert sign_up_api(client, 0).status_code == 201
