"""Chinese by default, English on request, the choice persists; error pages in both."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from tests.support import login, post_form

ROOT = Path(__file__).resolve().parents[2]


def test_chinese_is_the_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录" in page


def test_switching_to_english_persists_in_a_cookie(client):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Sign in" in page
    assert client.get("/signup").get_data(as_text=True).count("Enterprise sign-up") >= 1


def test_signed_in_users_keep_their_language_on_a_new_device(app, client, make):
    user = make.user("admin")
    login(client, user.username)
    client.get("/lang/en")
    fresh = app.test_client()
    login(fresh, user.username)
    assert "Sign out" in fresh.get("/").get_data(as_text=True)


def test_the_language_chosen_on_the_sign_in_page_is_kept_after_signing_in(app, client, make):
    user = make.user("admin")
    login(client, user.username)
    client.get("/lang/en")  # saved on the account
    fresh = app.test_client()
    fresh.get("/lang/zh_CN?next=/login")  # then chosen on another phone's sign-in page
    login(fresh, user.username)
    assert '<html lang="zh' in fresh.get("/").get_data(as_text=True)
    again = app.test_client()  # and it is the account's choice from then on
    login(again, user.username)
    assert '<html lang="zh' in again.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.get("/lang/xx")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_error_pages_in_both_languages(app, client, make):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret 110101199003070000 must not be shown")

    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "页面不存在" in page.get_data(as_text=True)
    crashed = client.get("/boom")
    assert crashed.status_code == 500
    assert "出错" in crashed.get_data(as_text=True)
    assert "110101199003070000" not in crashed.get_data(as_text=True)
    login(client, make.user("officer").username)
    assert "无权" in client.get("/admin/users").get_data(as_text=True)
    client.get("/lang/en")
    assert "Page not found" in client.get("/no-such-page").get_data(as_text=True)
    assert "Something went wrong" in client.get("/boom").get_data(as_text=True)
    assert "do not have access" in client.get("/admin/users").get_data(as_text=True)


def test_throttled_page_is_a_translated_429(client, make):
    user = make.user("admin")
    for _ in range(10):
        login(client, user.username, "wrong-pass-9")
    client.get("/lang/en")
    response = login(client, user.username, "wrong-pass-9")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)


def test_crash_logs_carry_no_personal_data(app, client, caplog):
    @app.get("/boom2")
    def boom2():
        # Built at run time so the traceback's source line does not hold the value itself.
        raise ValueError("driver " + "3304821990" + "01011234" + " phone " + "138" + "12345678")

    client.get("/boom2")
    assert "ValueError" in caplog.text
    assert "330482199001011234" not in caplog.text
    assert "13812345678" not in caplog.text


def test_every_message_in_the_code_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-o",
            str(pot),
            ".",
        ],
        capture_output=True,
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with (ROOT / "translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    untranslated = sorted(
        str(mid)
        for mid in extracted
        if not (catalog.get(mid) and catalog.get(mid).string and not catalog.get(mid).fuzzy)
    )
    assert untranslated == [], f"{len(untranslated)} messages lack a zh_CN translation"


def test_the_loop_is_entering_and_leaving_the_jurisdiction_not_a_border():
    """入境/离境 is a border crossing; a trip enters and leaves a jurisdiction (进入/离开),
    in the pages' catalog and the SMS texts alike."""
    border = ("入境", "离境", "出境")
    with (ROOT / "translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        found = [m.string for m in read_po(f) if any(w in str(m.string) for w in border)]
    sms = (ROOT / "sms/text.py").read_text(encoding="utf-8")
    found += [w for w in border if w in sms]
    assert found == []


def test_home_tiles_count_what_waits_and_the_supervisor_finds_a_truck_there(client, make):
    make.enterprise(status="pending")
    make.pass_()  # an application waiting
    login(client, make.user("admin").username)
    home = client.get("/").get_data(as_text=True)
    tile = home.split('id="tile-pending-enterprises"')[1].split("</a>")[0]
    assert '<span class="nav-count">' in tile
    post_form(client, "/logout")
    login(client, make.user("reviewer").username)
    tile = client.get("/").get_data(as_text=True).split('id="tile-queue"')[1].split("</a>")[0]
    assert '<span class="nav-count">1</span>' in tile
    post_form(client, "/logout")
    login(client, make.user("supervisor").username)
    for page in ("/", "/dashboard"):
        html = client.get(page).get_data(as_text=True)
        assert 'action="/trips"' in html, page
        assert 'id="plate-q"' in html, page
