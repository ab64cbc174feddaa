"""The gate's record on the officer's phone, in Chromium at 360 px with a fake camera: "OK,
next vehicle" with the code still in view records nothing more; a code that leaves and
comes back within REPEAT_SCAN_SECONDS is "already recorded"; the officer undoes the last
scan with a reason; the phone's queue is its officer's (another user's sign-in never sends
it, and signing out asks first); the supervisor annuls from the trip's page."""

import pytest
from PIL import Image
from sqlalchemy import func, select

from checkpoints.models import Scan, Trip
from tests.browser.camera import HEIGHT, WIDTH, qr_frame
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, Screen
from tests.browser.test_offline_scanner import scans_fail, wait_status
from tests.browser.test_scanner import open_scanner
from tests.support import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def post(app, make):
    app.config["REPEAT_SCAN_SECONDS"] = 120
    destination = make.enterprise()
    gate = make.checkpoint("gate")
    return {
        "pass": make.pass_(status="approved", destination_enterprise_id=destination.id),
        "destination": destination,
        "gate": gate,
        "officer": make.officer(gate),
    }


def blinking_video(text, path, on=15, off=15):
    """The code in view for `on` frames, then an empty frame for `off` (10 frames a second),
    looped by Chromium: a driver's phone held up, taken away, held up again."""
    code, empty = qr_frame(text), Image.new("RGB", (WIDTH, HEIGHT), "white")
    planes = []
    for frame in (code, empty):
        y, u, v = frame.convert("YCbCr").split()
        half = (WIDTH // 2, HEIGHT // 2)
        planes.append(y.tobytes() + u.resize(half).tobytes() + v.resize(half).tobytes())
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for plane, count in ((planes[0], on), (planes[1], off)):
            for _ in range(count):
                out.write(b"FRAME\n" + plane)
    return path


def sign_out(s):
    """The menu folds at phone width: open it, then sign out."""
    button = s.page.locator("nav form[action$='/logout'] button")
    if not button.is_visible():
        s.page.click(".nav-toggle")
    button.click()


def synced(s, db, count=1, timeout=20.0):
    """Until the phone's queue has reached the server (the network line can be empty, so
    not saying "to sync", before the page has looked at its queue)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = scans(db)
        if len(found) >= count:
            return found
        s.page.wait_for_timeout(200)
    raise AssertionError(f"not synced: {s.page.locator('#net-status').inner_text()!r}")


def scans(db):
    db.rollback()
    return db.scalars(select(Scan).order_by(Scan.id)).all()


def test_next_with_the_code_still_in_view_records_one_scan(camera_browser, live_server, post, db):
    context = camera_browser(post["pass"].code).new_context(viewport=PHONE, locale="zh-CN")
    s = Screen(context.new_page(), "gate-code-in-view")
    open_scanner(s, live_server, post["officer"])
    s.page.wait_for_selector("#result.result-allow", timeout=20_000)
    assert s.page.locator("#event").inner_text() == "进入"
    s.page.click("#next")  # the driver's phone is still in front of the camera
    s.page.wait_for_timeout(6000)
    assert s.page.locator("#result").is_hidden()
    assert "移开" in s.page.locator("#camera-status").inner_text()
    [only] = scans(db)
    assert only.event == "entry"
    assert db.scalars(select(Trip.state)).all() == ["entered"]
    s.assert_fits()
    context.close()


def test_a_code_that_leaves_and_returns_is_already_recorded(
    playwright, tmp_path, live_server, post, db
):
    video = blinking_video(post["pass"].code, tmp_path / "blink.y4m")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    s = Screen(context.new_page(), "gate-repeat")
    open_scanner(s, live_server, post["officer"])
    s.page.wait_for_selector("#result.result-allow", timeout=20_000)
    s.page.click("#next")
    s.page.wait_for_selector("#repeat-band", state="visible", timeout=20_000)
    assert s.page.locator("#event").inner_text() == "进入"  # the first scan's answer
    s.shot("repeat-verdict")
    first, again = scans(db)
    assert (first.event, again.event, again.reasons) == ("entry", "none", ["repeat"])
    assert db.scalar(select(func.count()).select_from(Trip)) == 1
    s.assert_fits()
    browser.close()


def test_the_officer_undoes_the_last_scan_with_a_reason(live_server, screen, post, db):
    s = screen(PHONE, "gate-undo")
    open_scanner(s, live_server, post["officer"])
    p = post["pass"]
    s.page.fill("#m-number", p.number)
    s.page.fill("#m-plate", p.vehicle.plate)
    s.page.click("#m-submit")
    s.page.wait_for_selector("#result.result-allow")
    s.page.click("#next")
    s.page.click("#undo-last")
    assert p.vehicle.plate in s.page.locator("#undo-what").inner_text()
    s.page.click("#undo-confirm")  # no reason picked yet: it asks for one
    assert s.page.locator("#undo-error").is_visible()
    s.page.check('input[name="undo-reason"][value="read_twice"]')
    s.page.fill("#undo-note", "司机手机反光")
    s.shot("undo")
    s.assert_fits()
    s.page.click("#undo-confirm")
    s.page.wait_for_selector("#history li.struck")
    assert "重复扫码" in s.page.locator("#history").inner_text()
    assert s.page.locator("#undo-last").is_hidden()
    s.shot("undone")
    db.rollback()
    assert db.scalars(select(Trip.state)).all() == ["void"]
    annulment = db.scalars(select(Scan).where(Scan.event == "annul")).one()
    assert (annulment.reasons, annulment.note) == (["read_twice"], "司机手机反光")


def test_the_offline_queue_is_its_officers(live_server, screen, make, post, db):
    other = make.officer(post["gate"])
    s = screen(PHONE, "gate-queue-owner")
    s.page.route("**/api/v1/scans*", scans_fail)
    open_scanner(s, live_server, post["officer"])
    wait_status(s, True, "名单")
    p = post["pass"]
    s.page.fill("#m-number", p.number)  # typed by hand, found in the kept list
    s.page.fill("#m-plate", p.vehicle.plate)
    s.page.click("#m-submit")
    s.page.wait_for_selector("#result.result-amber", timeout=20_000)
    wait_status(s, True, "1 条待同步")
    # The driver's masked name and the destination, from the kept list.
    assert "*" in s.page.locator("#r-driver").inner_text()
    assert s.page.locator("#r-destination").inner_text() == post["destination"].name
    s.shot("offline-verdict")
    s.page.click("#next")
    # Signing out with a scan unsent asks first; declined, nothing happens.
    asked = []
    s.page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    sign_out(s)
    s.page.wait_for_timeout(500)
    assert asked
    assert "1" in asked[0]
    assert s.page.url.endswith("/scan")
    s.page.once("dialog", lambda d: d.accept())
    sign_out(s)
    s.page.wait_for_url("**/login")
    # Another officer signs in on the same phone with the network back: nothing of the
    # first officer's is sent as theirs.
    s.page.unroute("**/api/v1/scans*")
    s.page.fill("#username", other.username)
    s.page.fill("#password", PASSWORD)
    s.page.click("#submit")
    s.page.goto(f"{live_server}/scan")
    wait_status(s, True, "名单")
    s.page.wait_for_timeout(1500)
    assert "待同步" not in s.page.locator("#net-status").inner_text()
    assert scans(db) == []
    s.page.once("dialog", lambda d: d.accept())
    sign_out(s)
    s.page.wait_for_url("**/login")
    # The first officer again: their scan goes, under their name.
    s.page.fill("#username", post["officer"].username)
    s.page.fill("#password", PASSWORD)
    s.page.click("#submit")
    s.page.goto(f"{live_server}/scan")
    [sent] = synced(s, db)
    wait_status(s, False, "待同步")
    assert (sent.offline, sent.officer_id) == (True, post["officer"].id)
    s.page.wait_for_selector("#history li.allow")
    assert "离线" in s.page.locator("#history").inner_text()  # at the phone's time, marked
    s.console_errors = [e for e in s.console_errors if "net::ERR_" not in e]  # the outage


def test_the_supervisor_annuls_a_scan_from_the_trips_page(
    live_server, screen, client, make, post, db
):
    import uuid

    from tests.support import api_token

    officer = api_token(client, post["officer"].username)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": post["gate"].id}
    entry = client.post("/api/v1/scans", json={**body, "code": post["pass"].code}, headers=officer)
    trip_id = entry.get_json()["trip"]["id"]
    supervisor = make.user("supervisor")
    s = screen(PHONE, "trip-annul")
    s.page.goto(f"{live_server}/login")
    s.page.fill("#username", supervisor.username)
    s.page.fill("#password", PASSWORD)
    s.page.click("#submit")
    s.page.goto(f"{live_server}/trips/{trip_id}")
    s.page.click("details.annul-form summary")
    s.page.select_option("details.annul-form select", "wrong_vehicle")
    s.page.fill("details.annul-form input[name='note']", "车牌识别有误")
    s.shot("form")
    s.assert_fits()
    s.page.once("dialog", lambda d: d.accept())
    s.page.click("details.annul-form button")
    s.page.wait_for_selector(".tl-annulled")
    assert "扫错车辆" in s.page.locator(".timeline").inner_text()
    s.shot("annulled")
    db.rollback()
    assert db.get(Trip, trip_id).state == "void"


def test_a_kept_phone_syncs_its_queue_after_the_browser_restarts(
    playwright, tmp_path, live_server, post, db
):
    """Chromium closed and opened again on the same profile (its session cookie gone, its
    IndexedDB kept): the officer is signed in from the kept cookie, and the scan queued
    offline before the restart syncs without anyone typing a password."""
    profile = tmp_path / "profile"

    def launch():
        return playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            viewport=PHONE,
            locale="zh-CN",
        )

    context = launch()
    s = Screen(context.pages[0] if context.pages else context.new_page(), "gate-kept-phone")
    s.page.route("**/api/v1/scans*", scans_fail)
    s.page.goto(f"{live_server}/login")
    s.page.fill("#username", post["officer"].username)
    s.page.fill("#password", PASSWORD)
    s.page.check("#keep")
    s.shot("sign-in")
    s.page.click("#submit")
    s.page.wait_for_url(f"{live_server}/")
    s.page.goto(f"{live_server}/scan")
    wait_status(s, True, "名单")
    p = post["pass"]
    s.page.fill("#m-number", p.number)
    s.page.fill("#m-plate", p.vehicle.plate)
    s.page.click("#m-submit")
    s.page.wait_for_selector("#result.result-amber", timeout=20_000)
    wait_status(s, True, "1 条待同步")
    context.close()  # the browser is closed: its session cookie goes with it
    assert scans(db) == []
    context = launch()
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{live_server}/scan")
    assert page.url.endswith("/scan")  # no sign-in page
    s = Screen(page, "gate-kept-phone-after")
    [sent] = synced(s, db)
    wait_status(s, False, "待同步")
    assert (sent.offline, sent.officer_id) == (True, post["officer"].id)
    context.close()
