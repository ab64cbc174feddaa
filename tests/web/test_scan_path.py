"""The lean scan path: the answer it writes by hand is the documented ScanOut; the write
lock is taken only once there is something to write; the clock is read after the pass is
locked; a bearer token is trusted from the per-process cache within a stated bound."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from accounts.models import ApiToken
from checkpoints.schemas import ScanOut
from tests.support import Statements, api_token, now


def is_pass_read(statement: str) -> bool:
    return statement.startswith("SELECT") and "FROM PASS" in statement


@pytest.fixture
def place(client, make):
    checkpoint = make.checkpoint("gate")
    officer = make.officer(checkpoint)
    headers = api_token(client, officer.username)

    def scan(status=200, headers=headers, **body):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, **body}
        response = client.post("/api/v1/scans", json=body, headers=headers)
        assert response.status_code == status, response.get_json()
        return response.get_json()

    return checkpoint, officer, headers, scan


def test_the_answer_is_the_documented_scan_out(make, place):
    checkpoint, _, _, scan = place
    p = make.pass_(status="approved", max_trips=2)
    revoked = make.pass_(status="revoked")
    answers = [
        scan(code=p.code),  # entry: a trip opens
        scan(code=p.code),  # exit without arrival: an anomaly
        scan(code=revoked.code, direction="entry"),  # denied, shown as the status page
        scan(number=p.number, plate=p.vehicle.plate),  # manual entry
        scan(code="not a code"),
    ]
    assert [a["decision"] for a in answers] == ["allow", "allow", "deny", "allow", "deny"]
    assert answers[1]["anomalies"]
    assert answers[2]["pass"]["id"] is None
    for answer in answers:
        documented = ScanOut.model_validate(answer).model_dump(mode="json", by_alias=True)
        assert documented.pop("asked_issuer") is None  # only a peer's typed number has it
        assert answer == documented


def test_the_write_lock_is_taken_after_everything_that_only_reads(app, make, place):
    if app.extensions["engine"].dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    _, _, _, scan = place
    p = make.pass_(status="approved")
    scan(code=make.pass_(status="approved").code)  # the token and the keys are cached
    with Statements(app.extensions["engine"]) as seen:
        scan(code=p.code)
    begin = seen.index("BEGIN IMMEDIATE")
    reading, writing = seen[:begin], seen[begin + 1 :]
    assert any("FROM (SELECT" in s and "CHECKPOINT" in s for s in reading), reading
    assert is_pass_read(writing[0]), writing  # the lock's first use is the pass itself
    assert "BEGIN IMMEDIATE" not in writing  # one write transaction
    for statement in writing:
        assert "API_TOKEN" not in statement
        assert "SIGNING_KEY" not in statement
        assert not statement.startswith("SELECT") or is_pass_read(statement), statement


def test_the_time_recorded_is_read_once_the_pass_is_locked(app, make, place):
    _, _, _, scan = place
    p = make.pass_(status="approved")
    base, calls = now(), []
    with Statements(app.extensions["engine"], flagged=True) as seen:

        def clock():
            calls.append(len(seen))  # how many statements had run when the clock was read
            return base + timedelta(milliseconds=len(calls))

        app.extensions["clock"] = clock
        try:
            answer = scan(code=p.code)
        finally:
            del app.extensions["clock"]
    used = next(
        i
        for i in range(len(calls))
        if answer["recorded_at"].startswith(
            (base + timedelta(milliseconds=i + 1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        )
    )
    locked = next(i for i, (_, statement) in enumerate(seen) if is_pass_read(statement))
    if app.extensions["engine"].dialect.name == "postgresql":
        assert "FOR UPDATE" in seen[locked][1]
    assert calls[used] > locked


def test_a_bearer_token_is_checked_once_then_trusted_from_the_cache(app, make, place):
    _, _, _, scan = place
    p = make.pass_(status="approved", max_trips=5)
    scan(code=p.code)
    with Statements(app.extensions["engine"], flagged=True) as seen:
        scan(code=p.code)
    assert not [s for _, s in seen if "API_TOKEN" in s or "FROM USER_ACCOUNT" in s]


def test_signing_out_in_this_process_ends_the_token_at_once(client, make, place):
    _, _, headers, scan = place
    p = make.pass_(status="approved")
    scan(code=p.code)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    scan(status=401, code=p.code)


def test_deactivating_the_officer_ends_the_cached_token_at_once(client, make, place):
    _, officer, _, scan = place
    p = make.pass_(status="approved")
    scan(code=p.code)
    admin = api_token(client, make.user("admin").username)
    response = client.post(f"/api/v1/users/{officer.id}/deactivate", headers=admin)
    assert response.status_code == 200, response.get_json()
    scan(status=401, code=p.code)


def test_a_token_revoked_by_another_process_stops_within_the_cache_bound(app, db, make, place):
    """Another worker's logout reaches this process only through the database: the token
    keeps working here for at most API_TOKEN_CACHE_SECONDS, then never again."""
    _, _, headers, scan = place
    p = make.pass_(status="approved", max_trips=5)
    bound = app.config["API_TOKEN_CACHE_SECONDS"]
    assert bound == 5
    start = now()
    app.extensions["clock"] = lambda: start
    try:
        scan(code=p.code)  # checked against the database now, cached
        db.execute(update(ApiToken).values(revoked_at=start))  # as another worker would
        db.commit()
        app.extensions["clock"] = lambda: start + timedelta(seconds=bound - 0.5)
        scan(code=p.code)  # still trusted here: within the bound
        app.extensions["clock"] = lambda: start + timedelta(seconds=bound)
        scan(status=401, code=p.code)
        app.extensions["clock"] = lambda: start + timedelta(seconds=1)
        scan(status=401, code=p.code)  # forgotten for good, not trusted again
    finally:
        del app.extensions["clock"]


def test_a_denied_scan_takes_the_write_lock_once_whoever_watches(app, make, place):
    """The check for repeated forged codes runs after the scan, on a read-only connection:
    a flood of junk codes must not take the database's write lock twice per scan."""
    if app.extensions["engine"].dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    _, _, _, scan = place
    scan(code="not a code")  # the token and the keys are cached
    with Statements(app.extensions["engine"], flagged=True) as seen:
        assert scan(code="still not a code")["decision"] == "deny"
    writing = [statement for read_only, statement in seen if not read_only]
    assert writing.count("BEGIN IMMEDIATE") == 1, writing


def test_a_plain_scan_is_answered_beneath_flask_like_the_flask_view_would(app, client, make):
    """No Flask request for a plain scan (no before_request runs), the same answer, the
    same headers; anything else (here: a bad body, a session instead of a token) takes
    the Flask view."""
    from flask import request

    checkpoint = make.checkpoint("gate")
    headers = api_token(client, make.officer(checkpoint).username)
    p = make.pass_(status="approved")
    seen = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(request.path))

    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": p.code}
    fast = client.post(
        "/api/v1/scans", json=body, headers={**headers, "X-Request-Id": "edge-12345678"}
    )
    assert seen == []
    assert fast.status_code == 200
    assert fast.headers["X-Request-Id"] == "edge-12345678"
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"):
        assert name in fast.headers
    slow_app = app.test_client()
    app.wsgi_app = app.wsgi_app.wsgi_app  # the Flask view alone
    try:
        again = slow_app.post("/api/v1/scans", json=body, headers=headers)
    finally:
        from checkpoints.scan_views import ScanFastPath

        app.wsgi_app = ScanFastPath(app, app.wsgi_app)
    assert seen == ["/api/v1/scans"]
    assert again.get_json() == fast.get_json()  # the retry, answered by the view
    assert {k for k, _ in again.headers.items()} >= {
        k for k, _ in fast.headers.items() if k != "X-Request-Id"
    }

    bad = client.post("/api/v1/scans", json={**body, "checkpoint_id": "x"}, headers=headers)
    assert bad.status_code == 422  # the view explains it
    assert seen[-1] == "/api/v1/scans"


def test_a_denied_scan_whose_alerts_fail_is_still_answered_beneath_flask(
    app, client, make, monkeypatch, caplog
):
    """The scan is committed before its alerts are looked at: their failure is logged, and
    the scan answered as recorded (not handed to the Flask view as if nothing were)."""
    from flask import request

    from supervision import alerts

    checkpoint = make.checkpoint("gate")
    headers = api_token(client, make.officer(checkpoint).username)
    revoked = make.pass_(status="revoked")

    def broken(*_args, **_kwargs):
        raise RuntimeError("alerts unavailable")

    monkeypatch.setattr(alerts, "scan_denied", broken)
    seen = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(request.path))
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": revoked.code}
    answer = client.post("/api/v1/scans", json=body, headers=headers)
    assert answer.status_code == 200
    assert answer.get_json()["decision"] == "deny"
    assert seen == []  # answered beneath Flask
    assert "the alerts after a denied scan failed" in caplog.text
