"""The scanner when the server does not answer, in Chromium at 360x740 with a fake camera
filming real pass codes: the phone decides (WebCrypto signature, its clock, the signed
revocation list), shows an offline band, queues the scan, and syncs it when the network
returns; the trip then carries the phone's time and the scan is marked offline."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from checkpoints.models import Scan, Trip
from tests.browser.conftest import PHONE, Screen
from tests.browser.test_scanner import open_scanner
from tests.support import api_token

pytestmark = pytest.mark.browser


def wait_status(s, present, text, timeout=20.0):
    """Until the network line does (or does not) say `text` (no eval: the page's CSP)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (text in s.page.locator("#net-status").inner_text()) == present:
            return
        s.page.wait_for_timeout(100)
    raise AssertionError(f"network line: {s.page.locator('#net-status').inner_text()!r}")


def scans_fail(route, request):
    """The server does not answer scans (the lists still load)."""
    if request.method == "POST" and request.url.endswith("/api/v1/scans"):
        route.abort("timedout")
    else:
        route.continue_()


def offline_scanner(camera_browser, live_server, officer, code, name):
    import os

    context = camera_browser(code).new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    # SCANNER_CPU_THROTTLE=4 measures as on a slow phone (Chrome's 4x CPU slowdown).
    throttle = float(os.environ.get("SCANNER_CPU_THROTTLE", "1"))
    if throttle > 1:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    page.route("**/api/v1/scans*", scans_fail)
    s = Screen(page, name)
    open_scanner(s, live_server, officer)
    wait_status(s, True, "名单")
    return context, s


@pytest.fixture
def post(make):
    destination = make.enterprise()
    gate = make.checkpoint("gate")
    return {
        "pass": make.pass_(status="approved", destination_enterprise_id=destination.id),
        "gate": gate,
        "officer": make.officer(gate),
    }


def test_a_valid_code_offline_is_green_queued_and_synced(
    camera_browser, live_server, post, db, client, make
):
    p = post["pass"]
    context, s = offline_scanner(
        camera_browser, live_server, post["officer"], p.code, "offline-valid"
    )
    s.page.wait_for_selector("#result.result-allow", timeout=20_000)
    assert s.page.locator("#offline-band").is_visible()
    assert s.page.locator("#plate").inner_text() == p.vehicle.plate  # from the token
    frame_to_verdict = int(s.page.locator("#scanner").get_attribute("data-last-verdict-ms"))
    stored = s.page.evaluate("navigator.storage.estimate().then((e) => e.usage)")
    print(f"offline: camera frame to verdict {frame_to_verdict} ms; stored {stored} bytes")
    assert frame_to_verdict < 5000
    assert s.page.locator("#event").inner_text() == "进入"
    wait_status(s, True, "待同步")
    s.shot("verdict")
    # The failed requests are the simulated outage, logged by the browser itself.
    s.console_errors = [e for e in s.console_errors if "net::ERR_" not in e]
    s.assert_fits()
    context.set_offline(True)
    db.rollback()
    assert db.scalars(select(Scan)).all() == []  # nothing reached the server yet
    # The network returns: the queue empties into the record.
    s.page.unroute("**/api/v1/scans*")
    context.set_offline(False)
    wait_status(s, False, "待同步")
    db.rollback()
    [scan] = db.scalars(select(Scan)).all()
    assert scan.offline
    trip = db.scalars(select(Trip).where(Trip.pass_id == p.id)).one()
    assert trip.state == "entered"
    assert abs((trip.entered_at - scan.scanned_at).total_seconds()) < 1
    # As a supervisor's client sees it: the trip at the phone's time, the scan offline.
    headers = api_token(client, make.user("supervisor").username)
    [listed] = client.get(f"/api/v1/trips?number={p.number}", headers=headers).get_json()["items"]
    assert abs(datetime.fromisoformat(listed["entered_at"]) - scan.scanned_at) < timedelta(
        seconds=1
    )
    scans = client.get("/api/v1/scans", headers=headers).get_json()["items"]
    assert [s["offline"] for s in scans] == [True]
    context.close()


def test_a_revoked_code_offline_is_red(camera_browser, live_server, make, post):
    revoked = make.pass_(status="revoked")
    context, s = offline_scanner(
        camera_browser, live_server, post["officer"], revoked.code, "offline-revoked"
    )
    s.page.wait_for_selector("#result.result-deny", timeout=20_000)
    assert s.page.locator("#offline-band").is_visible()
    assert "吊销" in s.page.locator("#reasons").inner_text()
    context.close()


def test_a_forged_code_offline_is_red(camera_browser, live_server, post):
    from trust import tokens

    code = post["pass"].code
    token = tokens.token_from_text(code)
    forged = code.replace(token, token[:60] + ("A" if token[60] != "A" else "B") + token[61:])
    context, s = offline_scanner(
        camera_browser, live_server, post["officer"], forged, "offline-forged"
    )
    s.page.wait_for_selector("#result.result-deny", timeout=20_000)
    assert "签名不符" in s.page.locator("#reasons").inner_text()
    context.close()


def test_stale_lists_give_amber_never_green(app, camera_browser, live_server, post):
    app.config["SCANNER_LIST_MAX_AGE_HOURS"] = 0
    context, s = offline_scanner(
        camera_browser, live_server, post["officer"], post["pass"].code, "offline-stale"
    )
    s.page.wait_for_selector("#result.result-amber", timeout=20_000)
    assert s.page.locator("#stale-band").is_visible()
    s.shot("amber")
    context.close()


def test_the_scanner_opens_with_no_network_after_one_online_visit(live_server, screen, post):
    s = screen(PHONE)
    open_scanner(s, live_server, post["officer"])
    s.page.wait_for_selector("#scanner[data-offline-ready=true]", timeout=20_000)
    wait_status(s, True, "名单")
    s.page.context.set_offline(True)
    s.page.reload()
    s.page.wait_for_selector("#scanner")
    wait_status(s, True, "离线")
    assert s.page.locator("#manual").is_visible()
    s.shot("reloaded-offline")
    s.page.context.set_offline(False)


def test_a_number_typed_offline_is_found_in_the_kept_list_its_plate_left_to_the_server(
    live_server, screen, post
):
    """The kept list holds no plates (it is no plate register): a typed number is found
    offline, the verdict is amber and says the plate was not checked."""
    p = post["pass"]
    s = screen(PHONE)
    s.page.route("**/api/v1/scans*", scans_fail)
    open_scanner(s, live_server, post["officer"])
    wait_status(s, True, "名单")
    s.page.context.set_offline(True)
    s.page.fill("#m-number", p.number)
    s.page.fill("#m-plate", p.vehicle.plate.lower())
    s.page.click("#m-submit")
    s.page.wait_for_selector("#result.result-amber")
    assert s.page.locator("#offline-band").is_visible()
    assert "车牌未核对" in s.page.locator("#plate-band").inner_text()
    assert s.page.locator("#verdict").inner_text() == "核对车牌后放行"  # not a plain 放行
    assert s.page.locator("#plate").inner_text() == p.vehicle.plate
    s.shot("typed-offline-plate-unchecked")
    s.page.click("#next")
    s.page.fill("#m-number", "330482999999")
    s.page.fill("#m-plate", "浙A00000")
    s.page.click("#m-submit")
    s.page.wait_for_selector("#result.result-deny")
    assert "不存在" in s.page.locator("#reasons").inner_text()
    s.page.click("#next")
    # Back online the phone uploads what it queued: let it finish before the test's
    # database is emptied, or the upload races the teardown.
    s.page.context.set_offline(False)
    wait_status(s, False, "待同步")


def test_two_offline_gates_admitting_one_pass_make_one_trip_and_a_conflict(
    camera_browser, live_server, make, post, db
):
    from checkpoints.models import Anomaly

    p = post["pass"]
    second_gate = make.checkpoint("gate")
    other = make.officer(second_gate)
    browser = camera_browser(p.code)
    phones = []
    for officer, name in ((post["officer"], "gate-a"), (other, "gate-b")):
        context = browser.new_context(viewport=PHONE, locale="zh-CN")
        page = context.new_page()
        page.route("**/api/v1/scans*", scans_fail)
        s = Screen(page, f"offline-two-{name}")
        open_scanner(s, live_server, officer)
        s.page.wait_for_selector("#result.result-allow", timeout=20_000)
        assert s.page.locator("#offline-band").is_visible()
        wait_status(s, True, "待同步")
        phones.append((context, s))
    for context, s in phones:  # the network returns to both
        s.page.unroute("**/api/v1/scans*")
        context.set_offline(True)
        context.set_offline(False)
        wait_status(s, False, "待同步")
    db.rollback()
    assert len(db.scalars(select(Trip).where(Trip.pass_id == p.id)).all()) == 1
    assert db.scalars(select(Anomaly.kind).where(Anomaly.pass_id == p.id)).all() == [
        "offline_conflict"
    ]
    assert all(s.offline for s in db.scalars(select(Scan)))
    for context, _s in phones:
        context.close()


def test_a_tampered_list_is_refused_and_a_wrong_clock_is_flagged(live_server, screen, make, post):
    import json
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    revoked = make.pass_(status="revoked")
    s = screen(PHONE)
    open_scanner(s, live_server, post["officer"])
    wait_status(s, True, "名单")
    kept = s.page.evaluate("async () => (await window.ScannerOffline.refreshLists()).lists.revoked")
    assert str(revoked.id) in kept

    def tampered(route, request):
        body = json.loads(route.fetch().text())
        body["ctr"] += 100  # skip ahead, so the phone would never ask for what came between
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    s.page.route("**/api/v1/revocations*", tampered)
    answer = s.page.evaluate("async () => window.ScannerOffline.refreshLists()")
    assert answer == {"ok": False, "reason": "bad_list_signature"}
    s.page.unroute("**/api/v1/revocations*")

    def clock_off(route, request):
        response = route.fetch()
        late = datetime.now(UTC) + timedelta(minutes=12)
        route.fulfill(
            response=response,
            headers={**response.headers, "date": format_datetime(late, usegmt=True)},
        )

    s.page.route("**/api/v1/trust", clock_off)
    s.page.evaluate("async () => window.ScannerOffline.refreshLists()")
    s.page.reload()
    s.page.wait_for_selector("#clock-warning", state="visible")
    assert "12" in s.page.locator("#clock-warning").inner_text()
    # The kept list still holds the revocation the tampered copy tried to remove.
    still = s.page.evaluate(
        "async () => (await window.ScannerOffline.refreshLists()).lists.revoked"
    )
    assert str(revoked.id) in still
