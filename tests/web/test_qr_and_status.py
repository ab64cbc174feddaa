"""QR images decode back to the exact code; the public status page for every state."""

import io
from datetime import timedelta

import zxingcpp
from PIL import Image

from tests.support import api_token, login, now
from trust import qr, tokens


def token_of(p):
    return tokens.token_from_text(p.code)


def test_png_decodes_to_the_exact_code(client, make):
    p = make.pass_(status="approved")
    headers = api_token(client, make.user("supervisor").username)
    response = client.get(f"/api/v1/passes/{p.id}/qr.png", headers=headers)
    assert response.mimetype == "image/png"
    [result] = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(response.data)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert result.text == p.code
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.ec_level == "M"
    assert qr.version(p.code) <= 8


def test_svg_is_served_and_renders_a_qr(client, make):
    p = make.pass_(status="approved")
    login(client, make.enterprise_user(p.enterprise).username)
    response = client.get(f"/api/v1/passes/{p.id}/qr.svg")
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data
    assert b"<path" in response.data


def test_a_pass_waiting_for_review_has_no_qr(client, make):
    p = make.pass_()
    headers = api_token(client, make.user("supervisor").username)
    assert client.get(f"/api/v1/passes/{p.id}/qr.png", headers=headers).status_code == 422


def status(client, token):
    page = client.get(f"/P/{token}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_valid_pass_is_green_with_masked_driver_only(client, make):
    p = make.pass_(status="approved")
    page = status(client, token_of(p))
    assert "status-valid" in page
    assert "有效" in page
    assert p.vehicle.plate in page
    assert p.number in page
    assert f">{p.driver.name}<" not in page
    assert p.driver.name_masked in page
    assert p.driver.id_number not in page
    assert p.driver.phone not in page
    assert p.driver.id_number_masked not in page


def test_lower_case_url_works_too(client, make):
    p = make.pass_(status="approved")
    assert "status-valid" in client.get(f"/p/{token_of(p).lower()}").get_data(as_text=True)


def test_revoked_pass_is_grey_with_the_reason(client, make):
    p = make.pass_(status="revoked")
    page = status(client, token_of(p))
    assert "status-invalid" in page
    assert "已被吊销" in page


def test_expired_pass_is_grey(app, client, make):
    p = make.pass_(status="approved")
    app.extensions["clock"] = lambda: now() + timedelta(days=4)
    assert "已过期" in status(client, token_of(p))


def test_forged_code_is_grey(client, make):
    p = make.pass_(status="approved")
    token = token_of(p)
    forged = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    page = status(client, forged)
    assert "status-invalid" in page
    assert p.vehicle.plate not in page


def test_garbage_is_grey_not_an_error(client):
    assert "不是通行码" in status(client, "hello-world")


def test_status_page_is_rate_limited(app, client, make):
    app.config["STATUS_PAGE_PER_MINUTE"] = 3
    p = make.pass_(status="approved")
    codes = [client.get(f"/P/{token_of(p)}").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_key_rotation_keeps_old_passes_valid_and_signs_new_ones_with_the_new_key(
    app, client, make, runner, db
):
    old = make.pass_(status="approved")
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0
    assert "key 2" in result.output
    new = make.pass_(status="approved")
    assert tokens.parse(token_of(new))[0].kid == 2
    assert "status-valid" in status(client, token_of(old))
    assert "status-valid" in status(client, token_of(new))
    trust = client.get("/api/v1/trust").get_json()["keys"]
    assert [(k["kid"], k["status"]) for k in trust] == [("1", "retired"), ("2", "active")]
    assert all(k["jwk"]["crv"] == "P-256" and k["alg"] == "ES256" for k in trust)


def test_trust_list_publishes_keys_that_verify_issued_tokens(client, make):
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec

    p = make.pass_(status="approved")
    [key] = client.get("/api/v1/trust").get_json()["keys"]

    def number(b64):
        return int.from_bytes(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)), "big")

    public = ec.EllipticCurvePublicNumbers(
        number(key["jwk"]["x"]), number(key["jwk"]["y"]), ec.SECP256R1()
    ).public_key()
    trusted = {1: tokens.TrustedKey(1, public, now() - timedelta(days=1))}
    assert tokens.verify(token_of(p), trusted, now()).pass_id == p.id


def test_private_keys_stay_in_the_instance_folder(app, make):
    make.pass_(status="approved")
    from pathlib import Path

    key_file = Path(app.instance_path) / "keys" / "kid-1.pem"
    assert key_file.exists()
    assert key_file.stat().st_mode & 0o077 == 0
    assert "PRIVATE KEY" in key_file.read_text()


def test_an_admin_sees_the_keys_and_rotates_from_the_page_with_the_rotation_audited(
    app, client, make, db
):
    from sqlalchemy import select

    from core.audit import AuditEntry
    from tests.support import login, post_form

    old = make.pass_(status="approved")
    admin = make.user("admin")
    login(client, admin.username)
    page = client.get("/admin/keys").get_data(as_text=True)
    assert 'id="key-1"' in page
    assert "正在签发新通行证" in page
    assert 'data-confirm="确定轮换签名密钥' in page  # asked before it happens
    assert client.get("/admin/keys/rotate").status_code == 405
    response = post_form(client, "/admin/keys/rotate", {})
    assert response.status_code == 302
    page = client.get("/admin/keys").get_data(as_text=True)
    assert "新通行证现由密钥 2 签发" in page
    retired = page[page.index('id="key-1"') :]
    assert "已停用，仍受信任" in retired  # until the old pass expires
    new = make.pass_(status="approved")
    assert tokens.parse(token_of(new))[0].kid == 2
    assert "status-valid" in status(client, token_of(old))
    db.rollback()
    rotation = db.scalars(select(AuditEntry).where(AuditEntry.action == "key.rotate")).one()
    assert rotation.actor_id == admin.id
    assert rotation.object_id == "2"
    reviewer = app.test_client()
    login(reviewer, make.user("reviewer").username)
    assert post_form(reviewer, "/admin/keys/rotate", {}).status_code == 403
