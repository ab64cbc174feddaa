"""The driver's side: the short link in the approval SMS, the driver's page (code, state,
next step), its manifest and service worker, the PDF, and the SMS people must hear."""

import re
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from accounts.models import Enterprise
from passes.models import Pass
from sms.models import SmsMessage
from tests.support import api_token, now

LINK = re.compile(r"http://127\.0\.0\.1:5000(/d/[2-9A-HJKMNP-Z]{10})$")


def driver_link(db, p):
    db.rollback()
    body = db.scalars(
        select(SmsMessage.body).where(SmsMessage.pass_id == p.id).order_by(SmsMessage.id)
    ).first()
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def decode_page_code(html):
    import base64
    import io

    data = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert data, "no code on the page"
    image = Image.open(io.BytesIO(base64.b64decode(data.group(1))))
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_the_sms_link_opens_the_pass_with_its_code(client, make, db):
    p = make.pass_(status="approved")
    path = driver_link(db, p)
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert p.vehicle.plate in html
    assert p.number in html
    assert decode_page_code(html) == [p.code]  # the same signed text as the printout
    assert p.driver.name_masked in html
    for secret in (p.driver.name, p.driver.id_number, p.driver.phone[3:]):
        assert secret not in html
    assert "经卡口进入辖区" in html
    assert client.get(path.lower()).status_code == 200  # read in any case
    assert page.headers["Cache-Control"] == "private, no-cache"


@pytest.mark.parametrize("key", ["AAAAAAAAAA", "K7QX9MPA2B", "short", "K7QX9MPA20", "%E4%B8%AD"])
def test_unknown_or_malformed_keys_are_a_plain_404(client, key):
    response = client.get(f"/d/{key}")
    assert response.status_code == 404
    assert "<!doctype html>" in response.get_data(as_text=True).lower()


def test_driver_pages_are_rate_limited_per_address(app, client):
    app.config["DRIVER_PAGE_PER_MINUTE"] = 5
    answers = [client.get("/d/AAAAAAAAAA").status_code for _ in range(7)]
    assert answers == [404] * 5 + [429] * 2


def test_a_revoked_pass_shows_its_state_and_no_code(client, make, db):
    p = make.pass_(status="revoked")
    html = client.get(driver_link(db, p)).get_data(as_text=True)
    assert "已被吊销" in html
    assert "理由：测试吊销" in html  # the reviewer's reason, so the driver knows why
    assert "data:image/png" not in html
    assert "请勿" in html


def test_an_expired_or_used_up_pass_shows_no_code(app, client, make, db):
    p = make.pass_(status="approved", max_trips=1)
    path = driver_link(db, p)
    app.extensions["clock"] = lambda: p.valid_until + timedelta(hours=1)
    assert "data:image/png" not in client.get(path).get_data(as_text=True)
    app.extensions["clock"] = now
    with make.session() as session:
        session.get(Pass, p.id).trips_used = 1
        session.commit()
    html = client.get(path).get_data(as_text=True)
    assert "data:image/png" not in html
    assert "趟次已用完" in html or "已用完" in html


def test_the_next_step_follows_the_trip(client, make, db):
    import uuid

    destination = make.enterprise()
    site = make.checkpoint("site", destination)
    gate = make.checkpoint("gate")
    p = make.pass_(status="approved", destination_enterprise_id=destination.id)
    path = driver_link(db, p)
    officer = api_token(client, make.officer(gate).username)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
    client.post("/api/v1/scans", json=body, headers=officer)
    assert destination.name in client.get(path).get_data(as_text=True).split("下一步")[1]
    receiver = api_token(client, make.enterprise_user(destination).username)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": site.id, "code": p.code}
    client.post("/api/v1/scans", json=body, headers=receiver)
    assert "经卡口离开辖区" in client.get(path).get_data(as_text=True)


def test_manifest_and_service_worker(client, make, db):
    p = make.pass_(status="approved")
    path = driver_link(db, p)
    manifest = client.get(f"{path}/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.get_json()["start_url"] == path
    with client.get("/d/sw.js") as worker:
        assert worker.status_code == 200
        assert worker.headers["Service-Worker-Allowed"] == "/d/"
        assert "javascript" in worker.mimetype


def pdf_codes(data):
    """The QR texts of the images on the PDF's pages, decoded with zxing-cpp."""
    import io

    from pypdf import PdfReader

    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for image in page.images:
            found += [
                r.text
                for r in zxingcpp.read_barcodes(image.image, formats=zxingcpp.BarcodeFormat.QRCode)
            ]
    return found


def test_the_pass_as_pdf_for_the_driver_and_the_owner(client, make, db):
    from tests.support import login

    p = make.pass_(status="approved")
    path = driver_link(db, p)
    phone = client.get(f"{path}/pass.pdf")
    assert phone.status_code == 200
    assert phone.mimetype == "application/pdf"
    assert pdf_codes(phone.data) == [p.code]  # equally valid: the same signed text
    owner = client.application.test_client()
    login(owner, make.enterprise_user(p.enterprise).username)
    a4 = owner.get(f"/passes/{p.id}/pass.pdf?size=a4").data
    assert pdf_codes(a4) == [p.code]
    assert owner.get(f"/passes/{p.id}/pass.pdf?size=poster").status_code == 404
    rival = client.application.test_client()
    login(rival, make.enterprise_user(make.enterprise()).username)
    assert rival.get(f"/passes/{p.id}/pass.pdf").status_code == 404


def test_revocation_rejection_and_enterprise_changes_are_texted(client, make, db):
    reviewer = api_token(client, make.user("reviewer").username)
    admin = api_token(client, make.user("admin").username)
    revoked = make.pass_(status="approved")
    client.post(
        f"/api/v1/passes/{revoked.id}/revoke", json={"reason": "货物不符"}, headers=reviewer
    )
    rejected = make.pass_()
    client.post(
        f"/api/v1/passes/{rejected.id}/reject", json={"reason": "资料不全"}, headers=reviewer
    )
    enterprise = make.enterprise(status="pending")
    client.post(f"/api/v1/enterprises/{enterprise.id}/approve", headers=admin)
    client.post(f"/api/v1/enterprises/{enterprise.id}/suspend", headers=admin)
    db.rollback()

    def texts(**where):
        return db.scalars(select(SmsMessage).filter_by(**where).order_by(SmsMessage.id)).all()

    [told] = [m for m in texts(pass_id=revoked.id) if "吊销" in m.body]
    assert told.to == revoked.driver.phone
    assert "请勿出行" in told.body
    [refused] = [m for m in texts(pass_id=rejected.id) if "未获批准" in m.body]
    assert refused.to == db.get(Enterprise, rejected.enterprise_id).contact_phone
    assert "资料不全" in refused.body
    notices = [m.body for m in texts(enterprise_id=enterprise.id)]
    assert any("已通过审核" in b for b in notices)
    assert any("已被暂停" in b for b in notices)


def test_resending_is_limited_per_pass_and_per_enterprise(app, client, make):
    from tests.support import login

    p = make.pass_(status="approved")
    owner = make.enterprise_user(p.enterprise)
    headers = api_token(client, owner.username)
    url = f"/api/v1/passes/{p.id}/messages"
    answers = [client.post(url, headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert [a.get_json().get("left_this_hour") for a in answers[:3]] == [2, 1, 0]
    refused = answers[3]
    assert refused.mimetype == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 3000
    assert "一小时" in refused.get_json()["detail"]
    page = client.application.test_client()
    login(page, owner.username)
    html = page.get(f"/passes/{p.id}").get_data(as_text=True)
    assert 'id="resends-left"' in html
    assert "disabled" in html.split('id="resends-left"')[0].rsplit("<button", 1)[1]
    # An hour later the pass may be sent again; the enterprise's day still counts.
    app.extensions["clock"] = lambda: now() + timedelta(minutes=61)
    assert client.post(url, headers=headers).status_code == 202
    app.config["SMS_RESENDS_PER_DAY"] = 4
    other = make.pass_(enterprise=p.enterprise, status="approved")
    capped = client.post(f"/api/v1/passes/{other.id}/messages", headers=headers)
    assert capped.status_code == 429
    assert "一天" in capped.get_json()["detail"]
