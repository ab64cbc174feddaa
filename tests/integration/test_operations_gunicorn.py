"""Under gunicorn with two workers, JSON logs and Prometheus' multiprocess mode: a whole
journey leaves one JSON line per request and not one phone number, ID number, password
or token in any log line; /metrics adds up what every worker counted."""

import json
import os
import re
import secrets
import subprocess
import time
import uuid
from pathlib import Path

import requests

from tests.support import PASSWORD, application, free_port, id_number, plate

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "metrics-" + uuid.uuid4().hex


def serve(app, database_url, tmp_path, port):
    # No PROMETHEUS_MULTIPROC_DIR: gunicorn.conf.py makes one for the workers to share.
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "APP_ENV": "production",
        "INSTANCE_PATH": app.instance_path,
        "LOG_FORMAT": "json",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "METRICS_TOKEN": METRICS_TOKEN,
        "AUDIT_SEQUENCER": "off",
        "REPEAT_SCAN_SECONDS": "0",  # the journey's entry and exit are moments apart
        "PASSWORD_HASH_METHOD": app.config["PASSWORD_HASH_METHOD"],
    }
    with (tmp_path / "server.log").open("w") as log:
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}"]
            + ["app:create_app()"],
            cwd=ROOT,
            env=env,
            stderr=log,
            stdout=log,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/api/v1/health", timeout=10).ok:
                return server, base, tmp_path / "server.log"
        except requests.RequestException:
            if time.monotonic() > deadline:
                server.kill()
                server.wait()
                raise
            time.sleep(0.2)


def test_a_journey_logs_no_personal_data_and_metrics_add_up_across_workers(
    app, make, database_url, tmp_path
):
    enterprise = make.enterprise()
    clerk = make.enterprise_user(enterprise)
    reviewer = make.user("reviewer")
    gate = make.checkpoint("gate")
    officer = make.officer(gate)
    server, base, log = serve(app, database_url, tmp_path, free_port())
    phone, idn, truck = "13912340000", id_number(987), plate()
    secrets = [phone, idn, PASSWORD]
    try:

        def token(username):
            answer = requests.post(
                f"{base}/api/v1/auth/token",
                json={"username": username, "password": PASSWORD},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            secrets.append(answer.json()["token"])
            return {"Authorization": f"Bearer {answer.json()['token']}"}

        as_clerk, as_reviewer, as_officer = token(clerk.username), token(reviewer.username), None
        vehicle = requests.post(
            f"{base}/api/v1/vehicles",
            json={"plate": truck, "vehicle_type": "heavy_truck"},
            headers=as_clerk,
            timeout=10,
        ).json()
        driver = requests.post(
            f"{base}/api/v1/drivers",
            json={"name": "王五", "id_number": idn, "phone": phone},
            headers=as_clerk,
            timeout=10,
        ).json()
        filed = requests.post(
            f"{base}/api/v1/passes",
            json=application(vehicle["id"], driver["id"]),
            headers=as_clerk,
            timeout=10,
        )
        assert filed.status_code == 201, filed.text
        approved = requests.post(
            f"{base}/api/v1/passes/{filed.json()['id']}/approve", headers=as_reviewer, timeout=10
        ).json()
        code, driver_url = approved["code"], approved["driver_url"]
        secrets += [code.rsplit("/", 1)[-1], driver_url.rsplit("/", 1)[-1]]
        as_officer = token(officer.username)
        for _ in range(3):  # entry, exit without arrival, refused: no trips left
            body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": code}
            answer = requests.post(
                f"{base}/api/v1/scans", json=body, headers=as_officer, timeout=10
            )
            assert answer.status_code == 200
        manual = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id}
        manual |= {"number": approved["number"], "plate": truck}
        requests.post(f"{base}/api/v1/scans", json=manual, headers=as_officer, timeout=10)
        requests.get(code, timeout=10)  # the status page
        requests.get(f"{base}/d/{driver_url.rsplit('/', 1)[-1]}", timeout=10)  # driver page
        requests.get(f"{base}/api/v1/trips?plate={truck}", headers=as_reviewer, timeout=10)
        requests.post(
            f"{base}/api/v1/auth/token",
            json={"username": clerk.username, "password": phone},  # a wrong password
            timeout=10,
        )
        scrapes = [
            requests.get(
                f"{base}/metrics",
                headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                timeout=10,
            ).text
            for _ in range(4)
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    for secret in secrets:
        assert secret not in text, "a log line carries personal data or a secret"
    assert phone[3:] not in text
    lines = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
    requests_seen = [x for x in lines if x["logger"] == "trafficpass.requests"]
    assert len(requests_seen) >= 18
    assert all(re.fullmatch(r"[0-9a-f]{32}", x["request_id"]) for x in requests_seen)
    # Every scrape, whichever worker answered it, counts every worker's scans.
    for scrape in scrapes:
        allowed = re.search(
            r'^trafficpass_scans_total\{decision="allow",reason="none"\} (\S+)$', scrape, re.M
        )
        assert allowed is not None
        assert float(allowed[1]) == 2
        assert re.search(r"^trafficpass_scan_seconds_count (\S+)$", scrape, re.M)[1] == "4.0"
        assert re.search(r"^trafficpass_approvals_total (\S+)$", scrape, re.M)[1] == "1.0"
        assert re.search(r"^trafficpass_login_failures_total (\S+)$", scrape, re.M)[1] == "1.0"
