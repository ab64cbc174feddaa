"""Rehearse the production topology on one machine: two gunicorn nodes behind nginx, two
SMS workers sending to a Twilio stand-in, the audit sequencer and the sweep timer, all on
one PostgreSQL. The journey runs through the balancer; mid-run one node and one SMS worker
are killed (SIGKILL); then what must have survived is checked. Writes the figures as JSON
for scripts/bench_report.py; exits 1 if any check fails. scripts/cluster.sh runs it.

    DATABASE_URL=postgresql+psycopg://... .venv/bin/python scripts/cluster_run.py
        [--passes 300] [--trips 3] [--clients 8] [--json bench-results/cluster.json]

Over 300 lines on purpose: one rehearsal: its processes, the kills and the checks after
them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cluster_checks as checks  # noqa: E402
import cluster_journey as journey  # noqa: E402
from cluster_processes import (  # noqa: E402
    FLASK,
    GUNICORN,
    Processes,
    free_port,
    scans_in_access_log,
    wait_ready,
)


def sms_in_flight(app: Any, owner: str) -> list[int]:
    """Messages a worker has marked as being sent and not yet as sent."""
    from sqlalchemy import select

    from sms.domain import SmsStatus
    from sms.models import SmsMessage

    with app.extensions["read_sessions"]() as session:
        return list(
            session.scalars(
                select(SmsMessage.id).where(
                    SmsMessage.status == SmsStatus.SENDING, SmsMessage.lease_owner == owner
                )
            )
        )


class Rehearsal:
    """One run, step by step; `figures` and `done` (the checks) fill as it goes, so a run
    that breaks off still reports how far it came."""

    def __init__(self, args: argparse.Namespace, run: Path, stub: Any, pool: ThreadPoolExecutor):
        self.args, self.run, self.stub, self.pool = args, run, stub, pool
        self.began = time.monotonic()
        self.ports = {"A": free_port(), "B": free_port(), "lb": free_port()}
        self.lb = f"http://127.0.0.1:{self.ports['lb']}"
        self.node = {n: f"http://127.0.0.1:{self.ports[n]}" for n in "AB"}
        self.tally = journey.Tally({f"127.0.0.1:{self.ports[n]}": n for n in "AB"})
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "APP_ENV": "development",
            "SECRET_KEY": secrets.token_hex(32),  # one key: sessions and CSRF on every node
            "INSTANCE_PATH": str(run / "instance"),  # shared signing keys and audit witness
            "PUBLIC_BASE_URL": self.lb,
            "PROXY_HOPS": "1",  # client addresses from nginx, as deployed
            "AUDIT_SEQUENCER": "off",  # its own process below
            "REPEAT_SCAN_SECONDS": "0",  # a journey's entry and exit are seconds apart here
            # Two shippers file the rehearsal's hundreds of passes within a minute: a day's
            # work at a busy gate, not one enterprise's abuse the filing limits stop.
            "APPLICATIONS_PER_HOUR": "5000",
            "APPLICATIONS_PER_DAY": "20000",
            "PENDING_APPLICATIONS_PER_ENTERPRISE": "5000",
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
            "TWILIO_FROM": "+15005550006",
            "TWILIO_API_BASE": stub.url,
        }
        self.procs = Processes(run, self.env, args.pids)
        self.figures: dict[str, Any] = {
            "nodes": 2,
            "workers_per_node": 2,
            "sms_workers": 2,
            "passes": args.passes,
            "max_trips": args.trips,
            "clients": args.clients,
            "killed": [],
        }
        self.done: list[checks.Check] = []
        self.app: Any = None
        self.node_killed_at: datetime | None = None

    def at(self) -> float:
        return round(time.monotonic() - self.began, 2)

    def check(self, name: str, ok: bool, detail: Any) -> None:
        text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
        self.done.append(checks.Check(name, bool(ok), text))

    def start(self) -> journey.Login:
        """The database as a deploy leaves it (migrated, a signing key, an administrator),
        then the background processes, the two nodes and the balancer."""
        os.environ.update(self.env)  # this process reads the same database and instance
        self.procs.flask("db", "upgrade")
        self.procs.flask("keys", "rotate")
        admin = journey.Login("admin", journey.new_password())
        self.procs.flask(
            "users",
            "create",
            "--username",
            "admin",
            "--password",
            admin.password,
            "--role",
            "admin",
        )
        from app import create_app

        self.app = create_app()
        with self.app.extensions["engine"].connect() as conn:
            self.figures["database"] = f"postgresql {conn.dialect.server_version_info[0]}"
        self.procs.start("sequencer", [*FLASK, "audit", "sequencer"])
        for i in (1, 2):
            work = ["sms", "work", "--idle", "0.2", "--lease", "5", "--batch", "5"]
            self.procs.start(f"sms-{i}", [*FLASK, *work])
        self.procs.start(
            "sweep", ["sh", "-c", f"while :; do {' '.join(FLASK)} loop sweep; sleep 3; done"]
        )
        for n in "AB":
            bind = f"127.0.0.1:{self.ports[n]}"
            gunicorn = [GUNICORN, "--workers", "2", "--bind", bind, "--log-level", "warning"]
            # Each node's workers share their metrics through files of their own.
            metrics = str(self.run / f"metrics-{n}")
            self.procs.start(
                f"node-{n}", [*gunicorn, "app:create_app()"], PROMETHEUS_MULTIPROC_DIR=metrics
            )
        probes = {n: wait_ready(self.node[n]) for n in "AB"}
        self.procs.nginx(self.ports)
        wait_ready(self.lb)
        self.figures["probe"] = probes["A"]
        self.figures["cluster_up_seconds"] = self.at()
        print(f"cluster up in {self.at()} s: nodes {probes}, balancer {self.lb}", flush=True)
        return admin

    def review(self, world: journey.World) -> list[str]:
        """The reviewer approves every pass; SMS worker 1 is killed inside a send."""
        owner = f"{socket.gethostname()}:{self.procs.started['sms-1'].pid}"
        approved = [0]
        killed: dict[str, Any] = {}

        def kill_mid_send() -> None:
            # Once a third of the passes are approved the provider answers slowly for a
            # moment, so a message worker 1 has marked "sending" is surely inside its send
            # when the worker dies: the provider has the message, the answer never returns.
            while approved[0] < self.args.passes // 3:
                time.sleep(0.01)
            self.stub.delay = 2.0
            time.sleep(0.2)  # sends begun before the slow moment have finished by now
            in_flight: list[int] = []
            deadline = time.monotonic() + 20
            while not in_flight and time.monotonic() < deadline:
                in_flight = sms_in_flight(self.app, owner)
                time.sleep(0.005)
            pids = self.procs.kill("sms-1")
            self.stub.delay = 0.05
            killed.update(
                what="SMS worker 1 (flask sms work)",
                pids=pids,
                at_seconds=self.at(),
                in_flight_messages=in_flight,
            )

        killer = threading.Thread(target=kill_mid_send, daemon=True)
        killer.start()
        began = time.monotonic()
        world.passes = journey.approve(
            self.lb, world.reviewer, world.passes, self.pool, lambda n: approved.__setitem__(0, n)
        )
        self.figures["approve_seconds"] = round(time.monotonic() - began, 2)
        killer.join(30)
        self.figures["killed"].append(killed)
        self.check("SMS worker 1 killed inside a send", killed.get("in_flight_messages"), killed)
        return [p["code"] for p in world.passes]

    def across_nodes(self, world: journey.World, code: str) -> None:
        """State the nodes share: a session, a signed-out token, a rate limit."""
        cfg = self.app.config
        session = journey.session_across_nodes(self.node["A"], self.node["B"], world.supervisor)
        logout = journey.logout_across_nodes(
            self.lb,
            self.node["A"],
            self.node["B"],
            world.officers[-1],
            cfg["API_TOKEN_CACHE_SECONDS"],
        )
        limit = journey.status_limit_across_nodes(
            self.lb, code, cfg["STATUS_PAGE_PER_MINUTE"], self.tally
        )
        self.figures["cross_node"] = {
            "session": session,
            "token_logout": logout,
            "status_page_limit": limit,
        }
        self.check("a session made on node A works on node B", session["ok"], session)
        self.check(
            "a token signed out on node A stops working on node B within API_TOKEN_CACHE_SECONDS",
            logout["ok"],
            logout,
        )
        self.check(
            "the status page's rate limit holds across nodes",
            limit["ok"],
            f"{limit['sent']} views of one page (limit {limit['limit']}/min):"
            f" {limit['allowed']} served, {limit['refused']} refused; by node {limit['by_node']}",
        )

    def scan(self, world: journey.World, codes: list[str]) -> None:
        """Every trip of every pass through the balancer; node A killed part-way."""
        planned = len(codes) * (3 * self.args.trips + 1)
        killed: dict[str, Any] = {}

        def kill_node() -> None:
            while len(self.tally.answers) < planned * self.args.kill_at:
                time.sleep(0.005)
            answered, moment = len(self.tally.answers), datetime.now(UTC)
            killed.update(
                what="app node A (gunicorn master and its 2 workers)",
                pids=self.procs.kill("node-A"),
                at_seconds=self.at(),
                scans_answered_before=answered,
            )
            self.node_killed_at = moment

        killer = threading.Thread(target=kill_node, daemon=True)
        killer.start()
        began = time.monotonic()
        journey.drive(self.lb, world, codes, self.args.trips, self.args.clients, self.tally)
        seconds = time.monotonic() - began
        killer.join(5)
        self.figures["killed"].append(killed)
        summary = self.tally.summary()
        summary["seconds"] = round(seconds, 2)
        summary["per_second"] = round(len(self.tally.answers) / seconds, 1)
        self.figures["scans"] = summary
        self.check("app node A killed mid-run", killed.get("pids"), killed)
        self.check(
            "scans answered by both nodes through the balancer",
            all(summary["by_node"].get(n) for n in "AB"),
            f"answered by node: {summary['by_node']}",
        )

    def after_the_kill(self, world: journey.World) -> None:
        """The surviving node takes writes: revocations queue SMS for the surviving worker,
        and the revoked passes are refused at the gate."""
        reviewer = journey.Api.signed_in(self.lb, world.reviewer.username, world.reviewer.password)
        officer = journey.Api.signed_in(
            self.lb, world.officers[0].username, world.officers[0].password
        )
        phone = journey.Phone(self.lb, officer.token or "", self.tally)
        revoked = world.passes[:10]
        for p in revoked:
            reviewer.call("POST", f"/api/v1/passes/{p['id']}/revoke", {"reason": "演练吊销"})
            phone.scan(world.gates[0], p["code"], ("deny", "revoked"))
        self.figures["revoked_after_kill"] = len(revoked)
        scans = self.figures["scans"]
        scans["failures"] = self.tally.failures[:20]
        # A scan sent again whose answer was recorded before the kill: the dead node had
        # recorded it, and the survivor answered the resend from that record.
        killed_at = self.node_killed_at
        scans["retried_recorded_by_dead_node"] = sum(
            1
            for scan_id in self.tally.retried
            if killed_at
            and datetime.fromisoformat(self.tally.answers[scan_id]["recorded_at"]) < killed_at
        )
        scans["requests_by_node_and_status"] = scans_in_access_log(
            self.run / "nginx-access.log", self.tally.nodes
        )
        self.check(
            "every scan answered as the loop expects",
            not self.tally.failures,
            f"{len(self.tally.answers)} answered, {self.tally.retries} sends repeated for"
            f" {len(self.tally.retried)} scans ({scans['retried_recorded_by_dead_node']} of them"
            f" recorded by the killed node before it died); failures: {self.tally.failures[:3]}",
        )

    def survived(self, killed_sms: list[int]) -> None:
        """Nothing lost, nothing twice: outbox, stub, scans, trips, the audit log."""
        began = time.monotonic()
        queued, waiting = checks.sms_drained(self.app, limit=60)
        self.figures["sms_drain_seconds"] = round(time.monotonic() - began, 2)
        sms, self.figures["sms"] = checks.sms_exactly_once(self.app, list(self.stub.sent))
        self.figures["sms"]["stub_lookups"] = self.stub.requests - len(self.stub.sent)
        self.figures["sms"]["in_flight_at_kill"] = checks.messages(self.app, killed_sms)
        self.done.append(sms)
        self.done.append(checks.scans_recorded_once(self.app, self.tally.answers))
        self.done.append(checks.trips_consistent(self.app, len(self.tally.answers)))
        self.done.append(checks.audit_verifies(self.env))
        sweeps = (self.run / "sweep.log").read_text().count("new anomalies")
        self.figures["sweep_runs"] = sweeps
        self.check("the sweep ran on its timer", sweeps >= 2, f"{sweeps} runs")
        self.figures["survived"] = {
            "scans": len(self.tally.answers),
            "sms_queued": queued,
            "sms_unsent_after_drain": waiting,
        }

    def go(self) -> None:
        admin = self.start()
        began = time.monotonic()
        world = journey.build(self.lb, admin, self.args.passes, self.args.trips, self.pool)
        self.figures["build_seconds"] = round(time.monotonic() - began, 2)
        codes = self.review(world)
        self.across_nodes(world, codes[0])
        self.scan(world, codes)
        self.after_the_kill(world)
        self.figures["journey_seconds"] = round(time.monotonic() - began, 2)
        self.survived(self.figures["killed"][0].get("in_flight_messages", []))
        self.app.extensions["engine"].dispose()


def report(figures: dict[str, Any], done: list[checks.Check]) -> None:
    print()
    print(
        f"cluster rehearsal: {figures.get('database', '?')}; 2 gunicorn nodes x 2 workers behind"
        f" nginx; 2 SMS workers; sequencer; sweep timer; probe {figures.get('probe', '?')}"
    )
    if scans := figures.get("scans"):
        print(
            f"journey {figures.get('journey_seconds', '?')} s (build {figures['build_seconds']} s,"
            f" approve {figures['approve_seconds']} s); {scans['acknowledged']} scans; the scan"
            f" phase {scans['seconds']} s = {scans['per_second']}/s through the balancer,"
            f" p50 {scans['p50_ms']} ms, p99 {scans['p99_ms']} ms; answered by node"
            f" {scans['by_node']}; {scans['retries']} sends repeated for"
            f" {scans['retried_scans']} scans, {scans.get('retried_recorded_by_dead_node', 0)}"
            " of them recorded by the killed node before it died"
        )
    if sms := figures.get("sms"):
        print(
            f"SMS: {sms['queued']} queued, {sms['sent']} sent, {sms['received_by_stub']} received"
            f" by the stub ({sms['received_twice']} twice); in flight when the worker died:"
            f" {sms['in_flight_at_kill']}; {sms['stub_lookups']} provider look-ups"
        )
    for kill in figures.get("killed", []):
        if kill:
            print(f"killed at {kill['at_seconds']} s: {kill['what']}, pids {kill['pids']}")
    for check in done:
        print(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    verdict = "all checks hold" if figures["ok"] else "CHECKS FAILED"
    print(f"total {figures['total_seconds']} s; {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=300)
    parser.add_argument("--trips", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kill-at", type=float, default=0.35, help="share of the scans")
    parser.add_argument("--pids", type=Path, help="note this process and its groups here")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (scripts/cluster.sh does)")
    if args.pids:
        with args.pids.open("a") as f:
            f.write(f"driver {os.getpid()}\n")

    def stop(signum: int, _frame: Any) -> None:
        journey.STOP.set()  # the clients' threads give up instead of sending again
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    from tests.twilio_stub import TwilioStub

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the stub's request lines
    run = Path(tempfile.mkdtemp(prefix="trafficpass-cluster-"))
    run.chmod(0o755)  # nginx's workers (nobody, when started as root) make temp files here
    stub = TwilioStub()
    stub.delay = 0.05  # a provider that takes a moment, so sends are in flight when killed
    with stub, ThreadPoolExecutor(6) as pool:
        rehearsal = Rehearsal(args, run, stub, pool)
        try:
            rehearsal.go()
        except (SystemExit, Exception) as exc:  # noqa: BLE001 - reported with the checks
            rehearsal.check("the rehearsal ran to the end", False, f"{type(exc).__name__}: {exc}")
        finally:
            rehearsal.procs.stop_all()
    figures, done = rehearsal.figures, rehearsal.done
    figures["total_seconds"] = rehearsal.at()
    figures["checks"] = [c.__dict__ for c in done]
    figures["ok"] = bool(done) and all(c.ok for c in done)
    report(figures, done)
    if args.json:
        target = Path(args.json)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str))
        print(f"wrote {target}")
    if figures["ok"]:
        shutil.rmtree(run, ignore_errors=True)
        return 0
    print(f"\nCLUSTER REHEARSAL FAILED; logs kept in {run}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
