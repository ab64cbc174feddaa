"""Receivers are connected by the app factory, not because a module happens to be
imported: importing every module connects nothing; create_app connects each once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib, json, pkgutil, sys, tempfile
sys.path.insert(0, {root!r})
from accounts import events as accounts_events
from checkpoints import events as checkpoints_events
from fleet import events as fleet_events
from passes import events as passes_events
from sms import events as sms_events
SIGNALS = {{
    "accounts.user_created": accounts_events.user_created,
    "accounts.officer_places": accounts_events.officer_places,
    "accounts.enterprise_status_changed": accounts_events.enterprise_status_changed,
    "checkpoints.anomaly_raised": checkpoints_events.anomaly_raised,
    "checkpoints.scan_denied": checkpoints_events.scan_denied,
    "fleet.plate_changing": fleet_events.plate_changing,
    "passes.trip_progress": passes_events.trip_progress,
    "passes.pass_decided": passes_events.pass_decided,
    "accounts.waiting_work": accounts_events.waiting_work,
    "sms.sms_failed": sms_events.sms_failed,
    "accounts.enterprise_signed_up": accounts_events.enterprise_signed_up,
}}
for package in ("accounts", "fleet", "passes", "trust", "sms", "checkpoints", "supervision",
                "operations"):
    for module in pkgutil.iter_modules([{root!r} + "/" + package]):
        importlib.import_module(f"{{package}}.{{module.name}}")
before = {{name: len(signal.receivers) for name, signal in SIGNALS.items()}}
from app import create_app
instance = tempfile.mkdtemp()
config = {{"TESTING": True, "INSTANCE_PATH": instance, "SECRET_KEY": "x",
          "DATABASE_URL": f"sqlite:///{{instance}}/w.db"}}
create_app(config)
once = {{name: len(signal.receivers) for name, signal in SIGNALS.items()}}
create_app(config)  # a second app replaces the first's receivers, never doubles them
after = {{name: len(signal.receivers) for name, signal in SIGNALS.items()}}
print(json.dumps({{"before": before, "once": once, "after": after}}))
"""


def test_receivers_are_connected_by_the_factory_once():
    import json

    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"APP_ENV": "testing", "PATH": "/usr/bin:/bin"},
    )
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(counts["before"].values()) == {0}, counts["before"]
    assert min(counts["once"].values()) >= 1, counts["once"]
    assert counts["after"] == counts["once"]
    # the entry's anomaly is heard by the alerts and by the consignee's board
    assert counts["once"]["checkpoints.anomaly_raised"] == 2
