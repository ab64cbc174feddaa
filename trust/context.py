"""The audit log's sequencer for a running app (the web edge and the command line)."""

from __future__ import annotations

import os
import threading

from flask import Flask

from core.db import utcnow
from trust.audit_checkpoints import AuditLog
from trust.auditlog import Sequencer


def audit_log(app: Flask) -> AuditLog:
    return app.extensions["audit_log"]


def sequencer(app: Flask) -> Sequencer:
    settings = audit_log(app)
    return Sequencer(
        app.extensions["sessions"],
        app.extensions["read_sessions"],
        settings.keys,
        settings.origin,
        witness=settings.witness,
        interval=settings.interval,
        clock=utcnow,
    )


def start_sequencer_with_requests(app: Flask) -> None:
    """One sequencer thread per serving process, started by its first request (so a
    server that forks workers starts one in each; they take turns on the tree's row)."""
    started: dict[int, Sequencer] = {}
    lock = threading.Lock()

    @app.before_request
    def ensure_sequencer() -> None:  # also called by the scan path beneath Flask
        if os.getpid() in started:
            return
        with lock:
            if os.getpid() not in started:
                started[os.getpid()] = running = sequencer(app)
                running.start()

    app.extensions["ensure_sequencer"] = ensure_sequencer
