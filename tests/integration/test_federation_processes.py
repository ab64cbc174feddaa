"""Two installations side by side, as two jurisdictions run them: Pinghu (平湖市, 330482)
and Jinshan (金山区, 310116), each its own gunicorn process and its own database, real HTTP
between them. Pinned both ways by fingerprint (a wrong one refused); a Pinghu pass bound
for a Jinshan consignee enters at a Jinshan gate, arrives at the consignee's site and
exits; Pinghu's journey shows all three, although Pinghu was down while they happened; a
Pinghu revocation is refused at Jinshan after a sync; a third jurisdiction's code is
unknown_issuer; a forked Pinghu log is caught; a peer removed stops being trusted."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update

from core.audit import AuditCheckpoint
from federation.models import FederationEvent, FederationPeer
from passes import services as pass_services
from passes.models import Pass
from tests.federation_world import jinshan as _jinshan
from tests.integration.test_backup_retention import fresh_database as _fresh_database
from tests.support import PASSWORD, Factory, free_port, now
from tests.web.test_audit_api import write
from trust import tokens
from trust.context import sequencer

fresh_database, jinshan = _fresh_database, _jinshan  # the fixtures

ROOT = Path(__file__).resolve().parents[2]


class Served:
    """One installation under gunicorn: started, stopped (the jurisdiction down), started
    again, on the same port, database and instance."""

    def __init__(self, app, tmp_path: Path, name: str):
        self.app, self.port = app, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        config = self.app.config
        return {
            **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
            "DATABASE_URL": config["DATABASE_URL"],
            "SECRET_KEY": secrets.token_hex(32),
            "APP_ENV": "production",
            "INSTANCE_PATH": self.app.instance_path,
            "PUBLIC_BASE_URL": self.base,
            "AREA_CODE": config["AREA_CODE"],
            "JURISDICTION_NAME": config["JURISDICTION_NAME"],
            "AUDIT_SEQUENCER": "off",
            "REPEAT_SCAN_SECONDS": "0",
            "PASSWORD_HASH_METHOD": config["PASSWORD_HASH_METHOD"],
        }

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [str(ROOT / ".venv/bin/gunicorn"), "--workers", "1", "--bind"]
                + [f"127.0.0.1:{self.port}", "app:create_app()"],
                cwd=ROOT,
                env=self.env(),
                stderr=log,
                stdout=log,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.base}/api/v1/health", timeout=5).ok:
                    return
            except requests.RequestException:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def cli(self, *args: str):
        """A command run against this installation (its app, the real transport)."""
        self.app.config["PUBLIC_BASE_URL"] = self.base  # what it publishes as its address
        return self.app.test_cli_runner().invoke(args=list(args))

    def token(self, username: str) -> dict[str, str]:
        answer = requests.post(
            f"{self.base}/api/v1/auth/token",
            json={"username": username, "password": PASSWORD},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def scan(self, headers, checkpoint, **body):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, **body}
        answer = requests.post(f"{self.base}/api/v1/scans", json=body, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def pinghu_and_jinshan(app, jinshan, tmp_path):
    pinghu, other = Served(app, tmp_path, "pinghu"), Served(jinshan, tmp_path, "jinshan")
    pinghu.start()
    other.start()
    yield pinghu, other
    pinghu.stop()
    other.stop()


def identity(served: Served) -> dict:
    done = served.cli("federation", "identity")
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def pin(served: Served, other: Served, fingerprint: str | None = None):
    return served.cli(
        "federation",
        "peer",
        "add",
        other.base,
        "--fingerprint",
        fingerprint or identity(other)["fingerprint"],
    )


def sync(served: Served) -> str:
    done = served.cli("federation", "sync", "--once")
    assert done.exit_code == 0, done.output
    return done.output


def test_two_jurisdictions_over_real_http(app, make, jinshan, pinghu_and_jinshan):
    pinghu, js = pinghu_and_jinshan
    theirs = Factory(jinshan)
    # Pinning: a wrong fingerprint stores nothing and says why; the right one, both ways.
    wrong = pin(js, pinghu, fingerprint="0" * 64)
    assert wrong.exit_code == 1
    assert "fingerprint" in wrong.output
    with jinshan.extensions["read_sessions"]() as session:
        assert session.get(FederationPeer, "330482") is None
    assert pin(js, pinghu).exit_code == 0
    assert pin(pinghu, js).exit_code == 0

    # A Pinghu pass bound for a Jinshan consignee, by its unified social credit code.
    consignee = theirs.enterprise()
    site, gate = theirs.checkpoint("site", consignee), theirs.checkpoint("gate")
    officer, receiver = theirs.officer(gate), theirs.enterprise_user(consignee)
    p = make.pass_(status="approved")
    with make.session() as session:
        row = session.get(Pass, p.id)
        row.destination_credit_code, row.destination_name = consignee.credit_code, consignee.name
        row.destination_area_code = "310116"
        session.commit()
    write(app, ["a", "b", "c"])
    sequencer(app).tick()  # a checkpoint of Pinghu's log for Jinshan to witness
    assert "peer 330482: 1 passes" in sync(js)

    # Pinghu goes down; the loop at Jinshan goes on and its events wait.
    pinghu.stop()
    as_officer, as_receiver = js.token(officer.username), js.token(receiver.username)
    assert js.scan(as_officer, gate, code=p.code)["event"] == "entry"
    arrived = js.scan(as_receiver, site, code=p.code)
    assert (arrived["decision"], arrived["event"]) == ("allow", "arrival")
    assert arrived["pass"]["issuer"] == {"area_code": "330482", "name": "平湖市"}
    assert js.scan(as_officer, gate, code=p.code)["event"] == "exit"
    assert "peer 330482: failed" in sync(js)
    with jinshan.extensions["read_sessions"]() as session:
        owed = session.scalars(select(FederationEvent.status)).all()
        assert owed == ["pending"] * 3
    pinghu.start()
    assert "3 events" in sync(js)
    supervisor = make.user("supervisor")
    journey = requests.get(
        f"{pinghu.base}/api/v1/passes/{p.id}/journey",
        headers=pinghu.token(supervisor.username),
        timeout=10,
    ).json()["items"]
    assert [(s["jurisdiction"], s["event"]) for s in journey] == [
        ("金山区", "entry"),
        ("金山区", "arrival"),
        ("金山区", "exit"),
    ]

    # A Pinghu revocation is refused at Jinshan after one sync.
    with make.session() as session:
        pass_services.revoke_pass(session, p.id, make.user("reviewer"), "测试吊销", now=now())
    revoked_at = time.monotonic()
    sync(js)
    refused = js.scan(as_officer, gate, code=p.code, direction="entry")
    revocation_to_refusal = time.monotonic() - revoked_at
    assert (refused["decision"], refused["reasons"]) == ("deny", ["revoked"])

    # Events per second between the two: a burst of denied reads, sent in one sync.
    burst = 100
    for _ in range(burst):
        js.scan(as_officer, gate, code=p.code, direction="entry")
    started = time.monotonic()
    assert f"{burst + 1} events" in sync(js)
    rate = (burst + 1) / (time.monotonic() - started)
    print(f"\nrevocation to refusal {revocation_to_refusal:.2f} s; {rate:.0f} events/s")

    # A jurisdiction Jinshan does not federate with: unknown_issuer.
    stranger = ec.generate_private_key(ec.SECP256R1())
    start = now()
    third = tokens.sign(
        tokens.Claims(1, 77, start, start + timedelta(days=1), "苏E12345", "320500"),
        stranger,
    )
    code = tokens.qr_text("http://suzhou.example", third)
    answer = js.scan(as_officer, gate, code=code)
    assert (answer["decision"], answer["reasons"]) == ("deny", ["unknown_issuer"])

    # Pinghu's log forked (its newest checkpoint rewritten): caught by the witness.
    with app.extensions["engine"].begin() as conn:
        newest = conn.scalar(select(AuditCheckpoint.id).order_by(AuditCheckpoint.size.desc()))
        conn.execute(
            update(AuditCheckpoint).where(AuditCheckpoint.id == newest).values(root_hash="ab" * 32)
        )
    sync(js)
    with jinshan.extensions["read_sessions"]() as session:
        peer = session.get(FederationPeer, "330482")
        assert peer.witness_state == "forked", peer.witness_error

    # Removed: Pinghu's passes are no longer trusted at Jinshan.
    assert js.cli("federation", "peer", "remove", "330482").exit_code == 0
    deadline = time.monotonic() + 15  # the gate's process reloads its trust within seconds
    while True:
        answer = js.scan(as_officer, gate, code=p.code)
        if answer["reasons"] == ["unknown_issuer"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (answer["decision"], answer["reasons"]) == ("deny", ["unknown_issuer"])
