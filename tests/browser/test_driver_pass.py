"""The driver's side in Chromium at 360x740, Chinese and English: the SMS link from the
outbox opens the pass, the code is decoded from a screenshot and scanned by an officer's
camera (allowed, entry); offline, the kept page still shows the code and says when it was
last checked; revoked, the page shows no code."""

import io

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from sms.models import SmsMessage
from tests.browser.conftest import PHONE, Screen
from tests.browser.test_scanner import open_scanner
from tests.support import api_token

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_sms_link_code_scanned_offline_then_revoked(
    app, client, browser, camera_browser, live_server, make, db, lang
):
    destination = make.enterprise()
    p = make.pass_(status="approved", destination_enterprise_id=destination.id)
    gate = make.checkpoint("gate")
    officer = make.officer(gate)

    # The SMS as the console backend delivered it: its link, on this test server.
    body = db.scalars(select(SmsMessage.body).where(SmsMessage.pass_id == p.id)).one()
    link = body.split("http://127.0.0.1:5000", 1)[1]
    assert link.startswith("/d/")

    context = browser.new_context(viewport=PHONE, locale=lang)
    s = Screen(context.new_page(), f"driver-pass-{lang}")
    s.page.goto(f"{live_server}/lang/{'zh_CN' if lang == 'zh-CN' else 'en'}?next={link}")
    s.page.wait_for_selector("#driver-code img")
    s.page.wait_for_selector("[data-offline-ready=true]")
    s.assert_fits()
    shot = s.shot("valid")
    decoded = [
        r.text
        for r in zxingcpp.read_barcodes(
            Image.open(io.BytesIO(shot.read_bytes())), formats=zxingcpp.BarcodeFormat.QRCode
        )
    ]
    assert decoded == [p.code], "the code on the phone's screen is the pass's signed text"
    clock = s.page.locator("#driver-clock").inner_text()
    s.page.wait_for_timeout(1200)
    assert s.page.locator("#driver-clock").inner_text() != clock, "the clock ticks"

    # An officer's camera films the decoded text: allowed, entry.
    camera = camera_browser(decoded[0])
    officer_context = camera.new_context(viewport=PHONE, locale="zh-CN")
    o = Screen(officer_context.new_page(), f"driver-pass-officer-{lang}")
    open_scanner(o, live_server, officer)
    o.page.wait_for_selector("#result.result-allow", timeout=20_000)
    assert o.page.locator("#event").inner_text() == "进入"
    officer_context.close()

    # No network: the kept page still shows the code, and when it was last checked.
    context.set_offline(True)
    s.page.reload()
    s.page.wait_for_selector("#driver-code img")
    assert s.page.locator("#driver-offline").is_visible()
    assert s.page.locator("#driver-checked").is_hidden()
    s.shot("offline")
    context.set_offline(False)

    # Revoked: online again, the page says so and shows no code.
    reviewer = api_token(client, make.user("reviewer").username)
    revoked = client.post(
        f"/api/v1/passes/{p.id}/revoke", json={"reason": "货物不符"}, headers=reviewer
    )
    assert revoked.status_code == 200
    s.page.reload()
    s.page.wait_for_selector("#driver-state")
    assert s.page.locator("#driver-code").count() == 0
    assert s.page.locator("img").count() == 0
    s.shot("revoked")
    s.assert_fits()
    context.close()


def test_past_its_validity_by_the_phones_clock_the_page_shows_no_code(
    screen, live_server, make, db
):
    from datetime import timedelta

    p = make.pass_(status="approved")
    body = db.scalars(select(SmsMessage.body).where(SmsMessage.pass_id == p.id)).one()
    link = body.split("http://127.0.0.1:5000", 1)[1]
    s = screen(PHONE)
    s.page.clock.install(time=p.valid_until - timedelta(seconds=3))
    s.page.goto(f"{live_server}{link}")
    s.page.wait_for_selector("#driver-code img")
    s.page.clock.run_for(5000)
    s.page.wait_for_selector("#driver-expired", state="visible")
    assert s.page.locator("#driver-code").count() == 0
    s.assert_fits()
