"""Bad input on every JSON endpoint and every list: wrong content type, bad UTF-8, a body
over the size limit, a JSON array, huge page numbers, SQL and HTML injection strings. Each
gets a clear 4xx (problem+json) or is stored as plain text and shown escaped; nothing
crashes and a refused request changes no table."""

import re

import pytest
from sqlalchemy import func, select

from accounts.domain import Role
from api.core import MAX_PAGE, REGISTRY
from core.db import Base
from tests.support import api_token, application, id_number, login

INJECTIONS = [
    "'; DROP TABLE pass; --",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{7*7}}",
    "%00\u0000nul",
]
XSS = "<script>alert(1)</script>"
HUGE_NUMBERS = ["2147483648", "9" * 30, "-1", "1e99"]


def body_endpoints():  # the registry fills as the app's modules load
    return [e for e in REGISTRY if e.body is not None]


def lists():
    return [e for e in REGISTRY if e.method == "GET" and "page" in e.query]


@pytest.fixture
def tokens(client, make):
    home = make.enterprise()
    users = {r.value: make.user(r.value) for r in Role if r not in (Role.ENTERPRISE, Role.OFFICER)}
    users["officer"] = make.officer(make.checkpoint("gate"))
    users["enterprise"] = make.enterprise_user(home)
    return {role: api_token(client, user.username) for role, user in users.items()}


def headers_for(endpoint, tokens):
    if endpoint.roles is None:
        return {}
    return dict(tokens[sorted(endpoint.roles)[0]])


def url_of(endpoint):
    return re.sub(r"<(?:\w+:)?\w+>", "1", endpoint.rule)


def counts(db):
    db.rollback()
    return {
        t.name: db.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
    }


def call(client, endpoint, headers, **kw):
    return client.open("/api/v1" + url_of(endpoint), method=endpoint.method, headers=headers, **kw)


@pytest.mark.parametrize(
    ("name", "kw", "expected"),
    [
        ("text/plain", {"data": '{"a": 1}', "content_type": "text/plain"}, 415),
        ("form body", {"data": {"a": "1"}}, 415),
        (
            "bad UTF-8",
            {"data": b'{"name": "\xff\xfe\xfd"}', "content_type": "application/json"},
            400,
        ),
        ("not JSON", {"data": b"{name: ", "content_type": "application/json"}, 400),
        ("a JSON array", {"json": [1, 2, 3]}, 422),
        (
            "nested 1,000 deep",
            {"data": "[" * 1000 + "]" * 1000, "content_type": "application/json"},
            400,
        ),
        (
            "objects nested 900 deep",
            {"data": '{"a":' * 900 + "1" + "}" * 900, "content_type": "application/json"},
            400,
        ),
        (
            "100,000 open brackets",
            {"data": b"[" * 100_000, "content_type": "application/json"},
            400,
        ),
        (
            "too large",
            {"data": b" " * (16 * 1024 * 1024 + 1), "content_type": "application/json"},
            413,
        ),
    ],
)
def test_every_json_endpoint_refuses_a_bad_body_cleanly(client, tokens, db, name, kw, expected):
    before = counts(db)
    tried = 0
    for endpoint in body_endpoints():
        response = call(client, endpoint, headers_for(endpoint, tokens), **kw)
        assert response.status_code == expected, (endpoint.method, endpoint.rule, name)
        assert response.mimetype == "application/problem+json", (endpoint.rule, name)
        tried += 1
    assert tried == len(body_endpoints()) > 15
    after = counts(db)
    assert after == before


def test_injection_strings_in_every_text_field_never_crash(client, tokens, db):
    """Every string property of every request body gets each injection string."""
    tried = 0
    for endpoint in body_endpoints():
        strings = string_fields(endpoint)
        for text in INJECTIONS:
            body = dict.fromkeys(strings, text)
            response = call(client, endpoint, headers_for(endpoint, tokens), json=body)
            assert response.status_code < 500, (endpoint.rule, text, response.get_json())
            if response.status_code >= 400:
                assert response.mimetype == "application/problem+json"
            tried += 1
    assert tried >= len(INJECTIONS) * 15
    for table in ("pass", "user_account", "enterprise"):  # still there
        db.rollback()
        db.scalar(select(func.count()).select_from(Base.metadata.tables[table]))


def string_fields(endpoint):
    schema = endpoint.body.model_json_schema()
    return [
        name
        for name, spec in schema.get("properties", {}).items()
        if spec.get("type") == "string"
        or any(s.get("type") == "string" for s in spec.get("anyOf", []))
    ]


CONTROL_TEXTS = ["ab\x01cd", "ab\x7fcd", "ab\x9bcd", "ab\x1bcd"]
LINE_BREAKS = ["ab\ncd", "ab\r\ncd", "ab\tcd", "ab\u2028cd"]
MULTILINE_FIELDS = {"reason", "note", "business_scope"}


def test_control_characters_are_refused_in_every_text_field(client, tokens, db):
    """Each text field of each body, one at a time: a 422 naming that field, nothing
    stored; line breaks only where a field holds several lines (a reason, a note, a
    licence's business scope)."""
    before = counts(db)
    tried = 0
    for endpoint in body_endpoints():
        for field in string_fields(endpoint):
            texts = CONTROL_TEXTS + ([] if field in MULTILINE_FIELDS else LINE_BREAKS)
            for text in texts:
                response = call(client, endpoint, headers_for(endpoint, tokens), json={field: text})
                assert response.status_code == 422, (endpoint.rule, field, repr(text))
                errors = response.get_json()["errors"]
                assert field in errors, (endpoint.rule, field, repr(text), errors)
                tried += 1
    assert tried > 100
    assert counts(db) == before


def test_control_characters_are_refused_in_queries_and_forms(client, tokens):
    for endpoint in [e for e in REGISTRY if e.method == "GET" and e.query]:
        for param in endpoint.query:
            response = call(
                client, endpoint, headers_for(endpoint, tokens), query_string={param: "a\x01"}
            )
            assert response.status_code == 422, (endpoint.rule, param)
            assert f"{param}.0" in response.get_json()["errors"]


def test_sign_in_refuses_deep_json_without_a_session(client):
    for body in ("[" * 1000 + "]" * 1000, "[" * 100_000):
        response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"


# Each overflows when converted to UTC, or is far outside any pass's life.
EXTREME_MOMENTS = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31",
    "0001-01-01",
    "1900-01-01T00:00:00+08:00",
]


def date_fields(endpoint):
    schema = endpoint.body.model_json_schema()
    return [
        name
        for name, spec in schema.get("properties", {}).items()
        if spec.get("format") == "date-time"
        or any(s.get("format") == "date-time" for s in spec.get("anyOf", []))
    ]


def test_extreme_dates_in_every_body_are_422(client, tokens, db):
    before = counts(db)
    tried = 0
    for endpoint in body_endpoints():
        for field in date_fields(endpoint):
            for moment in EXTREME_MOMENTS:
                response = call(
                    client, endpoint, headers_for(endpoint, tokens), json={field: moment}
                )
                assert response.status_code == 422, (endpoint.rule, field, moment)
                assert field in response.get_json()["errors"], (endpoint.rule, field, moment)
                tried += 1
    assert tried >= 3 * len(EXTREME_MOMENTS)  # valid_from, valid_until, scanned_at at least
    assert counts(db) == before


def test_extreme_dates_in_every_filter_are_422(client, tokens):
    tried = 0
    for endpoint in [e for e in REGISTRY if e.method == "GET"]:
        for param in [p for p in endpoint.query if p in ("from", "to")]:
            for moment in EXTREME_MOMENTS:
                response = call(
                    client, endpoint, headers_for(endpoint, tokens), query_string={param: moment}
                )
                assert response.status_code == 422, (endpoint.rule, param, moment)
                assert param in response.get_json()["errors"]
                tried += 1
    assert tried >= 2 * len(EXTREME_MOMENTS)


@pytest.mark.parametrize(
    "path",
    [
        "/trips",
        "/statistics",
        *[
            f"/exports/{k}.{f}"
            for k in ("trips", "passes", "scans", "anomalies")
            for f in ("csv", "xlsx")
        ],
    ],
)
def test_extreme_dates_on_pages_and_exports_are_422_before_any_byte(client, make, path):
    """An export that fails mid-stream has already sent 200: the dates are checked first."""
    login(client, make.user("supervisor").username)
    for param in ("from", "to"):
        for moment in EXTREME_MOMENTS:
            with client.get(path, query_string={param: moment}) as response:
                assert response.status_code == 422, (path, param, moment)


@pytest.mark.parametrize("page", ["0", "-1", "abc", str(10**30), "1e9", str(MAX_PAGE + 1)])
def test_every_list_refuses_a_bad_page_number(client, tokens, page):
    for endpoint in lists():
        response = call(
            client, endpoint, headers_for(endpoint, tokens), query_string={"page": page}
        )
        assert response.status_code == 422, (endpoint.rule, page)
        assert "page" in response.get_json()["errors"]


def test_the_last_allowed_page_is_empty_not_an_error(client, tokens):
    for endpoint in lists():
        response = call(
            client, endpoint, headers_for(endpoint, tokens), query_string={"page": str(MAX_PAGE)}
        )
        assert response.status_code == 200, endpoint.rule
        assert response.get_json()["items"] == []


def test_injection_in_every_query_filter_never_crashes(client, tokens):
    tried = 0
    for endpoint in [e for e in REGISTRY if e.method == "GET" and e.query]:
        for param in endpoint.query:
            if param in ("page", "per_page"):
                continue
            for text in [*INJECTIONS, *HUGE_NUMBERS]:
                response = call(
                    client, endpoint, headers_for(endpoint, tokens), query_string={param: text}
                )
                # 401: a peer's signed request only (the pass feed)
                assert response.status_code in (200, 401, 404, 422), (endpoint.rule, param, text)
                tried += 1
    assert tried > 50


def test_stored_text_is_shown_escaped_on_every_page_that_shows_it(client, make, db):
    """A driver named like a script tag, a pass whose cargo is one: stored as typed, shown
    as text on the enterprise's and the reviewer's pages and in the JSON."""
    owner = make.enterprise_user(make.enterprise())
    headers = api_token(client, owner.username)
    driver = client.post(
        "/api/v1/drivers",
        json={"name": XSS[:64], "id_number": id_number(4242), "phone": "13800001234"},
        headers=headers,
    )
    assert driver.status_code == 201, driver.get_json()
    vehicle = client.post(
        "/api/v1/vehicles", json={"plate": "浙F99999", "vehicle_type": "van"}, headers=headers
    ).get_json()
    filed = client.post(
        "/api/v1/passes",
        json=application(vehicle["id"], driver.get_json()["id"], cargo=XSS, origin=XSS),
        headers=headers,
    )
    assert filed.status_code == 201, filed.get_json()
    assert filed.get_json()["cargo"] == XSS  # stored as typed: plain text, not HTML
    pass_id = filed.get_json()["id"]

    login(client, owner.username)
    pages = ["/fleet/drivers", f"/passes/{pass_id}", "/passes"]
    reviewer = client.application.test_client()
    login(reviewer, make.user("reviewer").username)
    for who, url in [(client, p) for p in pages] + [
        (reviewer, "/review"),
        (reviewer, f"/passes/{pass_id}"),
    ]:
        response = who.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert XSS not in html, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/passes/{pass_id}").get_data(
        as_text=True
    )
