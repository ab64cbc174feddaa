"""Sign-in, rate limit, CSRF, cookies, API tokens: expiry, logout, admin revocation."""

from datetime import timedelta

import pytest

from tests.support import PASSWORD, api_token, csrf_token, login, now, post_form


def test_sign_in_and_out(client, make):
    user = make.user("supervisor")
    response = login(client, user.username)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert post_form(client, "/logout").status_code == 302
    assert client.get("/").headers["Location"].endswith("/login")


def test_a_saved_session_cookie_is_dead_after_logout(client, make):
    user = make.user("supervisor")
    login(client, user.username)
    saved = client.get_cookie("session").value
    assert client.get("/dashboard").status_code == 200
    assert post_form(client, "/logout").status_code == 302

    replay = client.application.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/dashboard").status_code == 302
    assert replay.get("/api/v1/dashboard").status_code == 401
    # Signing in again works, with a fresh cookie.
    assert login(replay, user.username).status_code == 302
    assert replay.get("/dashboard").status_code == 200


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make):
    user = make.user("admin")
    response = login(client, user.username, "wrong-pass-1")
    assert response.status_code == 401
    unknown = login(client, "nobody-here", "wrong-pass-1")
    assert unknown.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_login_is_rate_limited_per_user_and_ip(client, make):
    user = make.user("admin")
    for _ in range(10):
        assert login(client, user.username, "wrong-pass-1").status_code == 401
    blocked = login(client, user.username, PASSWORD)  # even the right password now waits
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    # Another address is not blocked by this one's failures.
    other = client.application.test_client()
    response = other.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(other)},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert response.status_code == 302


def test_rate_limit_ends_after_the_window(app, client, make):
    user = make.user("admin")
    for _ in range(10):
        login(client, user.username, "wrong-pass-1")
    assert login(client, user.username).status_code == 429
    app.extensions["clock"] = lambda: now() + timedelta(minutes=16)
    assert login(client, user.username).status_code == 302


def test_token_endpoint_shares_the_rate_limit(client, make):
    user = make.user("admin")
    for _ in range(10):
        response = client.post(
            "/api/v1/auth/token", json={"username": user.username, "password": "x1"}
        )
        assert response.status_code == 422
    response = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "application/problem+json"


def test_forms_without_a_csrf_token_are_rejected(client, make):
    user = make.user("admin")
    client.get("/login")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # not signed in


def test_session_calls_to_the_api_need_the_csrf_header(client, make):
    user = make.user("admin")
    login(client, user.username)
    body = {"username": "newuser", "password": PASSWORD, "role": "supervisor"}
    assert client.post("/api/v1/users", json=body).status_code == 400
    response = client.post("/api/v1/users", json=body, headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 201


def test_session_cookie_is_httponly_and_samesite(client, make):
    user = make.user("admin")
    response = login(client, user.username)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_api_token_works_then_expires(app, client, make):
    user = make.user("supervisor")
    headers = api_token(client, user.username)
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 200
    app.extensions["clock"] = lambda: now() + timedelta(hours=13)
    response = client.get("/api/v1/enterprises", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_logout_revokes_the_token(client, make):
    user = make.user("supervisor")
    headers = api_token(client, user.username)
    assert client.post("/api/v1/auth/logout", headers=headers).get_json() == {"revoked": True}
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 401


def test_admin_can_revoke_a_users_tokens(client, make):
    user = make.user("supervisor")
    admin = make.user("admin")
    headers = api_token(client, user.username)
    admin_headers = api_token(client, admin.username)
    response = client.post(f"/api/v1/users/{user.id}/revoke-tokens", headers=admin_headers)
    assert response.get_json() == {"revoked": 1}
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 401


def test_deactivating_a_user_ends_their_session_and_tokens(app, client, make):
    user = make.user("supervisor")
    admin = make.user("admin")
    headers = api_token(client, user.username)
    login(client, user.username)
    admin_client = app.test_client()
    login(admin_client, admin.username)
    post_form(admin_client, f"/admin/users/{user.id}/active", {"active": "0"})
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/enterprises", headers=headers).status_code == 401
    assert login(client, user.username).status_code == 401


def test_password_reset_ends_sessions_and_the_new_password_works(app, client, make):
    user = make.user("reviewer")
    admin = make.user("admin")
    login(client, user.username)
    admin_client = app.test_client()
    login(admin_client, admin.username)
    response = post_form(
        admin_client, f"/admin/users/{user.id}/password", {"password": "brand-new-9"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert login(client, user.username, "brand-new-9").status_code == 302


def test_weak_reset_password_is_refused(client, make):
    user = make.user("reviewer")
    admin = make.user("admin")
    login(client, admin.username)
    response = post_form(client, f"/admin/users/{user.id}/password", {"password": "123"})
    assert response.status_code == 422
    assert login(client.application.test_client(), user.username).status_code == 302


def test_safe_redirect_after_login_ignores_other_sites(client, make):
    user = make.user("admin")
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"] == "/"


# Each leads a browser to another site (or broke the response) when passed through.
OFF_SITE = [
    "/%09/evil.example",
    "/%0d%0a/x",
    "/%0a/evil.example",
    "//evil.example/x",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "/%E3%80%80/evil.example",
    "%09//evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_language_switch_and_sign_in_never_redirect_off_site(client, make, target):
    switched = client.get(f"/lang/en?next={target}")
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/"
    user = make.user("admin")
    response = client.post(
        f"/login?next={target}",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_same_site_target_is_kept_with_its_query(client):
    response = client.get("/lang/en?next=/passes%3Fstatus%3Dsubmitted%23top")
    assert response.headers["Location"] == "/passes?status=submitted#top"
