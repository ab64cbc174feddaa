"""Fleet and pass pages in Chromium at phone width: register, apply, approve, scan the
status page; every screen fits 360 px and runs without console errors."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import PHONE
from tests.support import PASSWORD, id_number, now

pytestmark = pytest.mark.browser


def sign_in(s, base, username):
    s.page.goto(f"{base}/login")
    s.page.fill("#username", username)
    s.page.fill("#password", PASSWORD)
    s.page.click("#submit")
    s.page.wait_for_url(f"{base}/")


def local(moment):
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def test_register_apply_approve_and_check_the_status_page(live_server, screen, make):
    enterprise = make.enterprise()
    owner = make.enterprise_user(enterprise)
    reviewer = make.user("reviewer")

    clerk = screen(PHONE, name="journey-enterprise")
    sign_in(clerk, live_server, owner.username)
    clerk.page.goto(f"{live_server}/fleet/vehicles")
    clerk.page.fill("#plate", "浙f 88888")
    clerk.page.select_option("#vehicle_type", "refrigerated")
    clerk.page.click("#submit")
    assert "浙F88888" in clerk.page.locator("table.list").inner_text()
    clerk.assert_fits()
    clerk.shot("vehicles")
    clerk.page.goto(f"{live_server}/fleet/drivers")
    clerk.page.fill("#name", "赵六")
    clerk.page.fill("#id_number", id_number(321))
    clerk.page.fill("#phone", "13600000000")
    clerk.page.click("#submit")
    assert "赵六" in clerk.page.locator("table.list").inner_text()
    clerk.page.goto(f"{live_server}/passes/new")
    clerk.page.select_option("#vehicle_id", label="浙F88888")
    clerk.page.select_option("#driver_id", label="赵六")
    clerk.page.select_option("#destination_enterprise_id", label=enterprise.name)
    clerk.page.fill("#origin", "平湖市新埭镇")
    clerk.page.fill("#cargo", "冷冻食品")
    clerk.page.select_option("#category", "daily_necessities")
    start = now() - timedelta(minutes=1)
    clerk.page.fill("#valid_from", local(start))
    clerk.page.fill("#valid_until", local(start + timedelta(days=2)))
    clerk.assert_fits()
    clerk.shot("apply")
    clerk.page.click("#submit")
    assert "待审核" in clerk.page.locator(".heading-row").inner_text()
    number = clerk.page.locator("h1 code").inner_text()

    officer_of_review = screen(PHONE, name="journey-reviewer")
    sign_in(officer_of_review, live_server, reviewer.username)
    officer_of_review.page.goto(f"{live_server}/review")
    assert number in officer_of_review.page.locator("table.list").inner_text()
    officer_of_review.assert_fits()
    officer_of_review.shot("queue")
    officer_of_review.page.locator("table.list a.button", has_text="审核").first.click()
    with officer_of_review.page.expect_navigation():  # to the next waiting, or the queue
        officer_of_review.page.click("#approve")
    assert "已批准" in officer_of_review.page.locator(".flashes").inner_text()
    officer_of_review.page.goto(f"{live_server}/passes?q={number}")
    officer_of_review.page.locator("table.list a", has_text=number).first.click()
    # The QR loads after the page (never from a cache): wait for it, then check it drew.
    officer_of_review.page.wait_for_function(
        "() => { const i = document.querySelector('img.qr'); return i && i.complete; }"
    )
    assert officer_of_review.page.locator("img.qr").evaluate("i => i.naturalWidth") > 0
    officer_of_review.assert_fits()
    officer_of_review.shot("approved")

    clerk.page.reload()
    assert "短信已发送" in clerk.page.locator("#messages").inner_text()
    body = clerk.page.locator(".sms-body").inner_text()
    link = body[body.index("http://") :].strip()  # the driver's short link
    phone = screen(PHONE, name="journey-driver")
    phone.page.goto(link.replace("http://127.0.0.1:5000", live_server))
    assert phone.page.locator("#driver-pass").get_attribute("class").endswith("driver-valid")
    assert "浙F88888" in phone.page.locator("#driver-pass").inner_text()
    phone.assert_fits()
    phone.shot("status")
