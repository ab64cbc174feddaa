"""The whole journey through pages only, as its users live it, at phone and desktop width,
in Chinese and in English: an enterprise signs up, an admin approves it, it registers a truck
and a driver and applies naming the crew's station; a reviewer approves; the enterprise
books an hour at the gate and its consignee's board shows the truck expected; the SMS
carries the link to a green status page; the gate officer films the pass's QR PNG with the
camera (entry, in the priority lane for a booked truck; the gate's day shows it came), the
consignee sees it inside, the station's officer films it (a stop), the destination films it
at its site (arrival), the gate films it again (exit); a supervisor finds the trip by plate
and sees the closed loop with its stop, that the truck is no longer inside, and the audit
log (verified, exported); the admin sees the signing key. Screenshots of each step go to
test-artifacts/."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.camera import png_video
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, Screen
from tests.support import PASSWORD, credit_code, id_number, now
from trust.context import sequencer

pytestmark = pytest.mark.browser

WORDS = {
    "zh_CN": {
        "allow": "放行",
        "entry": "进入",
        "arrival": "到达",
        "exit": "离开",
        "stop": "站点停靠",
        "priority": "优先通道",
    },
    "en": {
        "allow": "ALLOW",
        "entry": "Entry",
        "arrival": "Arrival",
        "exit": "Exit",
        "stop": "Stop at a station",
        "priority": "Priority lane",
    },
}


def local(moment):
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


class Journey:
    def __init__(self, browser, base, viewport, lang, label):
        self.browser, self.base, self.viewport = browser, base, viewport
        self.lang, self.label = lang, label
        self.contexts = []

    def open(self, who, browser=None):
        context = (browser or self.browser).new_context(viewport=self.viewport)
        self.contexts.append(context)
        s = Screen(context.new_page(), f"journey-{self.label}-{who}")
        s.page.goto(f"{self.base}/lang/{self.lang}?next=/login")
        return s

    def sign_in(self, s, username, password=PASSWORD):
        s.page.fill("#username", username)
        s.page.fill("#password", password)
        s.page.click("#submit")
        s.page.wait_for_url(f"{self.base}/")

    def step(self, s, name):
        s.assert_fits()
        return s.shot(name)

    def close(self):
        for context in self.contexts:
            context.close()


def scan_with_camera(journey, s, event, lang, *, navigate=True):
    """The scanner opens the camera at once; the filmed code gives a verdict by itself
    (without `navigate`, on the scanner page already open: its camera may have filmed the
    code already, and a second page would only hear that the arrival is recorded)."""
    answers = []

    def keep(response):
        if "/api/v1/scans" in response.url and response.request.method == "POST":
            answers.append((response.status, response.text()[:300]))

    s.page.on("response", keep)
    if navigate:
        s.page.goto(f"{journey.base}/scan")
    s.page.wait_for_selector("#result.result-allow", timeout=30_000)
    assert s.page.locator("#verdict").inner_text() == WORDS[lang]["allow"]
    assert s.page.locator("#event").inner_text() == WORDS[lang][event], answers


@pytest.mark.parametrize(
    ("viewport", "lang"),
    [(PHONE, "zh_CN"), (PHONE, "en"), (DESKTOP, "zh_CN"), (DESKTOP, "en")],
    ids=["phone-zh", "phone-en", "desktop-zh", "desktop-en"],
)
def test_whole_journey_through_the_pages(
    playwright, browser, live_server, make, tmp_path, viewport, lang
):
    label = f"{'phone' if viewport == PHONE else 'desktop'}-{lang}"
    admin, reviewer, supervisor = make.user("admin"), make.user("reviewer"), make.user("supervisor")
    gate, station = make.checkpoint("gate"), make.checkpoint("station")
    with make.session() as session:  # the gate takes bookings (the admin's page, tested apart)
        session.get(type(gate), gate.id).capacity_per_hour = 5
        session.commit()
    officer, station_officer = make.officer(gate), make.officer(station)
    destination = make.enterprise()
    receiver = make.enterprise_user(destination)
    j = Journey(browser, live_server, viewport, lang, label)
    runs = ["phone-zh_CN", "phone-en", "desktop-zh_CN", "desktop-en"]
    plate = f"浙F7000{runs.index(label) + 1}"
    name = f"平湖旅程物流{label}有限公司"
    try:
        # 1. The enterprise signs up.
        clerk = j.open("enterprise")
        clerk.page.goto(f"{live_server}/signup")
        clerk.page.fill("#name", name)
        clerk.page.fill("#credit_code", credit_code())
        clerk.page.fill("#contact_name", "钱七")
        clerk.page.fill("#contact_phone", "13912345678")
        clerk.page.fill("#admin_username", f"clerk-{label}")
        clerk.page.fill("#admin_password", "Journey-pass-1")
        j.step(clerk, "01-signup")
        clerk.page.click("#submit")
        clerk.page.wait_for_url(f"{live_server}/login?username=*")
        assert clerk.page.input_value("#username") == f"clerk-{label}".lower()  # carried over

        # 2. An admin approves it.
        boss = j.open("admin")
        j.sign_in(boss, admin.username)
        boss.page.goto(f"{live_server}/admin/enterprises?status=pending")
        row = boss.page.locator("tr", has_text=name)
        row.locator("button.primary").click()
        expect(boss.page.locator(".flashes")).to_contain_text(name)
        j.step(boss, "02-enterprise-approved")

        # 3. It registers a truck and a driver and applies for a pass.
        j.sign_in(clerk, f"clerk-{label}", "Journey-pass-1")
        clerk.page.goto(f"{live_server}/fleet/vehicles")
        clerk.page.fill("#plate", plate.lower())
        clerk.page.select_option("#vehicle_type", "heavy_truck")
        clerk.page.click("#submit")
        expect(clerk.page.locator("table.list")).to_contain_text(plate)
        j.step(clerk, "03-vehicle")
        clerk.page.goto(f"{live_server}/fleet/drivers")
        clerk.page.fill("#name", "孙八")
        clerk.page.fill("#id_number", id_number(900 + len(label)))
        clerk.page.fill("#phone", "13700001111")
        clerk.page.click("#submit")
        expect(clerk.page.locator("table.list")).to_contain_text("孙八")
        clerk.page.goto(f"{live_server}/passes/new")
        clerk.page.select_option("#vehicle_id", label=plate)
        clerk.page.select_option("#driver_id", label="孙八")
        clerk.page.select_option("#destination_enterprise_id", label=destination.name)
        clerk.page.fill("#origin", "平湖市独山港镇")
        clerk.page.fill("#cargo", "钢材")
        clerk.page.select_option("#category", "raw_materials")
        start = now() - timedelta(minutes=1)
        clerk.page.fill("#valid_from", local(start))
        clerk.page.fill("#valid_until", local(start + timedelta(days=2)))
        clerk.page.locator("#stations input[type=checkbox]").check()  # the crew's station
        j.step(clerk, "04-apply")
        clerk.page.click("#submit")
        number = clerk.page.locator("h1 code").inner_text()
        pass_url = clerk.page.url

        # 4. A reviewer approves; the QR is issued.
        review = j.open("reviewer")
        j.sign_in(review, reviewer.username)
        review.page.goto(f"{live_server}/review")
        review.page.locator("tr", has_text=number).locator("a.button").click()
        j.step(review, "05-review")
        with review.page.expect_navigation():  # to the next waiting, or the queue
            review.page.click("#approve")
        review.page.goto(pass_url)
        qr = review.page.locator("img.qr")
        for _ in range(100):  # the image loads after the page
            if qr.evaluate("i => i.complete && i.naturalWidth") > 0:
                break
            review.page.wait_for_timeout(100)
        assert qr.evaluate("i => i.naturalWidth") > 0
        j.step(review, "06-approved")
        png_href = review.page.locator("a[download]").get_attribute("href")
        png = review.page.request.get(f"{live_server}{png_href}")
        assert png.headers["content-type"] == "image/png"
        video = png_video(png.body(), tmp_path / f"{label}.y4m")

        # 4b. The enterprise books an hour at the gate; its consignee sees the truck coming.
        clerk.page.goto(pass_url)
        clerk.page.click("#book-hour")
        clerk.page.select_option(
            "#checkpoint_id",
            label=f"{gate.name}（每小时 5 辆）"
            if lang == "zh_CN"
            else f"{gate.name} (5 trucks an hour)",
        )
        clerk.page.locator("#booking-form button").click()
        expect(clerk.page.locator("#booking-waiting")).to_contain_text(gate.name)
        j.step(clerk, "07a-booking")
        board = j.open("consignee")
        j.sign_in(board, receiver.username)
        board.page.goto(f"{live_server}/arrivals")
        card = board.page.locator("li.arrival", has_text=plate)
        expect(card).to_contain_text(gate.name)  # expected, in its booked hour
        j.step(board, "07b-consignee-expected")

        # 5. The SMS went out (console backend); its short link opens the driver's pass.
        clerk.page.goto(pass_url)
        body = clerk.page.locator("#messages .sms-body").first.inner_text()
        assert number in body
        j.step(clerk, "07-sms")
        link = body[body.index("http://") :].split()[0]
        driver = j.open("driver")
        driver.page.goto(link.replace("http://127.0.0.1:5000", live_server))
        expect(driver.page.locator("#driver-pass")).to_have_class("driver-pass driver-valid")
        assert plate in driver.page.locator("#driver-pass").inner_text()
        j.step(driver, "08-status-page")

        # 6. Gate entry, site arrival, gate exit: each by the camera filming the PNG.
        camera = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
        )
        try:
            gate_phone = j.open("gate", camera)
            j.sign_in(gate_phone, officer.username)
            scan_with_camera(j, gate_phone, "entry", lang)
            assert gate_phone.page.locator("#plate").inner_text() == plate
            # booked: the priority lane, large on the verdict
            expect(gate_phone.page.locator("#lane-band")).to_contain_text(WORDS[lang]["priority"])
            j.step(gate_phone, "09-gate-entry")
            gate_phone.page.click("#next")  # the code stays in view: held, not read again
            gate_phone.page.locator(".day-link a").click()  # the gate's day, from the scanner
            here = now().astimezone(ZoneInfo("Asia/Shanghai"))
            booked = here.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            if booked.date() != here.date():  # booked after local midnight: tomorrow's list
                gate_phone.page.click(".day-nav a[rel=next]")
            expect(gate_phone.page.locator("li.booking", has_text=plate)).to_have_class(
                "card booking booking-arrived"
            )
            j.step(gate_phone, "09a-gate-bookings")
            gate_phone.page.context.close()

            # The consignee is told the truck is inside.
            board.page.goto(f"{live_server}/arrivals?state=inside")
            expect(board.page.locator("li.arrival", has_text=plate)).to_be_visible()
            j.step(board, "09b-consignee-inside")

            stop_phone = j.open("station", camera)
            j.sign_in(stop_phone, station_officer.username)
            scan_with_camera(j, stop_phone, "stop", lang)
            j.step(stop_phone, "09c-station-stop")
            stop_phone.page.context.close()

            site_phone = j.open("site", camera)
            j.sign_in(site_phone, receiver.username)
            site_phone.page.goto(f"{live_server}/scan")
            site_phone.page.locator("form[action$='/scan/site'] button").click()
            scan_with_camera(j, site_phone, "arrival", lang, navigate=False)
            j.step(site_phone, "10-site-arrival")
            site_phone.page.context.close()

            gate_again = j.open("gate-exit", camera)
            j.sign_in(gate_again, officer.username)
            scan_with_camera(j, gate_again, "exit", lang)
            j.step(gate_again, "11-gate-exit")
            gate_again.page.context.close()
        finally:
            camera.close()

        # 7. The supervisor finds the trip by plate and sees the closed loop.
        watch = j.open("supervisor")
        j.sign_in(watch, supervisor.username)
        watch.page.goto(f"{live_server}/trips")
        watch.page.fill("#s-plate", plate[:4])
        watch.page.press("#s-plate", "Enter")
        row = watch.page.locator("table.list tr", has_text=plate)
        expect(row).to_have_count(1)
        j.step(watch, "12-trip-search")
        row.locator("a.button").click()
        expect(watch.page.locator(".badge.trip-exited")).to_be_visible()
        events = watch.page.locator("ol.timeline li.tl-allow strong").all_inner_texts()
        assert events == [WORDS[lang][e] for e in ("entry", "stop", "arrival", "exit")]
        assert watch.page.locator("ol.timeline li.tl-anomaly").count() == 0
        j.step(watch, "13-closed-loop")

        # 8. The truck has left: not among the vehicles inside now.
        watch.page.goto(f"{live_server}/inside?plate={plate[1:]}")
        expect(watch.page.locator("p.empty")).to_be_visible()
        j.step(watch, "14-inside-now")

        # 9. Every step is in the audit log; the supervisor verifies it and exports it.
        sequencer(make.app).tick()  # what the sequencer does every second in production
        watch.page.goto(f"{live_server}/audit?object_type=pass")
        expect(watch.page.locator("#audit-entries")).to_be_visible()
        watch.page.locator("#verify-form button").click()
        expect(watch.page.locator("#verification.notice.ok")).to_be_visible()
        with watch.page.expect_download() as download:
            watch.page.click("#audit-csv")
        assert download.value.suggested_filename.startswith("audit-")
        # Read to the end: the export streams from a session of its own, closed with it.
        assert "pass" in download.value.path().read_text(encoding="utf-8-sig")
        j.step(watch, "15-audit")

        # 10. The admin sees the key that signed the pass.
        boss.page.goto(f"{live_server}/admin/keys")
        expect(boss.page.locator("#keys tbody tr")).to_have_count(1)
        j.step(boss, "16-keys")
    finally:
        j.close()
