"""API conventions: problem+json for every error status, pagination, and the OpenAPI
document listing every registered API route."""

import re

import pytest

from tests.support import api_token, post_form


def assert_problem(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    return body


def test_problem_json_for_each_error_status(client, make):
    admin = make.user("admin")
    enterprise_user = make.enterprise_user(make.enterprise())
    headers = api_token(client, admin.username)
    ent_headers = api_token(client, enterprise_user.username)
    assert_problem(
        client.post(
            "/api/v1/users", data="{nope", content_type="application/json", headers=headers
        ),
        400,
    )
    assert_problem(client.get("/api/v1/users"), 401)
    assert_problem(client.get("/api/v1/users", headers=ent_headers), 403)
    assert_problem(client.get("/api/v1/enterprises/424242", headers=headers), 404)
    approved = make.enterprise()
    assert_problem(client.post(f"/api/v1/enterprises/{approved.id}/approve", headers=headers), 409)
    body = assert_problem(
        client.post("/api/v1/users", json={"role": "pilot"}, headers=headers), 422
    )
    assert {"username", "password", "role"} <= set(body["errors"])
    assert_problem(client.post("/api/v1/users", data="x=1", headers=headers), 415)
    assert_problem(client.put("/api/v1/users", headers=headers), 405)
    for _ in range(10):
        client.post(
            "/api/v1/auth/token", json={"username": admin.username, "password": "bad-pass1"}
        )
    assert_problem(
        client.post(
            "/api/v1/auth/token", json={"username": admin.username, "password": "bad-pass1"}
        ),
        429,
    )


def test_a_json_array_body_is_a_validation_error_not_a_crash(client, make):
    headers = api_token(client, make.user("admin").username)
    assert_problem(client.post("/api/v1/users", json=[1, 2], headers=headers), 422)


def test_unknown_fields_are_rejected(client, make):
    headers = api_token(client, make.user("admin").username)
    body = {"username": "abc", "password": "pass-word-1", "role": "officer", "is_admin": True}
    errors = assert_problem(client.post("/api/v1/users", json=body, headers=headers), 422)["errors"]
    assert "is_admin" in errors


def test_lists_are_paginated(client, make):
    for _ in range(3):
        make.enterprise()
    headers = api_token(client, make.user("supervisor").username)
    body = client.get("/api/v1/enterprises?per_page=2&page=2", headers=headers).get_json()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (3, 2, 2, 1)


@pytest.mark.parametrize(
    "query", ["per_page=201", "per_page=0", "page=-1", "page=abc", "page=99999999999999999999"]
)
def test_bad_paging_is_a_422(client, make, query):
    headers = api_token(client, make.user("supervisor").username)
    assert_problem(client.get(f"/api/v1/enterprises?{query}", headers=headers), 422)


def test_openapi_lists_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, f"{method} {path} is not in openapi.json"


def test_openapi_refs_all_resolve(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    text = str(spec)
    for name in re.findall(r"#/components/schemas/([\w.\-]+)", text):
        assert name in spec["components"]["schemas"], name


def test_security_headers_forbid_inline_script(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.get_data(as_text=True)


def test_production_answers_carry_hsts_development_ones_do_not(client, database_url, tmp_path):
    from app import create_app
    from tests.support import app_config

    assert "Strict-Transport-Security" not in client.get("/login").headers
    settings = {**app_config(database_url, tmp_path), "APP_ENV": "production"}
    production = create_app(settings)
    try:
        for path in ("/login", "/api/v1/health", "/static/css/app.css"):
            with production.test_client().get(path) as response:  # closes the static file
                assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    finally:
        production.extensions["engine"].dispose()


def test_an_id_too_large_for_the_database_is_a_404_not_a_crash(client, make):
    headers = api_token(client, make.enterprise_user(make.enterprise()).username)
    huge = "9" * 30
    response = client.get(f"/api/v1/drivers/{huge}", headers=headers)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/drivers/{2**31}", headers=headers).status_code == 404
    refused = client.post("/api/v1/passes", json={"vehicle_id": int(huge)}, headers=headers)
    assert refused.status_code == 422
    assert "vehicle_id" in refused.get_json()["errors"]


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_refused_in_bodies_queries_and_forms(client, make, bad):
    """PostgreSQL cannot store NUL, spreadsheets cannot hold the other control characters:
    a clear 422 everywhere, never a 500 and never a stored row."""
    headers = api_token(client, make.enterprise_user(make.enterprise()).username)
    body = client.post(
        "/api/v1/drivers",
        json={"name": f"张{bad}三", "id_number": "x", "phone": "13800000000"},
        headers=headers,
    )
    assert body.status_code == 422
    assert "name" in body.get_json()["errors"]
    query = client.get("/api/v1/trips", query_string={"plate": bad}, headers=headers)
    assert query.status_code == 422
    assert "plate.0" in query.get_json()["errors"]
    form = post_form(client, "/login", {"username": f"a{bad}b", "password": "x"})
    assert form.status_code == 422
