"""Request logs hold no tokens and no query values (phone numbers are typed into filters),
under the development server and under gunicorn with its access log on."""

import http.client
import logging
import os
import secrets
import subprocess
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

from core.privacy import mask_target
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "AEAQAAAAAAAB4JAAXNKGQAXNLWIBE2VXJBDXK5JZEYBT4FQ"
PHONE = "13912345678"
TARGETS = [f"/P/{TOKEN}", f"/p/{TOKEN.lower()}?x=1", f"/trips?driver={PHONE}&page=2"]


def test_mask_target():
    assert mask_target(f"/P/{TOKEN}") == "/P/AEAQ***"
    assert mask_target(f"/trips?driver={PHONE}&flag&page=2") == "/trips?driver=***&flag&page=***"
    assert mask_target("/d/K7QX9MPA") == "/d/K7QX***"
    assert mask_target("/dashboard") == "/dashboard"


def get(port, target):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", target)
        conn.getresponse().read()
    finally:
        conn.close()


def assert_clean(text):
    assert TOKEN not in text
    assert TOKEN.lower() not in text
    assert PHONE not in text


def test_development_server_log_masks_tokens_and_queries(app, caplog):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for target in TARGETS:
                get(server.port, target)
    finally:
        server.shutdown()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len([line for line in lines if "HTTP/1.1" in line]) == len(TARGETS)
    assert "/P/AEAQ***" in "\n".join(lines)
    assert "driver=***" in "\n".join(lines)
    assert_clean("\n".join(lines))


def test_gunicorn_access_log_masks_tokens_and_queries(app, database_url, tmp_path):
    port, log = free_port(), tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "APP_ENV": "production",
        "INSTANCE_PATH": app.instance_path,
    }
    fmt = '%(h)s "%(r)s" %(s)s "%(f)s" %(U)s %(q)s {%({raw_uri}e)s}'
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(log),
            "--access-logformat",
            fmt,
            "app:create_app()",
        ],
        cwd=ROOT,  # gunicorn.conf.py names the masking logger
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                get(port, "/api/v1/health")
                break
            except OSError:
                time.sleep(0.1)
        for target in TARGETS:
            get(port, target)
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert text.count("\n") >= len(TARGETS)
    assert "/P/AEAQ***" in text
    assert "driver=***" in text
    assert_clean(text)
