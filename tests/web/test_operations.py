"""Operations: /metrics moves with the work, readiness says what is missing, each request
leaves one log line under an id that its problem answer and audit entries carry too."""

import json
import logging
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from core import heartbeat
from core.audit import AuditEntry
from sms import outbox
from tests.support import api_token, now
from trust.models import SigningKey

TOKEN = "metrics-token-0123456789"


def scrape(client, token=TOKEN):
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"})


def figure(body: str, name: str, **labels: str) -> float:
    """A sample's value from the text format (0 when it is absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search("^" + pattern + "$", body, re.MULTILINE)
    return float(found[1]) if found else 0.0


def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(app, client):
    assert client.get("/metrics").status_code == 404
    app.config["METRICS_TOKEN"] = TOKEN
    assert client.get("/metrics").status_code == 401
    assert scrape(client, "wrong").status_code == 401
    assert scrape(client, "été").status_code == 401  # not a 500 on a non-ASCII token
    answer = scrape(client)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=")


def test_a_scan_moves_the_counters_and_the_latency_histogram(app, client, make):
    app.config["METRICS_TOKEN"] = TOKEN
    gate = make.checkpoint("gate")
    headers = api_token(client, make.officer(gate).username)
    p = make.pass_(status="approved")
    before = scrape(client).get_data(as_text=True)

    def scan(code, scan_id=None):
        body = {"scan_id": scan_id or str(uuid.uuid4()), "checkpoint_id": gate.id, "code": code}
        return client.post("/api/v1/scans", json=body, headers=headers)

    first = str(uuid.uuid4())
    assert scan(p.code, first).status_code == 200  # entry
    assert scan(p.code, first).status_code == 200  # a retry: answered, not counted again
    assert scan(p.code).status_code == 200  # exit without arrival: an anomaly
    assert scan("HC1:forged").status_code == 200  # denied
    after = scrape(client).get_data(as_text=True)

    def moved(name, **labels):
        return figure(after, name, **labels) - figure(before, name, **labels)

    assert moved("trafficpass_scans_total", decision="allow", reason="none") == 2
    assert moved("trafficpass_scans_total", decision="deny", reason="malformed") == 1
    assert moved("trafficpass_anomalies_raised_total", code="no_arrival") == 1
    assert moved("trafficpass_scan_seconds_count") == 4
    assert moved("trafficpass_approvals_total") == 0  # the factory approved before


def test_database_figures_outbox_sealing_lag_and_heartbeats(app, client, make):
    app.config["METRICS_TOKEN"] = TOKEN
    make.pass_(status="approved")  # its SMS waits in the outbox, its entries unsealed
    at = now()
    with app.extensions["sessions"]() as session:
        outbox.enqueue(session, dedupe_key="ops:1", to="+8613800000001", body="x", now=at)
        heartbeat.beat(session, heartbeat.SWEEP, "loop sweep", at, {"anomalies": 3})
        session.commit()
    app.extensions["clock"] = lambda: at + timedelta(seconds=90)
    body = scrape(client).get_data(as_text=True)
    assert figure(body, "trafficpass_sms_outbox_depth") >= 2
    assert figure(body, "trafficpass_sms_oldest_queued_seconds") >= 90
    assert figure(body, "trafficpass_audit_pending_entries") > 0
    assert figure(body, "trafficpass_audit_sealing_lag_seconds") >= 90
    assert figure(body, "trafficpass_sweep_last_run_timestamp_seconds") == pytest.approx(
        at.timestamp(), abs=1e-3
    )
    assert figure(body, "trafficpass_sweep_anomalies_raised") == 3
    assert figure(body, "trafficpass_sms_worker_heartbeat_age_seconds") == -1


def test_ready_when_everything_is_there(client):
    answer = client.get("/api/v1/ready")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "ready": True,
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "signing_key": "none_yet",
            "audit_log": "ok",
            "sms_worker": "not_required",
            "federation": "not_required",
        },
    }


def test_not_ready_without_the_database(app, client, tmp_path):
    from core.db import make_engine

    if app.extensions["engine"].dialect.name == "sqlite":
        gone = make_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'gone.db'}")
    else:
        gone = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    kept, app.extensions["engine"] = app.extensions["engine"], gone
    try:
        answer = client.get("/api/v1/ready")
    finally:
        app.extensions["engine"] = kept
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["database"] == "unavailable"
    assert answer.get_json()["ready"] is False


def test_not_ready_behind_the_migrations_or_without_the_signing_key(app, client, make):
    make.pass_(status="approved")  # creates the signing key
    assert client.get("/api/v1/ready").get_json()["checks"]["signing_key"] == "ok"
    for key_file in Path(app.instance_path, "keys").glob("*"):
        key_file.rename(key_file.with_suffix(".moved"))
    answer = client.get("/api/v1/ready")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["signing_key"] == "missing"
    # A node without the key refuses to sign rather than minting a key of its own.
    waiting = make.pass_(status="submitted")
    headers = api_token(client, make.user("reviewer").username)
    refused = client.post(f"/api/v1/passes/{waiting.id}/approve", headers=headers)
    assert refused.status_code == 503
    assert refused.get_json()["title"] == "本服务器无法签发通行证"
    with app.extensions["read_sessions"]() as session:
        assert session.scalar(select(func.count()).select_from(SigningKey)) == 1
    engine = app.extensions["engine"]
    with engine.begin() as conn:
        head = conn.scalar(text("SELECT version_num FROM alembic_version"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0013_plate_tail_index'"))
    try:
        assert client.get("/api/v1/ready").get_json()["checks"]["migrations"] == "behind"
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_with_a_real_sms_provider_ready_needs_a_worker_heartbeat(app, client):
    app.config["SMS_BACKEND"] = "twilio"
    answer = client.get("/api/v1/ready")
    assert (answer.status_code, answer.get_json()["checks"]["sms_worker"]) == (503, "silent")
    with app.extensions["sessions"]() as session:
        heartbeat.beat(session, heartbeat.SMS_WORKER, "node-2:4242", now())
        session.commit()
    assert client.get("/api/v1/ready").status_code == 200
    app.extensions["clock"] = lambda: now() + timedelta(seconds=600)
    assert client.get("/api/v1/ready").get_json()["checks"]["sms_worker"] == "silent"


def test_the_sms_worker_beats(app, runner):
    result = runner.invoke(args=["sms", "work", "--once"])
    assert result.exit_code == 0, result.output
    with app.extensions["read_sessions"]() as session:
        assert heartbeat.latest(session, heartbeat.SMS_WORKER) is not None


class Lines(logging.Handler):
    def __init__(self, formatter):
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def json_lines():
    from core.logs import JsonLines

    handler, root = Lines(JsonLines()), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_one_json_line_per_request_with_its_id_in_the_problem_and_the_audit(
    app, client, make, json_lines
):
    p = make.pass_(status="submitted")
    reviewer = make.user("reviewer")
    headers = api_token(client, reviewer.username)
    json_lines.clear()
    given = "edge-0123456789abcdef"
    answer = client.post(
        f"/api/v1/passes/{p.id}/approve", headers={**headers, "X-Request-Id": given}
    )
    assert answer.status_code == 200
    assert answer.headers["X-Request-Id"] == given
    [line] = [json.loads(x) for x in json_lines if '"logger":"trafficpass.requests"' in x]
    assert line["request_id"] == given
    assert line["status"] == 200
    assert line["method"] == "POST"
    assert line["path"] == f"/api/v1/passes/{p.id}/approve"
    assert line["user_id"] == reviewer.id
    assert line["ms"] >= 0
    with app.extensions["read_sessions"]() as session:
        approval = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "pass.approve")
        ).one()
    assert approval.request_id == given
    # An id the client made up in a bad shape is replaced; problems quote the id.
    missing = client.get("/api/v1/passes/999999", headers={**headers, "X-Request-Id": "x y"})
    rid = missing.headers["X-Request-Id"]
    assert rid != "x y"
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert missing.get_json()["request_id"] == rid


def test_a_newline_in_a_path_cannot_forge_a_second_log_line(app, client):
    from core.logs import TextLines

    handler, root = Lines(TextLines()), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        client.get("/nothing%0A2026-01-01 INFO trafficpass.requests forged")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    [line] = [x for x in handler.lines if "trafficpass.requests" in x]
    assert "\n" not in line
    assert "\\x0a2026-01-01" in line


def test_status_page_paths_are_masked_in_the_request_line(client, make, json_lines):
    p = make.pass_(status="approved")
    token = p.code.rsplit("/", 1)[-1]
    client.get(f"/P/{token}")
    [line] = [json.loads(x) for x in json_lines if '"logger":"trafficpass.requests"' in x]
    assert line["path"] == f"/P/{token[:4]}***"
    assert token not in "\n".join(json_lines)
