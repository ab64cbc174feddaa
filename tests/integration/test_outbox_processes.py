"""Real worker processes on the outbox: one killed with SIGKILL mid-batch, and two running
at once. Each message reaches the provider exactly once."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sms import outbox
from sms.backends import TwilioBackend
from sms.models import SmsMessage
from tests.support import now
from tests.twilio_stub import LocalTwilioHttpClient, TwilioStub

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stub():
    with TwilioStub() as server:
        yield server


def queue(app, n):
    with app.extensions["sessions"]() as session:
        for i in range(n):
            outbox.enqueue(
                session,
                dedupe_key=f"load:{i}",
                to=f"+86138000{i:05d}",
                body=f"通行证短信 {i}",
                now=now(),
            )
        session.commit()


def worker(database_url, stub, lease=2):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sms_worker", database_url, stub.url, str(lease)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def wait_until(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def statuses(app):
    with app.extensions["sessions"]() as session:
        return Counter(session.scalars(select(SmsMessage.status)))


def bodies(stub):
    return Counter(m["body"] for m in stub.sent)


def test_worker_killed_mid_batch_loses_and_duplicates_nothing(app, database_url, stub):
    queue(app, 40)
    stub.delay = 0.05
    process = worker(database_url, stub)
    assert wait_until(lambda: len(stub.sent) >= 12), "the worker never got going"
    process.send_signal(signal.SIGKILL)
    process.wait()
    # A request the dead worker had already made still reaches the provider; let it land
    # before the restarted worker asks the provider what it has.
    time.sleep(stub.delay * 4)
    interrupted = statuses(app)
    assert interrupted["sent"] < 40  # it really died mid-way
    stub.delay = 0
    backend = TwilioBackend(
        "AC" + "0" * 32,
        "test-auth-token",
        from_="+15005550006",
        http_client=LocalTwilioHttpClient(stub.url),
    )
    # Signed as the killed worker signed, so its look-up recognises what was already sent.
    backend.signature = app.config["SMS_SIGNATURE"]
    later = now() + timedelta(minutes=5)  # every lease has run out
    with app.extensions["sessions"]() as session:
        while outbox.work_once(session, backend, "restarted", now=lambda: later, limit=10):
            pass
    assert statuses(app) == Counter({"sent": 40})
    counts = bodies(stub)
    assert len(counts) == 40
    assert set(counts.values()) == {1}, "a message was sent twice"


def test_two_workers_at_once_send_each_message_once(app, database_url, stub):
    queue(app, 60)
    stub.delay = 0.01
    first, second = worker(database_url, stub, lease=30), worker(database_url, stub, lease=30)
    try:
        assert wait_until(lambda: statuses(app) == Counter({"sent": 60})), statuses(app)
    finally:
        for process in (first, second):
            process.send_signal(signal.SIGKILL)
            process.wait()
    counts = bodies(stub)
    assert len(counts) == 60
    assert set(counts.values()) == {1}
