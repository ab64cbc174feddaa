"""A pass that is not live (revoked, rejected, cancelled, expired, its enterprise suspended)
shows its state and no code anywhere: the pass page, the print view, the PDFs, the QR
images (web and API), the pass's JSON and the driver's page; a live pass serves them all."""

import io
import re
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select, update

from passes.models import Pass
from sms.models import SmsMessage
from tests.support import api_token, login, now
from trust import tokens

DEAD = ["revoked", "rejected", "cancelled", "expired", "suspended"]
# What the pass page says in place of the code (zh), and the reason given, if any.
STATE_WORDS = {
    "revoked": ("通行证已被吊销。", "测试吊销"),
    "rejected": ("申请已驳回。", "资料不全"),
    "cancelled": ("申请已撤销。", None),
    "expired": ("通行证已过期。", None),
    "suspended": ("申请企业已被暂停", None),
}
NO_CODE_HINT = "此通行证无可出示的通行码"
# Every way the page could lead to the code.
CODE_LINKS = ("qr.svg", "qr.png", "/print", "pass.pdf", "data:image/png")


def make_pass(make, state):
    """A pass in `state`, reached as users reach it (through the services)."""
    from accounts import services as accounts
    from passes import services

    if state in ("revoked", "approved"):
        return make.pass_(status=state)
    if state == "expired":
        p = make.pass_(status="approved")
        with make.session() as session:
            session.execute(
                update(Pass)
                .where(Pass.id == p.id)
                .values(
                    valid_from=now() - timedelta(days=2), valid_until=now() - timedelta(hours=1)
                )
            )
            session.commit()
        return p
    if state == "suspended":
        p = make.pass_(status="approved")
        admin = make.user("admin")
        with make.session() as session:
            accounts.set_enterprise_status(
                session, p.enterprise_id, "suspended", actor=admin, now=now()
            )
        return p
    p = make.pass_()
    with make.session() as session:
        if state == "rejected":
            reviewer = make.user("reviewer")
            services.reject_pass(session, p.id, reviewer, "资料不全", now=now())
        else:
            services.cancel_pass(session, p.id, make.enterprise_user(p.enterprise), now=now())
    return p


def signed_in(app, username):
    client = app.test_client()
    login(client, username)
    return client


def code_text(db, p):
    """The code the pass was issued with (None if it never had one)."""
    db.rollback()
    return db.get(Pass, p.id).code


def decode(image):
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def pdf_codes(data):
    from pypdf import PdfReader

    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for image in page.images:
            found += decode(image.image)
    return found


def driver_path(db, p):
    db.rollback()
    key = db.get(Pass, p.id).driver_key
    return f"/d/{key}" if key else None


@pytest.mark.parametrize("state", DEAD)
@pytest.mark.parametrize("who", ["enterprise", "reviewer"])
def test_the_pass_page_shows_the_state_and_no_code(app, make, db, state, who):
    p = make_pass(make, state)
    user = make.enterprise_user(p.enterprise) if who == "enterprise" else make.user("reviewer")
    page = signed_in(app, user.username).get(f"/passes/{p.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert [link for link in CODE_LINKS if link in html] == []
    assert 'class="qr' not in html
    code = code_text(db, p)
    if code:  # revoked, expired, suspended: it had one
        assert code not in html
        assert tokens.token_from_text(code) not in html
    words, reason = STATE_WORDS[state]
    assert 'id="no-code"' in html
    card = html[html.index('id="no-code"') :]
    assert words in card
    if reason:  # once, in the pass's facts above the card
        assert html.count(reason) == 1
    assert NO_CODE_HINT in card


@pytest.mark.parametrize("state", DEAD)
def test_print_pdf_and_images_of_a_dead_pass_are_refused(app, client, make, db, state):
    p = make_pass(make, state)
    owner = signed_in(app, make.enterprise_user(p.enterprise).username)
    words = STATE_WORDS[state][0]
    headers = api_token(client, make.user("supervisor").username)
    pages = [f"/passes/{p.id}/print", f"/passes/{p.id}/pass.pdf?size=a4"]
    pages.append(f"/passes/{p.id}/pass.pdf?size=phone")
    images = [f"/api/v1/passes/{p.id}/qr.{fmt}" for fmt in ("png", "svg")]
    # the images through the page's session (as the page loads them) and a bearer token
    answers = {path: owner.get(path) for path in pages + images}
    answers |= {f"{path} (bearer)": client.get(path, headers=headers) for path in images}
    seen = {path: (r.status_code, r.mimetype) for path, r in answers.items()}
    as_page, as_problem = (409, "text/html"), (409, "application/problem+json")
    assert seen == {path: as_page if path in pages else as_problem for path in answers}
    for path in pages:
        assert words in answers[path].get_data(as_text=True), path
    for path, answer in answers.items():
        if path not in pages:
            problem = answer.get_json()
            assert problem["status"] == 409
            # its own title (in either language, whatever the catalog's wording), not "Conflict"
            assert "通行码" in problem["title"] or "no code" in problem["title"]
            assert words in problem["detail"]
    body = client.get(f"/api/v1/passes/{p.id}", headers=headers).get_json()
    assert (body["code"], body["status_url"], body["qr_png_url"]) == (None, None, None)
    listed = client.get(f"/api/v1/passes?number={p.number}", headers=headers).get_json()
    [item] = listed["items"]
    assert item["code"] is None


@pytest.mark.parametrize("state", ["revoked", "expired", "suspended"])
def test_the_drivers_page_shows_the_state_and_serves_no_pdf(app, client, make, db, state):
    p = make_pass(make, state)
    path = driver_path(db, p)
    html = client.get(path).get_data(as_text=True)
    assert "data:image/png" not in html
    assert "pass.pdf" not in html
    assert "请勿凭此证出行" in html
    assert code_text(db, p) not in html
    if state == "revoked":
        assert "已被吊销" in html
    # 404 (not 409), so that the page's service worker forgets a copy it kept
    assert client.get(f"{path}/pass.pdf").status_code == 404
    # ... even when all its trips are used (a used-up live pass still has its PDF)
    with make.session() as session:
        session.get(Pass, p.id).trips_used = p.max_trips
        session.commit()
    assert client.get(f"{path}/pass.pdf").status_code == 404


def test_a_revoked_pass_keeps_its_state_on_the_public_status_page(client, make, db):
    p = make_pass(make, "revoked")
    page = client.get(f"/P/{tokens.token_from_text(code_text(db, p))}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "已被吊销" in html
    assert "<img" not in html
    assert "data:image" not in html


def test_a_live_pass_serves_its_code_everywhere(app, client, make, db):
    p = make_pass(make, "approved")
    owner = signed_in(app, make.enterprise_user(p.enterprise).username)
    html = owner.get(f"/passes/{p.id}").get_data(as_text=True)
    assert 'id="no-code"' not in html
    for link in ("qr.svg", "qr.png", f"/passes/{p.id}/print", "pass.pdf"):
        assert link in html, link
    printed = owner.get(f"/passes/{p.id}/print")
    assert printed.status_code == 200
    assert f"/api/v1/passes/{p.id}/qr.svg" in printed.get_data(as_text=True)
    assert printed.headers["Cache-Control"] == "private, no-store"
    for size in ("a4", "phone"):
        pdf = owner.get(f"/passes/{p.id}/pass.pdf?size={size}")
        assert pdf.status_code == 200
        assert pdf_codes(pdf.data) == [p.code]
    headers = api_token(client, make.user("supervisor").username)
    png = client.get(f"/api/v1/passes/{p.id}/qr.png", headers=headers)
    assert png.status_code == 200
    assert decode(Image.open(io.BytesIO(png.data))) == [p.code]
    svg = owner.get(f"/api/v1/passes/{p.id}/qr.svg")
    assert svg.status_code == 200
    assert b"<svg" in svg.data
    for image in (png, svg):  # an image must not outlive a revocation in a cache
        assert image.headers["Cache-Control"] == "private, no-store"
    body = client.get(f"/api/v1/passes/{p.id}", headers=headers).get_json()
    assert body["code"] == p.code == body["status_url"]
    assert body["qr_png_url"].endswith(f"/api/v1/passes/{p.id}/qr.png")
    path = driver_path(db, p)
    assert pdf_codes(client.get(f"{path}/pass.pdf").data) == [p.code]
    assert re.search(r'src="data:image/png;base64,', client.get(path).get_data(as_text=True))


def test_revoking_takes_the_code_away_at_once(app, client, make, db):
    p = make_pass(make, "approved")
    reviewer = make.user("reviewer")
    headers = api_token(client, reviewer.username)
    url = f"/api/v1/passes/{p.id}/qr.png"
    assert client.get(url, headers=headers).status_code == 200
    revoked = client.post(
        f"/api/v1/passes/{p.id}/revoke", json={"reason": "货物不符"}, headers=headers
    ).get_json()
    assert (revoked["status"], revoked["code"]) == ("revoked", None)
    assert client.get(url, headers=headers).status_code == 409
    owner = signed_in(app, make.enterprise_user(p.enterprise).username)
    html = owner.get(f"/passes/{p.id}").get_data(as_text=True)
    assert "已吊销" in html  # the status badge
    assert "货物不符" in html
    assert "qr.svg" not in html


def test_a_pass_not_valid_yet_or_used_up_keeps_its_code(app, client, make, db):
    """Only a dead pass loses its code: one valid from tomorrow is printed today, and one
    whose trips are used is still what the truck leaves with."""
    later = make.pass_(
        status="approved",
        valid_from=(now() + timedelta(days=1)).isoformat(),
        valid_until=(now() + timedelta(days=2)).isoformat(),
    )
    used = make.pass_(status="approved", max_trips=1)
    with make.session() as session:
        session.get(Pass, used.id).trips_used = 1
        session.commit()
    headers = api_token(client, make.user("supervisor").username)
    for p in (later, used):
        assert client.get(f"/api/v1/passes/{p.id}/qr.png", headers=headers).status_code == 200
        assert client.get(f"/api/v1/passes/{p.id}", headers=headers).get_json()["code"] == p.code


def test_a_pass_waiting_for_review_still_answers_422_and_shows_no_card(app, client, make):
    p = make.pass_()
    owner = signed_in(app, make.enterprise_user(p.enterprise).username)
    html = owner.get(f"/passes/{p.id}").get_data(as_text=True)
    assert 'id="no-code"' not in html
    assert "qr.svg" not in html
    headers = api_token(client, make.user("supervisor").username)
    assert client.get(f"/api/v1/passes/{p.id}/qr.png", headers=headers).status_code == 422
    assert owner.get(f"/passes/{p.id}/print").status_code == 404


def test_no_sms_body_carries_the_code(make, db):
    """The SMS carries the driver's link, never the code itself (so nothing to withdraw)."""
    p = make_pass(make, "revoked")
    code = code_text(db, p)
    bodies = db.scalars(select(SmsMessage.body).where(SmsMessage.pass_id == p.id)).all()
    assert bodies
    assert all(tokens.token_from_text(code) not in body for body in bodies)
