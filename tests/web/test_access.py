"""Every admin page and API endpoint, called as every role, anonymously, and as a user of
another enterprise ("rival"), gives exactly the allowed result. A new route fails
`test_every_route_is_in_the_table` until it is added."""

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.domain import Role
from tests.support import PASSWORD, api_token, login, now, post_form

# A whitelist entry lasts at most a year
LISTED_UNTIL = (now() + timedelta(days=30)).date().isoformat()
ROLES = ["anonymous", *[r.value for r in Role], "rival"]
# Objects of the home enterprise: another enterprise's user must not learn they exist.
HOME_OBJECTS = ("{vehicle}", "{driver}", "{pass}", "{waiting}", "{trip}", "{plate}", "{booking}")
HOME_OBJECTS += ("{apikey}",)
# Where another enterprise's user is refused otherwise than by a 404, and why that is right.
RIVAL_EXCEPTIONS: dict[tuple[str, str], int] = {
    # Applying with the home enterprise's vehicle and driver is a validation error on those
    # fields ("choose your own registered vehicle or driver"): nothing is created or shown.
    ("POST", "/api/v1/passes"): 422,
    # The board's form goes back to the board, with what went wrong (here: not found).
    ("POST", "/arrivals/{trip}/escort"): 302,
    # The enterprise's own trip is not inside (409); the rival's is not its to escort (404).
    ("POST", "/api/v1/trips/{trip}/escort"): 404,
    # The keys page answers another's key as not there, on the page itself.
    ("POST", "/integrations/keys/{apikey}/revoke"): 302,
}
ALL = {r.value for r in Role}
ENT = {"enterprise"}
REV = {"reviewer"}
READERS = {"admin", "reviewer", "supervisor", "enterprise"}
OVERSIGHT = {"admin", "reviewer", "supervisor"}


def expect(allowed, ok, denied=403, anonymous=None):
    return {role: (ok if role in allowed else denied) for role in ALL} | {"anonymous": anonymous}


def rival(method, path, body, expected):
    """What another enterprise's user gets: the enterprise's answer, except that the home
    enterprise's own objects (in the URL or the body) are not found."""
    if (method, path) in RIVAL_EXCEPTIONS:
        return RIVAL_EXCEPTIONS[(method, path)]
    mine = expected["enterprise"]
    if mine < 400 and (any(h in path for h in HOME_OBJECTS) or body in ("vehicle", "application")):
        return 404
    return mine


# (kind, method, path template, body) -> expected status by role.
# Pages redirect anonymous visitors to the login page (302); the API answers 401.
PAGES = [
    ("GET", "/admin/", None, expect({"admin"}, 302, anonymous=302)),
    ("GET", "/admin/users", None, expect({"admin"}, 200, anonymous=302)),
    (
        "POST",
        "/admin/users",
        {"username": "fresh", "password": PASSWORD, "role": "officer"},
        expect({"admin"}, 302, anonymous=302),
    ),
    ("GET", "/admin/users/{user}/password", None, expect({"admin"}, 200, anonymous=302)),
    (
        "POST",
        "/admin/users/{user}/password",
        {"password": "another-pass-2"},
        expect({"admin"}, 302, anonymous=302),
    ),
    ("POST", "/admin/users/{user}/active", {"active": "0"}, expect({"admin"}, 302, anonymous=302)),
    ("POST", "/admin/users/{user}/revoke-tokens", {}, expect({"admin"}, 302, anonymous=302)),
    ("GET", "/admin/enterprises", None, expect({"admin", "reviewer"}, 200, anonymous=302)),
    (
        "POST",
        "/admin/enterprises/{pending}/status",
        {"status": "approved"},
        expect({"admin"}, 302, anonymous=302),
    ),
    (
        "POST",
        "/admin/enterprises/{pending}/whitelist",
        {"whitelisted": "1"},
        expect({"admin", "reviewer"}, 302, anonymous=302),
    ),
    ("GET", "/", None, expect(ALL, 200, anonymous=302)),
    ("GET", "/login", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/signup", None, expect(ALL, 200, anonymous=200)),
    ("POST", "/logout", {}, expect(ALL, 302, anonymous=302)),
    # Public forms: an empty submission is refused the same way for everyone.
    ("POST", "/login", {}, expect(ALL, 401, anonymous=401)),
    ("POST", "/signup", {}, expect(ALL, 422, anonymous=422)),
    # Fleet: the enterprise's own pages.
    ("GET", "/fleet/vehicles", None, expect(ENT, 200, anonymous=302)),
    (
        "POST",
        "/fleet/vehicles",
        {"plate": "浙F65432", "vehicle_type": "van"},
        expect(ENT, 302, anonymous=302),
    ),
    ("GET", "/fleet/vehicles/{vehicle}", None, expect(ENT, 200, anonymous=302)),
    ("POST", "/fleet/vehicles/{vehicle}", "vehicle", expect(ENT, 302, anonymous=302)),
    (
        "POST",
        "/fleet/vehicles/{vehicle}/archive",
        {"archived": "1"},
        expect(ENT, 302, anonymous=302),
    ),
    ("GET", "/fleet/drivers", None, expect(ENT, 200, anonymous=302)),
    ("POST", "/fleet/drivers", "new-driver", expect(ENT, 302, anonymous=302)),
    ("GET", "/fleet/drivers/{driver}", None, expect(ENT, 200, anonymous=302)),
    ("POST", "/fleet/drivers/{driver}", "driver", expect(ENT, 302, anonymous=302)),
    ("POST", "/fleet/drivers/{driver}/archive", {"archived": "1"}, expect(ENT, 302, anonymous=302)),
    ("GET", "/fleet/import", None, expect(ENT, 200, anonymous=302)),
    ("POST", "/fleet/import", {}, expect(ENT, 422, anonymous=302)),
    ("POST", "/fleet/import/{token}", {}, expect(ENT, 302, anonymous=302)),
    ("GET", "/fleet/template.{fmt}", None, expect(ENT, 200, anonymous=302)),
    ("GET", "/fleet/export.{fmt}", None, expect(ENT, 200, anonymous=302)),
    # Passes.
    ("GET", "/passes", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/passes/new", None, expect(ENT, 200, anonymous=302)),
    ("POST", "/passes/new", {}, expect(ENT, 422, anonymous=302)),
    ("GET", "/passes/{pass}", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/passes/{pass}/print", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/passes/{pass}/pass.pdf", None, expect(READERS, 200, anonymous=302)),
    # The driver's link: anyone holding the key (it is in the SMS), signed in or not.
    ("GET", "/d/{key}", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/d/{key}/manifest.webmanifest", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/d/{key}/pass.pdf", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/d/sw.js", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/scan/sw.js", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/scan/manifest.webmanifest", None, expect(ALL, 200, anonymous=200)),
    ("POST", "/passes/{waiting}/cancel", {}, expect(ENT, 302, anonymous=302)),
    ("POST", "/passes/{pass}/resend", {}, expect(ENT | REV, 302, anonymous=302)),
    ("POST", "/passes/{waiting}/approve", {}, expect(REV, 302, anonymous=302)),
    ("POST", "/passes/{waiting}/reject", {"reason": "资料不全"}, expect(REV, 302, anonymous=302)),
    ("POST", "/passes/{pass}/revoke", {"reason": "货物不符"}, expect(REV, 302, anonymous=302)),
    ("GET", "/review", None, expect(REV, 200, anonymous=302)),
    ("POST", "/review/bulk", {"ids": "{waiting}"}, expect(REV, 302, anonymous=302)),
    # Public: the status page answers everyone; the SMS webhook answers only Twilio.
    ("GET", "/P/{token}", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/p/{token}", None, expect(ALL, 200, anonymous=200)),
    ("POST", "/sms/status", {}, expect(ALL, 404, anonymous=404)),
    ("POST", "/sms/aliyun/report", {}, expect(ALL, 404, anonymous=404)),  # no token set
    # Checkpoints, scanning and the loop.
    ("GET", "/scan", None, expect({"officer", "enterprise"}, 200, anonymous=302)),
    ("POST", "/scan/site", {}, expect(ENT, 302, anonymous=302)),
    ("GET", "/admin/checkpoints", None, expect({"admin"}, 200, anonymous=302)),
    (
        "POST",
        "/admin/checkpoints",
        {"code": "G-NEW", "name": "新卡口", "kind": "gate"},
        expect({"admin"}, 302, anonymous=302),
    ),
    (
        "POST",
        "/admin/checkpoints/{checkpoint}/active",
        {"active": "0"},
        expect({"admin"}, 302, anonymous=302),
    ),
    (
        "POST",
        "/admin/checkpoints/{checkpoint}/place",
        {"latitude": "30.7", "longitude": "121.0"},
        expect({"admin"}, 302, anonymous=302),
    ),
    ("GET", "/map", None, expect({"admin", "reviewer", "supervisor"}, 200, anonymous=302)),
    ("POST", "/admin/users/{user}/checkpoints", {}, expect({"admin"}, 302, anonymous=302)),
    ("POST", "/admin/users/{user}/revoke-devices", {}, expect({"admin"}, 302, anonymous=302)),
    ("GET", "/anomalies", None, expect(OVERSIGHT, 200, anonymous=302)),
    (
        "POST",
        "/anomalies/{anomaly}/resolve",
        {"note": "已处理"},
        expect({"supervisor"}, 302, anonymous=302),
    ),
    (
        "POST",
        "/anomalies/resolve",
        {"note": "已处理", "ids": "{anomaly}"},
        expect({"supervisor"}, 302, anonymous=302),
    ),
    (
        "POST",
        "/scans/{scanpk}/annul",
        {"reason": "read_twice"},
        expect({"supervisor"}, 302, anonymous=302),
    ),
    ("GET", "/trips/{trip}", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/trips/{trip}/timeline.pdf", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/passes/{pass}/trips", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/dashboard", None, expect(OVERSIGHT, 200, anonymous=302)),
    ("GET", "/trips", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/statistics", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/statistics.{fmt}", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/inside", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/admin/keys", None, expect({"admin"}, 200, anonymous=302)),
    ("GET", "/admin/federation", None, expect({"admin", "supervisor"}, 200, anonymous=302)),
    ("POST", "/admin/federation", {}, expect({"admin"}, 422, anonymous=302)),
    ("POST", "/admin/federation/{peer}/remove", {}, expect({"admin"}, 404, anonymous=302)),
    ("POST", "/admin/keys/rotate", {}, expect({"admin"}, 302, anonymous=302)),
    ("GET", "/history/plate/{plate}", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/history/driver/{driver}", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/exports/{kind}.{fmt}", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/alerts", None, expect(OVERSIGHT, 200, anonymous=302)),
    ("POST", "/alerts", {"kinds": "overstay"}, expect(OVERSIGHT, 302, anonymous=302)),
    ("GET", "/notifications", None, expect(READERS, 200, anonymous=302)),
    ("GET", "/arrivals", None, expect(ENT, 200, anonymous=302)),
    ("GET", "/integrations/keys", None, expect({"admin", "enterprise"}, 200, anonymous=302)),
    (
        "POST",
        "/integrations/keys",
        {"name": "ERP", "scopes": "read"},  # no one-time mark from the page: back to it
        expect({"admin", "enterprise"}, 302, anonymous=302),
    ),
    # Back to the page either way: revoked, or (the jurisdiction's, another's) no such key.
    (
        "POST",
        "/integrations/keys/{apikey}/revoke",
        {},
        expect({"admin", "enterprise"}, 302, anonymous=302),
    ),
    (
        "GET",
        "/gate/{checkpoint}/bookings",
        None,
        expect({"officer", *OVERSIGHT}, 200, anonymous=302),
    ),
    ("GET", "/passes/{pass}/booking", None, expect(ENT, 200, anonymous=302)),
    ("GET", "/crews", None, expect(REV, 200, anonymous=302)),
    (
        "POST",
        "/admin/checkpoints/{checkpoint}/booking",
        {"capacity_per_hour": "3"},
        expect({"admin"}, 302, anonymous=302),
    ),
    (
        "POST",
        "/crews",
        {"action": "whitelist", "driver_ids": "{driver}", "valid_until": LISTED_UNTIL},
        expect(REV, 302, anonymous=302),
    ),
    ("POST", "/passes/{pass}/booking", "booking", expect(ENT, 302, anonymous=302)),
    ("POST", "/arrivals/{trip}/escort", {"name": "王五"}, expect(ENT, 302, anonymous=302)),
    ("GET", "/audit", None, expect({"admin", "supervisor"}, 200, anonymous=302)),
    ("POST", "/audit", {}, expect({"admin", "supervisor"}, 200, anonymous=302)),
    ("GET", "/audit/checkpoint.json", None, expect({"admin", "supervisor"}, 200, anonymous=302)),
    ("GET", "/audit/export.{fmt}", None, expect({"admin", "supervisor"}, 200, anonymous=302)),
    ("POST", "/notifications/read", {}, expect(READERS, 302, anonymous=302)),
]

API = [
    (
        "POST",
        "/api/v1/auth/token",
        {"username": "target", "password": PASSWORD},
        expect(ALL, 200, anonymous=200),
    ),
    ("POST", "/api/v1/auth/logout", None, expect(ALL, 200, anonymous=401)),
    ("GET", "/api/v1/openapi.json", None, expect(ALL, 200, anonymous=200)),
    ("POST", "/api/v1/enterprises", "signup", expect(ALL, 201, anonymous=201)),
    ("GET", "/api/v1/enterprises", None, expect(ALL, 200, anonymous=401)),
    (
        "GET",
        "/api/v1/enterprises/{pending}",
        None,
        expect({"admin", "reviewer", "supervisor"}, 200, denied=404, anonymous=401),
    ),
    ("POST", "/api/v1/enterprises/{pending}/approve", None, expect({"admin"}, 200, anonymous=401)),
    ("POST", "/api/v1/enterprises/{pending}/suspend", None, expect({"admin"}, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/enterprises/{pending}/reject",
        {"reason": "营业执照已过期"},
        expect({"admin"}, 200, anonymous=401),
    ),
    (
        "POST",
        "/api/v1/enterprises/{pending}/whitelist",
        {"whitelisted": True},
        expect({"admin", "reviewer"}, 200, anonymous=401),
    ),
    ("GET", "/api/v1/users", None, expect({"admin"}, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/users",
        {"username": "fresh", "password": PASSWORD, "role": "officer"},
        expect({"admin"}, 201, anonymous=401),
    ),
    ("POST", "/api/v1/users/{user}/deactivate", None, expect({"admin"}, 200, anonymous=401)),
    ("POST", "/api/v1/users/{user}/revoke-tokens", None, expect({"admin"}, 200, anonymous=401)),
    ("GET", "/api/v1/audit/verify", None, expect({"admin", "supervisor"}, 200, anonymous=401)),
    ("GET", "/api/v1/audit/entries", None, expect({"admin", "supervisor"}, 200, anonymous=401)),
    (
        "GET",
        "/api/v1/audit/proof?from=1&to=2",
        None,
        expect({"admin", "supervisor"}, 200, anonymous=401),
    ),
    ("GET", "/api/v1/audit/checkpoint", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/api/v1/federation", None, expect(ALL, 200, anonymous=200)),
    # signed by a peer's federation key, never by a user: 401 for everyone here
    ("GET", "/api/v1/federation/passes", None, expect(ALL, 401, anonymous=401)),
    ("POST", "/api/v1/federation/events", {}, expect(ALL, 401, anonymous=401)),
    ("GET", "/api/v1/federation/audit", None, expect(ALL, 401, anonymous=401)),
    ("GET", "/api/v1/federation/passes/{peer}", None, expect(ALL, 401, anonymous=401)),
    (
        "GET",
        "/api/v1/federation/peers",
        None,
        expect({"admin", "supervisor"}, 200, anonymous=401),
    ),
    (
        "POST",
        "/api/v1/vehicles",
        {"plate": "浙F65432", "vehicle_type": "van"},
        expect(ENT, 201, anonymous=401),
    ),
    ("GET", "/api/v1/vehicles", None, expect(READERS, 200, anonymous=401)),
    ("GET", "/api/v1/vehicles/{vehicle}", None, expect(READERS, 200, anonymous=401)),
    ("PUT", "/api/v1/vehicles/{vehicle}", "vehicle", expect(ENT, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/vehicles/{vehicle}/archive",
        {"archived": True},
        expect(ENT, 200, anonymous=401),
    ),
    ("POST", "/api/v1/drivers", "new-driver", expect(ENT, 201, anonymous=401)),
    ("GET", "/api/v1/drivers", None, expect(READERS, 200, anonymous=401)),
    ("GET", "/api/v1/drivers/{driver}", None, expect(READERS, 200, anonymous=401)),
    ("PUT", "/api/v1/drivers/{driver}", "driver", expect(ENT, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/drivers/{driver}/archive",
        {"archived": True},
        expect(ENT, 200, anonymous=401),
    ),
    (
        "POST",
        "/api/v1/drivers/{driver}/whitelist",
        {"valid_until": LISTED_UNTIL, "note": "checked"},
        expect(REV, 200, anonymous=401),
    ),
    ("DELETE", "/api/v1/drivers/{driver}/whitelist", None, expect(REV, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/drivers/whitelist",
        "whitelist-bulk",
        expect(REV, 200, anonymous=401),
    ),
    ("POST", "/api/v1/passes", "application", expect(ENT, 201, anonymous=401)),
    ("GET", "/api/v1/passes", None, expect(READERS, 200, anonymous=401)),
    ("GET", "/api/v1/passes/{pass}", None, expect(READERS, 200, anonymous=401)),
    ("POST", "/api/v1/passes/{waiting}/approve", None, expect(REV, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/passes/{waiting}/reject",
        {"reason": "资料不全"},
        expect(REV, 200, anonymous=401),
    ),
    (
        "POST",
        "/api/v1/passes/{pass}/revoke",
        {"reason": "货物不符"},
        expect(REV, 200, anonymous=401),
    ),
    ("POST", "/api/v1/passes/{waiting}/cancel", None, expect(ENT, 200, anonymous=401)),
    ("POST", "/api/v1/passes/bulk-approve", "bulk", expect(REV, 200, anonymous=401)),
    ("GET", "/api/v1/passes/{pass}/qr.png", None, expect(READERS, 200, anonymous=401)),
    ("GET", "/api/v1/passes/{pass}/qr.svg", None, expect(READERS, 200, anonymous=401)),
    ("GET", "/api/v1/passes/{pass}/messages", None, expect(READERS, 200, anonymous=401)),
    ("GET", "/api/v1/passes/{pass}/journey", None, expect(READERS, 200, anonymous=401)),
    ("POST", "/api/v1/passes/{pass}/messages", None, expect(ENT | REV, 202, anonymous=401)),
    ("GET", "/api/v1/trust", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/api/v1/revocations", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/api/v1/health", None, expect(ALL, 200, anonymous=200)),
    ("GET", "/api/v1/ready", None, expect(ALL, 200, anonymous=200)),
    # Off without METRICS_TOKEN; with it, the token alone (tests/web/test_operations.py).
    ("GET", "/metrics", None, expect(ALL, 404, anonymous=404)),
    ("GET", "/api/v1/dashboard", None, expect(OVERSIGHT, 200, anonymous=401)),
    ("GET", "/api/v1/statistics", None, expect(READERS, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/checkpoints",
        {"code": "G-NEW", "name": "新卡口", "kind": "gate"},
        expect({"admin"}, 201, anonymous=401),
    ),
    ("GET", "/api/v1/checkpoints", None, expect(ALL, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/checkpoints/{checkpoint}/active",
        {"active": False},
        expect({"admin"}, 200, anonymous=401),
    ),
    ("POST", "/api/v1/checkpoints/site", None, expect(ENT, 201, anonymous=401)),
    ("POST", "/api/v1/scans", "scan", expect({"officer", "enterprise"}, 200, anonymous=401)),
    ("GET", "/api/v1/scans", None, expect(ALL, 200, anonymous=401)),
    ("GET", "/api/v1/scanner/passes", None, expect({"officer", "enterprise"}, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/scanner/report",
        "report",
        expect({"officer", "enterprise"}, 200, anonymous=401),
    ),
    (
        "POST",
        "/api/v1/scans/batch",
        "batch",
        expect({"officer", "enterprise"}, 200, anonymous=401),
    ),
    (
        "POST",
        "/api/v1/scans/{scan}/annul",
        {"reason": "read_twice"},
        {**expect({"officer", "supervisor"}, 200, anonymous=401), "enterprise": 404},
    ),
    ("GET", "/api/v1/trips", None, expect(READERS, 200, anonymous=401)),
    ("GET", "/api/v1/trips/{trip}", None, expect(READERS, 200, anonymous=401)),
    ("GET", "/api/v1/anomalies", None, expect(OVERSIGHT, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/anomalies/{anomaly}/resolve",
        {"note": "已处理"},
        expect({"supervisor"}, 200, anonymous=401),
    ),
    ("GET", "/api/v1/alerts", None, expect(OVERSIGHT, 200, anonymous=401)),
    ("PUT", "/api/v1/alerts", {"kinds": ["overstay"]}, expect(OVERSIGHT, 200, anonymous=401)),
    ("GET", "/api/v1/notifications", None, expect(READERS, 200, anonymous=401)),
    ("POST", "/api/v1/notifications/read", {}, expect(READERS, 200, anonymous=401)),
    ("GET", "/api/v1/arrivals", None, expect(ENT, 200, anonymous=401)),
    ("GET", "/api/v1/api-keys", None, expect({"admin", "enterprise"}, 200, anonymous=401)),
    (
        "POST",
        "/api/v1/api-keys",
        {"name": "ERP", "scopes": ["read"]},
        expect({"admin", "enterprise"}, 201, anonymous=401),
    ),
    # Only the enterprise's own: the administrator's are the jurisdiction's (not found).
    (
        "DELETE",
        "/api/v1/api-keys/{apikey}",
        None,
        {**expect({"enterprise"}, 200, anonymous=401), "admin": 404},
    ),
    (
        "PUT",
        "/api/v1/checkpoints/{checkpoint}/booking",
        {"capacity_per_hour": 4},
        expect({"admin"}, 200, anonymous=401),
    ),
    ("POST", "/api/v1/passes/{pass}/bookings", "booking", expect(ENT, 201, anonymous=401)),
    ("GET", "/api/v1/passes/{pass}/bookings", None, expect(ENT, 200, anonymous=401)),
    ("PATCH", "/api/v1/bookings/{booking}", "booking", expect(ENT, 200, anonymous=401)),
    ("DELETE", "/api/v1/bookings/{booking}", None, expect(ENT, 200, anonymous=401)),
    (
        "GET",
        "/api/v1/checkpoints/{checkpoint}/bookings",
        None,
        expect({"officer", *OVERSIGHT}, 200, anonymous=401),
    ),
    # the home enterprise receives its own trip, which has left: nobody to receive now
    ("POST", "/api/v1/trips/{trip}/escort", {"name": "王五"}, expect(ENT, 409, anonymous=401)),
]


@pytest.fixture
def world(make):
    home = make.enterprise(username="ent-home")
    pending = make.enterprise(status="pending", username="ent-pending")
    target = make.user("supervisor", username="target")
    gate = make.checkpoint("gate")
    users = {r.value: make.user(r.value) for r in Role if r not in (Role.ENTERPRISE, Role.OFFICER)}
    users["officer"] = make.officer(gate)
    users["enterprise"] = owner = make.enterprise_user(home)
    users["rival"] = make.enterprise_user(make.enterprise(username="ent-rival"))
    vehicle, driver = make.vehicle(owner), make.driver(owner)
    approved = make.pass_(enterprise=home, status="approved", max_trips=3)
    waiting = make.pass_(enterprise=home)
    booked = make.pass_(enterprise=home, status="approved")
    from checkpoints import scanning
    from checkpoints.models import Anomaly, Scan
    from checkpoints.schemas import ScanIn
    from tests.support import now
    from trust import keys, tokens
    from trust.context import sequencer

    with make.session() as session:
        # Leaving without an entry scan: a trip, a scan and a no_entry anomaly to point at.
        scanned = scanning.record(
            session,
            users["officer"],
            ScanIn(
                scan_id=uuid.uuid4(), checkpoint_id=gate.id, code=approved.code, direction="exit"
            ),
            keys=keys.trusted_keys(session, now()),
            clock=now,
        ).response
        anomaly = session.scalar(select(Anomaly.id))
        scan_pk = session.scalar(select(Scan.id).where(Scan.scan_id == scanned["scan_id"]))
        # The gate takes bookings, and the home enterprise has booked one of its passes.
        from checkpoints import bookings

        session.get(type(gate), gate.id).capacity_per_hour = 4
        session.commit()
        booking = bookings.book(
            session, owner, booked.id, bookings.Wanted(gate.id, next_hour(2)), now=now()
        ).id
        from accounts import keys as machine_keys

        apikey = machine_keys.create_key(session, owner, "ERP", ["read"], now=now())[1].id
    sequencer(make.app).tick()  # the audit log's entries so far, in a signed checkpoint
    return {
        "pending": pending.id,
        "user": target.id,
        "users": users,
        "vehicle": vehicle,
        "driver": driver,
        "pass": approved.id,
        "waiting": waiting.id,
        "gate": gate,
        "token": tokens.token_from_text(approved.code),
        "trip": scanned["trip"]["id"],
        "scan": scanned["scan_id"],
        "scanpk": scan_pk,
        "anomaly": anomaly,
        "booking": booking,
        "apikey": apikey,
        "code": approved.code,
        "plate": approved.vehicle.plate,
        "key": approved.driver_key,
    }


def fill(path, world):
    return path.format(
        pending=world["pending"],
        user=world["user"],
        vehicle=world["vehicle"].id,
        driver=world["driver"].id,
        waiting=world["waiting"],
        token=world["token"],
        fmt="csv",
        checkpoint=world["gate"].id,
        trip=world["trip"],
        scan=world["scan"],
        scanpk=world["scanpk"],
        anomaly=world["anomaly"],
        booking=world["booking"],
        apikey=world["apikey"],
        plate=world["plate"],
        key=world["key"],
        kind="trips",
        peer="310116",  # no such peer: the route is reached, the peer is not there
        **{"pass": world["pass"]},
    )


def body_for(body, world):
    """Bodies that depend on the world's rows."""
    vehicle, driver = world["vehicle"], world["driver"]
    if body == "vehicle":
        return {"plate": vehicle.plate, "vehicle_type": "van"}
    if body == "driver":
        return {"name": driver.name, "id_number": driver.id_number, "phone": driver.phone}
    if body == "new-driver":  # born on another day than the factory's drivers: never taken
        from fleet.domain import id_check_char

        stem = "33048219850505123"
        return {"name": "新司机", "id_number": stem + id_check_char(stem), "phone": "13700000001"}
    if body == "application":
        from tests.support import application

        return application(vehicle.id, driver.id)
    if body == "bulk":
        return {"ids": [world["waiting"]]}
    if body == "scan":
        return {
            "scan_id": str(uuid.uuid4()),
            "checkpoint_id": world["gate"].id,
            "code": world["code"],
        }
    if body == "report":
        return {"device_id": str(uuid.uuid4()), "queued": 0}
    if body == "batch":
        scan = body_for("scan", world)
        return {"items": [{**scan, "offline": True, "decision": "deny", "scanned_at": now_iso()}]}
    if body == "signup":
        return signup_body()
    if body == "whitelist-bulk":  # the world's driver, whatever id the database gave it
        return {"driver_ids": [world["driver"].id], "valid_until": LISTED_UNTIL}
    if body == "booking":
        return {"checkpoint_id": world["gate"].id, "slot_start": next_hour(3).isoformat()}
    if isinstance(body, dict):
        return {k: fill(v, world) if isinstance(v, str) else v for k, v in body.items()}
    return body


def next_hour(hours):
    from datetime import timedelta

    from tests.support import now

    return now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


def now_iso():
    from tests.support import now

    return now().isoformat()


def signup_body():
    from tests.support import credit_code

    return {
        "name": "新公司",
        "credit_code": credit_code(),
        "contact_name": "李",
        "contact_phone": "13700000000",
        "admin_username": "newent",
        "admin_password": PASSWORD,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), PAGES, ids=[f"{m} {p}" for m, p, *_ in PAGES]
)
def test_pages(client, world, role, method, path, body, expected):
    expected = {**expected, "rival": rival(method, path, body, expected)}
    if role != "anonymous":
        login(client, world["users"][role].username)
    url = fill(path, world)
    response = client.get(url) if method == "GET" else post_form(client, url, body_for(body, world))
    assert response.status_code == expected[role], response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), API, ids=[f"{m} {p}" for m, p, *_ in API]
)
def test_api(client, world, role, method, path, body, expected):
    expected = {**expected, "rival": rival(method, path, body, expected)}
    headers = {} if role == "anonymous" else api_token(client, world["users"][role].username)
    response = client.open(
        fill(path, world), method=method, json=body_for(body, world), headers=headers
    )
    assert response.status_code == expected[role], response.get_json()


def test_every_route_is_in_the_table(app):
    def shape(path):
        return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path.partition("?")[0])

    covered = {(m, shape(p)) for m, p, *_ in PAGES + API}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "accounts.switch_language"):
            continue
        path = shape(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, path) not in covered:
                missing.append(f"{method} {path}")
    assert missing == [], "routes without an access expectation"


@pytest.mark.parametrize("how", ["code", "typed"])
def test_a_rival_scanning_at_its_own_site_learns_only_what_the_public_page_shows(
    client, world, make, how
):
    """Any approved enterprise may open a site of its own and scan, or type, any pass."""
    rival = world["users"]["rival"]
    from accounts.models import Enterprise

    with make.session() as session:
        enterprise = session.get(Enterprise, rival.enterprise_id)
    site = make.checkpoint("site", enterprise)
    headers = api_token(client, rival.username)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": site.id}
    if how == "code":
        body["code"] = world["code"]
    else:
        number = client.get(
            f"/api/v1/passes/{world['pass']}",
            headers=api_token(client, world["users"]["enterprise"].username),
        ).get_json()["number"]
        body |= {"number": number, "plate": world["plate"]}
    answer = client.post("/api/v1/scans", json=body, headers=headers).get_json()
    assert (answer["decision"], answer["reasons"]) == ("deny", ["wrong_destination"])
    shown = {k for k, v in answer["pass"].items() if v is not None}
    public = {"number", "plate", "driver_name", "destination_enterprise", "valid_until"}
    assert shown == public | {"issuer"}
    assert "*" in answer["pass"]["driver_name"]
