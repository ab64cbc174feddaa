"""The cluster rehearsal's clients (scripts/cluster_run.py): the journey through the load
balancer (sign-up, fleet, passes, review), officers' phones that send a scan again with
the same scan_id when no answer came back, and the checks of state shared across nodes.

Over 300 lines on purpose: one rehearsal's journey through the cluster, step by step."""

from __future__ import annotations

import re
import secrets
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from accounts.domain import credit_code_check_char
from fleet.domain import id_check_char

TIMEOUT = 10
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
DRIVER_NAMES = ("王建国", "刘芳", "陈静", "杨帆", "赵磊", "黄敏")
STOP = threading.Event()  # set when the rehearsal is being stopped


class Failed(RuntimeError):
    """A step of the journey got an answer it should not have."""


def new_password() -> str:
    """Letters and digits, as the password rule asks."""
    return secrets.token_urlsafe(12) + "a1"


def credit_code(n: int) -> str:
    stem = f"91330482MA{n:07d}"
    return stem + credit_code_check_char(stem)


class Api:
    """JSON calls to one base URL, as one user when signed in."""

    def __init__(self, base: str, token: str | None = None):
        self.base, self.token, self.http = base, token, requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def signed_in(cls, base: str, username: str, password: str) -> Api:
        token = cls(base).call(
            "POST", "/api/v1/auth/token", {"username": username, "password": password}
        )
        return cls(base, token["token"])

    def call(
        self, method: str, path: str, body: Any = None, expect: Iterable[int] = (200, 201)
    ) -> Any:
        response = self.http.request(method, self.base + path, json=body, timeout=TIMEOUT)
        if response.status_code not in tuple(expect):
            raise Failed(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()


@dataclass
class Login:
    username: str
    password: str


@dataclass
class World:
    """What the journey built: who signs in where, and the passes to scan."""

    admin: Login
    reviewer: Login
    supervisor: Login
    officers: list[Login]
    receiver: Login
    gates: list[int]
    site: int
    passes: list[dict[str, Any]] = field(default_factory=list)


def _user(admin: Api, role: str, name: str, **extra: Any) -> Login:
    login = Login(name, new_password())
    body = {"username": name, "password": login.password, "role": role, **extra}
    admin.call("POST", "/api/v1/users", body)
    return login


def _signup_by_form(lb: str, data: dict[str, str]) -> None:
    """The sign-up page with its CSRF token: two requests the balancer may send to
    different nodes, so the token in the session cookie must hold on both."""
    browser = requests.Session()
    page = browser.get(f"{lb}/signup", timeout=TIMEOUT)
    match = CSRF_META.search(page.text)
    if not match:
        raise Failed("no CSRF token on /signup")
    done = browser.post(
        f"{lb}/signup",
        data={**data, "csrf_token": match.group(1)},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    if done.status_code != 302 or "/login" not in done.headers.get("Location", ""):
        raise Failed(f"sign-up form: {done.status_code} {done.text[:300]}")


def _enterprise(admin: Api, lb: str, n: int, by_form: bool) -> tuple[int, Login]:
    owner = Login(f"firm{n}", new_password())
    data = {
        "name": f"平湖演练物流有限公司{n}",
        "credit_code": credit_code(n),
        "contact_name": "张伟",
        "contact_phone": f"139{n:08d}",
        "admin_username": owner.username,
        "admin_password": owner.password,
    }
    if by_form:
        _signup_by_form(lb, data)
        pending = admin.call("GET", "/api/v1/enterprises?status=pending&per_page=200")["items"]
        enterprise_id = next(e["id"] for e in pending if e["credit_code"] == data["credit_code"])
    else:
        enterprise_id = admin.call("POST", "/api/v1/enterprises", data)["id"]
    admin.call("POST", f"/api/v1/enterprises/{enterprise_id}/approve")
    return enterprise_id, owner


def build(lb: str, admin_login: Login, passes: int, trips: int, pool: ThreadPoolExecutor) -> World:
    """Staff, checkpoints, a destination enterprise signed up by form, two shippers signed
    up through the API with a truck and a driver per pass, and the passes filed."""
    admin = Api.signed_in(lb, admin_login.username, admin_login.password)
    gates = [
        admin.call(
            "POST",
            "/api/v1/checkpoints",
            {"code": f"G-{i}", "name": f"演练卡口{i}", "kind": "gate"},
        )["id"]
        for i in (1, 2)
    ]
    world = World(
        admin=admin_login,
        reviewer=_user(admin, "reviewer", "reviewer"),
        supervisor=_user(admin, "supervisor", "supervisor"),
        officers=[_user(admin, "officer", f"officer{i}", checkpoint_ids=gates) for i in range(4)],
        receiver=Login("", ""),
        gates=gates,
        site=0,
    )
    destination, world.receiver = _enterprise(admin, lb, 1, by_form=True)
    receiver = Api.signed_in(lb, world.receiver.username, world.receiver.password)
    world.site = receiver.call("POST", "/api/v1/checkpoints/site")["id"]
    shippers = [_enterprise(admin, lb, n, by_form=False) for n in (2, 3)]
    clerks = [Api.signed_in(lb, owner.username, owner.password) for _, owner in shippers]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    def file(n: int) -> dict[str, Any]:
        clerk = clerks[n % len(clerks)]
        vehicle = clerk.call(
            "POST", "/api/v1/vehicles", {"plate": f"浙F{10000 + n}", "vehicle_type": "heavy_truck"}
        )
        stem = f"33048219900101{n:03d}"
        driver = clerk.call(
            "POST",
            "/api/v1/drivers",
            {
                "name": DRIVER_NAMES[n % len(DRIVER_NAMES)],
                "id_number": stem + id_check_char(stem),
                "phone": f"137{n:08d}",
            },
        )
        return clerk.call(
            "POST",
            "/api/v1/passes",
            {
                "vehicle_id": vehicle["id"],
                "driver_id": driver["id"],
                "destination_enterprise_id": destination,
                "origin": "嘉兴市南湖区",
                "cargo": "大米 20 吨",
                "category": "daily_necessities",
                "valid_from": start.isoformat(),
                "valid_until": (start + timedelta(days=3)).isoformat(),
                "max_trips": trips,
            },
        )

    world.passes = list(pool.map(file, range(passes)))
    return world


def approve(
    lb: str,
    reviewer: Login,
    passes: list[dict[str, Any]],
    pool: ThreadPoolExecutor,
    progress: Callable[[int], None],
) -> list[dict[str, Any]]:
    """The reviewer approves every pass: each approval signs the code and queues the SMS."""
    api = Api.signed_in(lb, reviewer.username, reviewer.password)
    done, lock = [0], threading.Lock()

    def one(p: dict[str, Any]) -> dict[str, Any]:
        approved = api.call("POST", f"/api/v1/passes/{p['id']}/approve")
        with lock:
            done[0] += 1
            progress(done[0])
        return approved

    return list(pool.map(one, passes))


# --- scans -------------------------------------------------------------------------------


class Tally:
    """Every answered scan, which node answered it, and how many sends it took."""

    def __init__(self, nodes: dict[str, str]):
        self.nodes = nodes  # "127.0.0.1:port" -> node name
        self.lock = threading.Lock()
        self.answers: dict[str, dict[str, Any]] = {}
        self.by_node: Counter[str] = Counter()
        self.retries = 0
        self.retried: list[str] = []  # scan_ids that took more than one send
        self.failures: list[str] = []
        self.latencies: list[float] = []

    def node(self, upstream: str) -> str:
        # After a failover nginx lists every upstream it tried; the last one answered.
        last = upstream.split(",")[-1].strip()
        return self.nodes.get(last, last or "?")

    def summary(self) -> dict[str, Any]:
        ms = sorted(x * 1000 for x in self.latencies) or [0.0]
        return {
            "acknowledged": len(self.answers),
            "by_node": dict(sorted(self.by_node.items())),
            "retries": self.retries,
            "retried_scans": len(self.retried),
            "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
            "failures": self.failures[:20],
        }


class Phone:
    """One officer's (or a site's) scanner. No answer (a dropped connection, a 502 from a
    balancer whose node died with the request) means the scan may or may not be recorded:
    send it again with the same scan_id, which records it at most once."""

    RETRIABLE = (502, 503, 504)

    def __init__(self, lb: str, token: str, tally: Tally):
        self.api, self.tally = Api(lb, token), tally

    def scan(self, checkpoint: int, code: str, expect: tuple[str, str]) -> dict[str, Any]:
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint, "code": code}
        started = time.monotonic()
        for attempt in range(1, 41):
            if STOP.is_set():
                raise Failed("stopped")
            try:
                response = self.api.http.post(
                    f"{self.api.base}/api/v1/scans", json=body, timeout=TIMEOUT
                )
            except requests.RequestException:
                response = None
            if response is not None and response.status_code == 200:
                return self._answered(body["scan_id"], response, attempt, started, expect)
            if response is not None and response.status_code not in self.RETRIABLE:
                self._fail(f"scan {body['scan_id']}: {response.status_code} {response.text[:200]}")
                return {}
            time.sleep(min(0.05 * attempt, 0.5))
        self._fail(f"scan {body['scan_id']}: no answer after 40 sends")
        return {}

    def _answered(
        self,
        scan_id: str,
        response: requests.Response,
        attempt: int,
        started: float,
        expect: tuple[str, str],
    ) -> dict[str, Any]:
        answer = response.json()
        decision, what = expect
        got = answer["event"] if decision == "allow" else answer["reasons"]
        wrong = answer["decision"] != decision or (
            what != got if decision == "allow" else what not in got
        )
        with self.tally.lock:
            self.tally.answers[scan_id] = answer
            self.tally.by_node[self.tally.node(response.headers.get("X-Upstream", ""))] += 1
            self.tally.latencies.append(time.monotonic() - started)
            if attempt > 1:
                self.tally.retries += attempt - 1
                self.tally.retried.append(scan_id)
        if wrong:
            self._fail(f"scan {scan_id}: expected {expect}, got {answer['decision']} {got}")
        return answer

    def _fail(self, text: str) -> None:
        with self.tally.lock:
            self.tally.failures.append(text)


def drive(lb: str, world: World, codes: list[str], trips: int, clients: int, tally: Tally) -> None:
    """`clients` phones at once, each taking its share of the passes through every trip
    (gate entry, site arrival, exit at the other gate) and one entry too many."""
    officers = [Api.signed_in(lb, o.username, o.password).token for o in world.officers]
    receiver = Api.signed_in(lb, world.receiver.username, world.receiver.password).token
    g = world.gates

    def phone_run(k: int) -> None:
        gate, site = Phone(lb, officers[k % len(officers)], tally), Phone(lb, receiver, tally)
        for code in codes[k::clients]:
            for trip in range(trips):
                gate.scan(g[trip % 2], code, ("allow", "entry"))
                site.scan(world.site, code, ("allow", "arrival"))
                gate.scan(g[(trip + 1) % 2], code, ("allow", "exit"))
            gate.scan(g[0], code, ("deny", "no_trips_left"))

    with ThreadPoolExecutor(clients) as pool:
        for result in [pool.submit(phone_run, k) for k in range(clients)]:
            result.result()


# --- state shared across nodes -----------------------------------------------------------


def session_across_nodes(node_a: str, node_b: str, who: Login) -> dict[str, Any]:
    """Signed in on node A (with the form and CSRF token node B served), the session is
    then used on node B and on A: cookie and token are signed with the shared SECRET_KEY."""
    browser = requests.Session()
    page = browser.get(f"{node_b}/login", timeout=TIMEOUT)
    match = CSRF_META.search(page.text)
    signed = browser.post(
        f"{node_a}/login",
        data={
            "username": who.username,
            "password": who.password,
            "csrf_token": match.group(1) if match else "",
        },
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    homes = [
        browser.get(f"{n}/", timeout=TIMEOUT, allow_redirects=False).status_code
        for n in (node_b, node_a)
    ]
    ok = signed.status_code == 302 and homes == [200, 200]
    return {"ok": ok, "sign_in_on_a": signed.status_code, "home_on_b_then_a": homes}


def logout_across_nodes(
    lb: str, node_a: str, node_b: str, who: Login, ttl: float
) -> dict[str, Any]:
    """A bearer token signed out on node A must stop working on node B's scan path (which
    trusts a checked token for `ttl` seconds) within `ttl`. An empty scan body costs the
    check nothing: 422 while the token is good, 401 once it is not."""
    token = Api.signed_in(lb, who.username, who.password).token
    on_a, on_b = Api(node_a, token), Api(node_b, token)

    def probe() -> int:
        return on_b.http.post(f"{node_b}/api/v1/scans", json={}, timeout=TIMEOUT).status_code

    primed = [probe() for _ in range(6)]  # both of node B's workers remember the token
    out = on_a.call("POST", "/api/v1/auth/logout")
    signed_out = time.monotonic()
    other_api = on_b.http.get(f"{node_b}/api/v1/checkpoints", timeout=TIMEOUT).status_code
    last_good = 0.0
    while time.monotonic() - signed_out < ttl + 1.5:
        if probe() != 401:
            last_good = time.monotonic() - signed_out
        time.sleep(0.1)
    after = [probe() for _ in range(8)]
    ok = (
        primed == [422] * 6
        and out.get("revoked") is True
        and other_api == 401
        and after == [401] * 8
    )
    ok = ok and last_good <= ttl + 0.5
    return {
        "ok": ok,
        "ttl_seconds": ttl,
        "scan_path_worked_until_seconds": round(last_good, 2),
        "other_endpoints_on_b": other_api,
        "after_ttl": Counter(after),
    }


def status_limit_across_nodes(lb: str, code: str, limit: int, tally: Tally) -> dict[str, Any]:
    """More than STATUS_PAGE_PER_MINUTE views of one status page from one address, spread
    over both nodes by the balancer: the views past the limit must be refused (429)."""
    path = "/P/" + code.split("/P/", 1)[1]
    browser = requests.Session()
    sent = limit + 20
    statuses: Counter[int] = Counter()
    nodes: Counter[str] = Counter()
    for _ in range(sent):
        response = browser.get(lb + path, timeout=TIMEOUT)
        statuses[response.status_code] += 1
        nodes[tally.node(response.headers.get("X-Upstream", ""))] += 1
    allowed, refused = statuses[200], statuses[429]
    return {
        "ok": allowed <= limit and allowed + refused == sent,
        "limit": limit,
        "sent": sent,
        "allowed": allowed,
        "refused": refused,
        "by_node": dict(sorted(nodes.items())),
    }
