"""The base layout on a 360 px phone and a desktop, in Chinese and English, in Chromium."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.support import PASSWORD, credit_code

pytestmark = pytest.mark.browser


def sign_in(s, base, username):
    s.page.goto(f"{base}/login")
    s.page.fill("#username", username)
    s.page.fill("#password", PASSWORD)
    s.page.click("#submit")
    s.page.wait_for_url(f"{base}/")
    s.page.wait_for_load_state()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_login_page_in_both_languages_fits_the_screen(live_server, screen, viewport):
    s = screen(viewport)
    s.page.goto(f"{live_server}/login")
    assert s.page.locator("h1").inner_text() == "登录"
    s.assert_fits()
    s.shot("zh")
    s.page.click("text=English")
    assert s.page.locator("h1").inner_text() == "Sign in"
    s.page.reload()
    assert s.page.locator("h1").inner_text() == "Sign in"  # the choice persists
    s.assert_fits()
    s.shot("en")


def test_admin_approves_and_suspends_an_enterprise_on_a_phone(live_server, screen, make):
    admin = make.user("admin")
    pending = make.enterprise(status="pending")
    s = screen(PHONE)
    sign_in(s, live_server, admin.username)
    assert not s.page.is_visible("#mainnav")  # folded behind the menu button on a phone
    button = s.page.locator(".nav-toggle").bounding_box()
    assert button is not None
    assert min(button["width"], button["height"]) >= 44  # a finger's width
    s.page.click(".nav-toggle")
    s.page.click("#mainnav >> text=企业")
    row = s.page.locator(f"#enterprise-{pending.id}")
    assert "待审核" in row.inner_text()
    label = s.page.evaluate(
        """id => { const style = getComputedStyle(
             document.querySelector(`#${id} td[data-label]`), '::before');
           return [style.wordBreak, style.overflowWrap]; }""",
        f"enterprise-{pending.id}",
    )
    assert label == ["keep-all", "normal"]  # a card's label breaks between words only
    s.assert_fits()
    s.shot("enterprises")
    row.get_by_role("button", name="通过", exact=True).click()
    assert "已通过审核" in s.page.locator(".flashes").inner_text()
    s.page.once("dialog", lambda d: d.dismiss())  # a destructive action asks first...
    s.page.locator(f"#enterprise-{pending.id} button", has_text="暂停").click()
    assert "已通过" in s.page.locator(f"#enterprise-{pending.id}").inner_text()
    s.page.once("dialog", lambda d: d.accept())  # ...and happens only when confirmed
    s.page.locator(f"#enterprise-{pending.id} button", has_text="暂停").click()
    assert "已暂停" in s.page.locator(f"#enterprise-{pending.id}").inner_text()
    s.assert_fits()


def test_admin_declines_a_sign_up_with_a_reason_on_a_phone(live_server, screen, make):
    admin = make.user("admin")
    pending = make.enterprise(status="pending")
    s = screen(PHONE)
    sign_in(s, live_server, admin.username)
    s.page.goto(f"{live_server}/admin/enterprises?status=pending")
    row = s.page.locator(f"#enterprise-{pending.id}")
    row.get_by_text("不予通过…").click()
    s.page.fill(f"#reject-reason-{pending.id}", "营业执照已过期")
    s.assert_fits()
    s.shot("decline")
    row.get_by_role("button", name="不予通过", exact=True).click()
    assert "未通过" in s.page.locator(".flashes").inner_text()
    s.page.goto(f"{live_server}/admin/enterprises?status=rejected")
    assert "营业执照已过期" in s.page.locator(f"#enterprise-{pending.id}").inner_text()
    s.assert_fits()


def test_desktop_shows_the_navigation_without_the_menu_button(live_server, screen, make):
    admin = make.user("admin")
    s = screen(DESKTOP)
    sign_in(s, live_server, admin.username)
    assert s.page.is_visible("#mainnav")
    assert not s.page.is_visible(".nav-toggle")
    s.page.click("#mainnav >> text=用户")
    assert s.page.locator("h1").inner_text() == "用户"
    s.assert_fits()
    s.shot("users")


def test_enterprise_signs_up_through_the_page_and_sees_it_is_pending(live_server, screen):
    s = screen(PHONE)
    s.page.goto(f"{live_server}/signup")
    s.page.fill("#name", "平湖市快运有限公司")
    s.page.fill("#credit_code", "91350100M000100Y44")
    s.page.fill("#contact_name", "陈静")
    s.page.fill("#contact_phone", "139 0000 1111")
    s.page.fill("#admin_username", "kuaiyun")
    s.page.fill("#admin_password", "kuaiyun-pass-1")
    s.page.click("#submit")
    assert "校验位不正确" in s.page.locator(".has-error").inner_text()
    s.assert_fits()
    s.shot("signup-error")
    s.page.fill("#credit_code", credit_code())
    s.page.fill("#admin_password", "kuaiyun-pass-1")
    s.page.click("#submit")
    assert "等待审核" in s.page.locator(".flashes").inner_text()
    s.page.fill("#username", "kuaiyun")
    s.page.fill("#password", "kuaiyun-pass-1")
    s.page.click("#submit")
    assert s.page.is_visible("#filing-blocked")
    s.assert_fits()
    s.shot("pending-home")


ONE_LINE = """() => [...document.querySelectorAll(
  'table.list code, table.list .plate, table.list .button, table.list time')]
  .filter((el) => el.getClientRects().length > 1)
  .map((el) => el.textContent.trim())"""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_review_queue_keeps_numbers_plates_and_buttons_on_one_line(
    live_server, screen, make, viewport
):
    """At 1280 px the queue used to break "3304820000/02" and "浙/FD234/56" mid-word
    beside long enterprise names."""
    long_name = "嘉兴市平湖经济技术开发区长三角跨境冷链" + "物流供应链管理有限公司一分公司"
    wordy = make.enterprise(name=long_name)
    for _ in range(3):
        make.pass_(wordy)
    reviewer = make.user("reviewer")
    s = screen(viewport)
    sign_in(s, live_server, reviewer.username)
    s.page.goto(f"{live_server}/review")
    assert s.page.locator("table.list tbody tr").count() == 3
    assert s.page.evaluate(ONE_LINE) == []
    s.assert_fits()
    s.shot("queue")


def test_switching_language_mid_form_keeps_what_was_typed_but_not_the_password(live_server, screen):
    s = screen(PHONE)
    s.page.goto(f"{live_server}/signup")
    s.page.fill("#name", "平湖市快运有限公司")
    s.page.fill("#contact_name", "陈静")
    s.page.fill("#admin_password", "kuaiyun-pass-1")
    s.page.click(".lang a[hreflang=en]")
    s.page.wait_for_selector("html[lang=en]")
    # the values come back once the page's script has run (DOMContentLoaded), which may
    # be after the new page's html element is there
    expect(s.page.locator("#name")).to_have_value("平湖市快运有限公司")
    assert s.page.input_value("#contact_name") == "陈静"
    assert s.page.input_value("#admin_password") == ""
    s.page.reload(wait_until="load")  # carried once: a later load starts empty
    assert s.page.input_value("#name") == ""


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter((el) => !['hidden', 'submit', 'button'].includes(el.type))
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map((el) => el.outerHTML.slice(0, 80))"""


def test_the_users_page_on_a_phone_labels_every_control_and_keeps_buttons_compact(
    live_server, screen, make, db
):
    from checkpoints.models import officer_checkpoint

    admin = make.user("admin")
    first, second = make.checkpoint("gate"), make.checkpoint("gate")
    officer = make.officer(first)
    s = screen(PHONE)
    sign_in(s, live_server, admin.username)
    s.page.goto(f"{live_server}/admin/users")
    assert s.page.evaluate(UNLABELLED) == []
    row = s.page.locator(f"#user-{officer.id}")
    reset = row.locator("a", has_text="重置密码").bounding_box()
    assert reset["width"] < PHONE["width"] / 2  # not stretched beside the gates
    assert f"{officer.username} 负责的卡口" in row.locator("legend").inner_text()
    s.assert_fits()
    s.shot("users-phone")
    row.locator(f"input[value='{second.id}']").check()
    row.locator("button", has_text="分配").click()
    s.page.wait_for_selector(".flashes")
    db.rollback()
    gates = db.execute(
        officer_checkpoint.select().where(officer_checkpoint.c.user_id == officer.id)
    ).all()
    assert {g.checkpoint_id for g in gates} == {first.id, second.id}


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        ("admin", ["/admin/enterprises", "/admin/checkpoints", "/admin/keys"]),
        ("supervisor", ["/trips", "/inside", "/audit", "/statistics", "/anomalies"]),
        ("reviewer", ["/review", "/passes"]),
    ],
)
def test_every_control_on_the_oversight_pages_has_a_label(live_server, screen, make, role, paths):
    make.pass_(status="submitted")
    user = make.user(role)
    s = screen(PHONE)
    sign_in(s, live_server, user.username)
    for path in paths:
        s.page.goto(f"{live_server}{path}")
        assert s.page.evaluate(UNLABELLED) == [], path


def test_the_plate_typed_by_hand_has_room_on_a_small_phone(live_server, screen, make):
    gate = make.checkpoint("gate")
    officer = make.officer(gate)
    s = screen(PHONE)
    sign_in(s, live_server, officer.username)
    s.page.goto(f"{live_server}/scan")
    box = s.page.locator("#m-plate").bounding_box()
    assert box is not None
    assert box["width"] >= 140, box  # room for 浙F12345 and more
    s.assert_fits()


def test_the_queues_reject_button_asks_before_it_rejects(live_server, screen, make):
    from passes.models import Pass

    waiting = make.pass_()
    s = screen(PHONE)
    sign_in(s, live_server, make.user("reviewer").username)
    s.page.goto(f"{live_server}/review")
    s.page.check(f"#pass-{waiting.id} input[name=ids]")
    s.page.click("#bulk-reject summary")
    asked, answers = [], []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept() if answers and answers.pop(0) == "accept" else dialog.dismiss()

    s.page.on("dialog", answer)
    s.page.click("#bulk-reject button")  # no reason yet: the box says so, nothing is asked
    assert asked == []
    assert s.page.locator(f"#pass-{waiting.id} input[name=ids]").is_checked()  # tick kept
    s.page.fill("#bulk-reason", "资料不全")
    s.page.click("#bulk-reject button")
    assert "驳回" in asked[0]  # its own question, not the approval's
    with make.session() as session:
        assert session.get(Pass, waiting.id).status == "submitted"
    answers.append("accept")
    with s.page.expect_navigation():
        s.page.click("#bulk-reject button")
    assert "已驳回 1 件" in s.page.locator(".flashes").inner_text()
    s.assert_fits()


def test_select_all_ticks_the_anomalies_that_name_the_bulk_form(live_server, screen, client, make):
    import uuid

    from tests.support import api_token

    client.application.config["REPEAT_SCAN_SECONDS"] = 0
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    for _ in range(2):
        p = make.pass_(status="approved")
        for _ in range(2):  # in and out without arriving: an anomaly
            body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
            assert client.post("/api/v1/scans", json=body, headers=officer).status_code == 200
    s = screen(PHONE)
    sign_in(s, live_server, make.user("supervisor").username)
    s.page.goto(f"{live_server}/anomalies")
    boxes = s.page.locator('input[name="ids"][form="bulk-resolve"]')
    assert boxes.count() == 2
    s.page.check('#bulk-resolve input[data-select-all="ids"]')
    assert all(boxes.nth(i).is_checked() for i in range(2))
    s.assert_fits()
