"""Every admin page and API endpoint, called as every role and anonymously, gives exactly
the allowed result. A new route fails `test_every_route_is_in_the_table` until it is added."""

import pytest

from accounts.domain import Role
from tests.support import PASSWORD, api_token, login, post_form

ROLES = ["anonymous", *[r.value for r in Role]]
ALL = {r.value for r in Role}


def expect(allowed, ok, denied=403, anonymous=None):
    return {role: (ok if role in allowed else denied) for role in ALL} | {"anonymous": anonymous}


# (kind, method, path template, body) -> expected status by role.
# Pages redirect anonymous visitors to the login page (302); the API answers 401.
PAGES = [
    ("GET", "/admin/", None, expect({"admin"}, 302, anonymous=302)),
    ("GET", "/admin/users", None, expect({"admin"}, 200, anonymous=302)),
    (
        "POST",
        "/admin/users",
        {"username": "fresh", "password": PASSWORD, "role": "officer"},
        expect({"admin"}, 302, anonymous=302),
    ),
    ("GET", "/admin/users/{user}/password", None, expect({"admin"}, 200, anonymous=302)),
    (
        "POST",
        "/admin/users/{user}/password",
        {"password": "another-pass-2"},
        expect({"admin"}, 302, anonymous=302),
    ),
    ("POST", "/admin/users/{user}/active", {"active": "0"}, expect({"admin"}, 302, anonymous=302)),
    ("POST", "/admin/users/{user}/revoke-tokens", {}, expect({"admin"}, 302, anonymous=302)),
    ("GET", "/admin/enterprises", None, expect({"admin", "reviewer"}, 200, anonymous=302)),
    (
        "POST",
        "/admin/enterprises/{pending}/status",
        {"status": "approved"},
        expect({"admin"}, 302, anonymous=302),
    ),
    (
        "POST",
        "/admin/enterprises/{pending}/whitelist",
        {"whitelisted": "1"},
        expect({"admin", "reviewer"}, 302, anonymous=302),
    ),
    ("GET", "/", None, expect(ALL, 200, anonymous=302)),
    ("GET", "/login", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/signup", None, expect(ALL, 200, anonymous=200)),
    ("POST", "/logout", {}, expect(ALL, 302, anonymous=302)),
    # Public forms: an empty submission is refused the same way for everyone.
    ("POST", "/login", {}, expect(ALL, 401, anonymous=401)),
    ("POST", "/signup", {}, expect(ALL, 422, anonymous=422)),
]

API = [
    (
        "POST",
        "/api/v1/auth/token",
        {"username": "target", "password": PASSWORD},
        expect(ALL, 200, anonymous=200),
    ),
    ("POST", "/api/v1/auth/logout", None, expect(ALL, 200, anonymous=401)),
    ("GET", "/api/v1/openapi.json", None, expect(ALL, 200, anonymous=200)),
    ("POST", "/api/v1/enterprises", "signup", expect(ALL, 201, anonymous=201)),
    ("GET", "/api/v1/enterprises", None, expect(ALL, 200, anonymous=401)),
    (
        "GET",
        "/api/v1/enterprises/{pending}",
        None,
        expect({"admin", "reviewer", "supervisor", "officer"}, 200, denied=404, anonymous=401),
    ),
    ("POST", "/api/v1/enterprises/{pending}/approve", None, expect({"admin"}, 200, anonymous=401)),
    ("POST", "/api/v1/enterprises/{pending}/suspend", None, expect({"admin"}, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/enterprises/{pending}/whitelist",
        {"whitelisted": True},
        expect({"admin", "reviewer"}, 200, anonymous=401),
    ),
    ("GET", "/api/v1/users", None, expect({"admin"}, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/users",
        {"username": "fresh", "password": PASSWORD, "role": "officer"},
        expect({"admin"}, 201, anonymous=401),
    ),
    ("POST", "/api/v1/users/{user}/deactivate", None, expect({"admin"}, 200, anonymous=401)),
    ("POST", "/api/v1/users/{user}/revoke-tokens", None, expect({"admin"}, 200, anonymous=401)),
    ("GET", "/api/v1/audit/verify", None, expect({"admin", "supervisor"}, 200, anonymous=401)),
]


@pytest.fixture
def world(make):
    home = make.enterprise(username="ent-home")
    pending = make.enterprise(status="pending", username="ent-pending")
    target = make.user("supervisor", username="target")
    users = {r.value: make.user(r.value) for r in Role if r != Role.ENTERPRISE}
    users["enterprise"] = make.enterprise_user(home)
    return {"pending": pending.id, "user": target.id, "users": users}


def fill(path, world):
    return path.format(pending=world["pending"], user=world["user"])


def signup_body():
    from tests.support import credit_code

    return {
        "name": "新公司",
        "credit_code": credit_code(),
        "contact_name": "李",
        "contact_phone": "13700000000",
        "admin_username": "newent",
        "admin_password": PASSWORD,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), PAGES, ids=[f"{m} {p}" for m, p, *_ in PAGES]
)
def test_pages(client, world, role, method, path, body, expected):
    if role != "anonymous":
        login(client, world["users"][role].username)
    url = fill(path, world)
    response = client.get(url) if method == "GET" else post_form(client, url, body)
    assert response.status_code == expected[role], response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), API, ids=[f"{m} {p}" for m, p, *_ in API]
)
def test_api(client, world, role, method, path, body, expected):
    headers = {} if role == "anonymous" else api_token(client, world["users"][role].username)
    payload = signup_body() if body == "signup" else body
    response = client.open(fill(path, world), method=method, json=payload, headers=headers)
    assert response.status_code == expected[role], response.get_json()


def test_every_route_is_in_the_table(app):
    covered = {(m, p) for m, p, *_ in PAGES + API}
    templates = {
        "<int:user_id>": "{user}",
        "<int:enterprise_id>": "{pending}",
    }
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "i18n.switch"):
            continue
        path = rule.rule
        for converter, placeholder in templates.items():
            path = path.replace(converter, placeholder)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, path) not in covered:
                missing.append(f"{method} {path}")
    assert missing == [], "routes without an access expectation"
