"""Two installations side by side in one process: Pinghu (the suite's app, 330482) and
Jinshan (310116, its own database and instance), with HTTP between them routed to each
other's test client through the federation's one transport. (The two-process test over
real HTTP is tests/integration/test_federation_processes.py.)"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from federation import client as federation_client
from tests.support import api_token, app_config

JINSHAN_URL = "http://jinshan.example"


@pytest.fixture
def jinshan(fresh_database, tmp_path):
    """A second installation (金山区, 310116) with its own database and instance."""
    from app import create_app

    peer = create_app(
        app_config(
            fresh_database,
            tmp_path / "jinshan",
            AREA_CODE="310116",
            JURISDICTION_NAME="金山区",
            PUBLIC_BASE_URL=JINSHAN_URL,
        )
    )
    assert peer.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    yield peer
    peer.extensions["engine"].dispose()


class Network:
    """Routes a request to the installation whose PUBLIC_BASE_URL it starts with; a
    jurisdiction marked down answers nothing (the connection is refused)."""

    def __init__(self, *apps: Any):
        self.apps = {a.config["PUBLIC_BASE_URL"]: a for a in apps}
        self.down: set[str] = set()
        self.seen: list[tuple[str, str]] = []

    def __call__(self, method, url, headers, body, timeout=None):
        self.seen.append((method, url))
        for base, target in self.apps.items():
            if url.startswith(base) and target.config["AREA_CODE"] not in self.down:
                parts = urlsplit(url)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                answer = target.test_client().open(path, method=method, headers=headers, data=body)
                return answer.status_code, answer.get_data()
        raise ConnectionRefusedError(f"nothing answers at {url}")


@pytest.fixture
def network(app, jinshan, monkeypatch):
    net = Network(app, jinshan)
    monkeypatch.setattr(federation_client, "transport", net)
    return net


def identity(app) -> dict[str, Any]:
    done = app.test_cli_runner().invoke(args=["federation", "identity"])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def pin(app, other) -> None:
    """`app` pins `other` as a peer, by its address and its fingerprint."""
    url, fingerprint = other.config["PUBLIC_BASE_URL"], identity(other)["fingerprint"]
    done = app.test_cli_runner().invoke(
        args=["federation", "peer", "add", url, "--fingerprint", fingerprint]
    )
    assert done.exit_code == 0, done.output


def sync(app) -> str:
    done = app.test_cli_runner().invoke(args=["federation", "sync", "--once"])
    if done.exception and not isinstance(done.exception, SystemExit):
        raise done.exception
    assert done.exit_code == 0, done.output
    app.extensions["trust_cache"].loaded_at = None  # the next scan sees the new keys
    return done.output


def scan(app, user, checkpoint, **body) -> dict[str, Any]:
    """`user` scans at `checkpoint` of `app` (a code, or a number and plate): the answer."""
    client = app.test_client()
    headers = api_token(client, user.username)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, **body}
    answer = client.post("/api/v1/scans", json=body, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()
