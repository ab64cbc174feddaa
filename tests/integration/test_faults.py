"""Faults an operator will meet: the SMS provider down for a minute, a gunicorn worker
killed in a burst of scans, PostgreSQL restarted under load. Nothing acknowledged is lost,
nothing is sent twice, and the app recovers by itself."""

import http.client
import json
import os
import secrets
import shlex
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from checkpoints.models import Scan
from sms import outbox
from sms.backends import TwilioBackend
from sms.models import SmsMessage
from tests.support import api_token, audit_log_verifies, free_port, now
from tests.twilio_stub import LocalTwilioHttpClient, TwilioStub

ROOT = Path(__file__).resolve().parents[2]


# --- the SMS provider down for a minute -----------------------------------------------------


def test_a_minute_of_provider_outage_then_every_message_once(app):
    """500s and timeouts (where the message may still go out) for 60 s of the worker's
    clock, then recovery: each of 20 messages reaches the phone exactly once."""
    with TwilioStub() as stub:
        stub.hang = 0.6
        backend = TwilioBackend(
            "AC" + "0" * 32,
            "test-auth-token",
            messaging_service_sid="MG" + "1" * 32,
            http_client=LocalTwilioHttpClient(stub.url, timeout=0.3),
        )
        with app.extensions["sessions"]() as session:
            for i in range(20):
                outbox.enqueue(
                    session,
                    dedupe_key=f"outage:{i}",
                    to=f"+86139{i:08d}",
                    body=f"通行证短信 {i}",
                    now=now(),
                )
            session.commit()
        start = now()
        stub.outage = ["500", "500", "500", "timeout"]

        def work(at):
            with app.extensions["sessions"]() as session:
                outbox.work_once(session, backend, "w1", now=lambda: at, limit=100)

        for second in range(0, 61, 5):  # the provider is down for a minute
            work(start + timedelta(seconds=second))
        failed_requests = stub.requests
        stub.outage = None
        for minute in range(1, 40):  # recovery: retries come due with their backoff
            work(start + timedelta(minutes=minute))
        time.sleep(stub.hang)  # answers still in flight reach the stub's record
        with app.extensions["sessions"]() as session:
            statuses = Counter(session.scalars(select(SmsMessage.status)))
    assert failed_requests >= 20
    assert statuses == {"sent": 20}
    delivered = Counter(m["body"] for m in stub.sent)
    assert sorted(delivered) == sorted(f"通行证短信 {i}" for i in range(20))
    assert set(delivered.values()) == {1}, "a message went out twice"


# --- a gunicorn worker killed during a burst of scans ---------------------------------------


@pytest.fixture
def served(app, database_url):
    """The app under gunicorn (2 workers) on the test database."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "APP_ENV": "production",
        "INSTANCE_PATH": app.instance_path,
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "error",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            try:
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    break
            finally:
                conn.close()
        except OSError:
            time.sleep(0.1)
    yield server, port
    server.terminate()
    server.wait(timeout=30)


def workers_of(pid):
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children]


def test_killing_a_worker_mid_burst_loses_no_acknowledged_scan(app, client, make, served, db):
    server, port = served
    gate = make.checkpoint("gate")
    headers = api_token(client, make.officer(gate).username)
    codes = [make.pass_(status="approved", max_trips=20).code for _ in range(8)]
    acked: dict[str, str] = {}
    failures = Counter()
    lock = threading.Lock()

    def post(scan_id, code):
        body = json.dumps({"scan_id": scan_id, "checkpoint_id": gate.id, "code": code})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(
                "POST",
                "/api/v1/scans",
                body=body,
                headers={**headers, "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()  # also when the worker died mid-request

    def officer(code):
        for _ in range(12):
            scan_id = str(uuid.uuid4())
            for _attempt in range(5):  # a scanner retries the same scan_id until answered
                try:
                    status, answer = post(scan_id, code)
                except (OSError, http.client.HTTPException):
                    with lock:
                        failures["connection"] += 1
                    time.sleep(0.2)
                    continue
                if status == 200:
                    with lock:
                        acked[scan_id] = answer["decision"]
                    break
                with lock:
                    failures[status] += 1
                time.sleep(0.2)

    threads = [threading.Thread(target=officer, args=(c,)) for c in codes]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    victim = workers_of(server.pid)[0]
    os.kill(victim, signal.SIGKILL)
    for t in threads:
        t.join(timeout=120)
    assert len(acked) == 8 * 12, (len(acked), failures)
    db.rollback()
    stored = dict(db.execute(select(Scan.scan_id, Scan.decision)).all())
    for scan_id, decision in acked.items():
        assert stored.get(scan_id) == decision, scan_id
    assert db.scalar(select(func.count()).select_from(Scan)) == len(acked)  # no duplicates
    assert audit_log_verifies(app).ok
    assert victim not in workers_of(server.pid)  # gunicorn replaced it
    assert len(workers_of(server.pid)) == 2


# --- PostgreSQL restarted under load --------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("TEST_PG_RESTART"), reason="needs the test PostgreSQL")
def test_the_app_recovers_by_itself_after_postgresql_restarts(app, client, make):
    gate = make.checkpoint("gate")
    headers = api_token(client, make.officer(gate).username)
    p = make.pass_(status="approved", max_trips=100)

    def scan():
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
        return client.post("/api/v1/scans", json=body, headers=headers)

    assert scan().status_code == 200
    results: list[int] = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            results.append(scan().status_code)

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(0.5)
    restart = subprocess.run(
        shlex.split(os.environ["TEST_PG_RESTART"]), capture_output=True, timeout=60
    )
    assert restart.returncode == 0, restart.stderr
    time.sleep(1)
    stop.set()
    thread.join(timeout=60)
    # During the restart requests may fail, cleanly; afterwards every one succeeds.
    assert set(results) <= {200, 500, 503}, Counter(results)
    after = [scan().status_code for _ in range(10)]
    assert after == [200] * 10
