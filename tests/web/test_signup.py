"""Enterprise sign-up through the page and the API: clear errors, nothing half-written."""

import pytest
from sqlalchemy import func, select

from accounts.models import Enterprise, User
from core.audit import AuditEntry
from tests.support import credit_code, login, post_form

GOOD = {
    "name": "平湖市顺达物流有限公司",
    "contact_name": "王芳",
    "contact_phone": "13912345678",
    "admin_username": "shunda",
    "admin_password": "shunda-pass-1",
}


def counts(db):
    db.rollback()
    return tuple(
        db.scalar(select(func.count()).select_from(m)) for m in (Enterprise, User, AuditEntry)
    )


def test_api_sign_up_creates_a_pending_enterprise_with_normalised_fields(client, db):
    response = client.post(
        "/api/v1/enterprises",
        json={**GOOD, "credit_code": credit_code().lower(), "contact_phone": "139 1234 5678"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "pending"
    enterprise = db.get(Enterprise, body["id"])
    assert enterprise.contact_phone == "+8613912345678"
    assert enterprise.credit_code == enterprise.credit_code.upper()
    user = db.scalars(select(User).where(User.enterprise_id == enterprise.id)).one()
    assert user.role == "enterprise"
    assert user.password_hash != GOOD["admin_password"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"credit_code": "91350100M000100Y44"}, "credit_code"),
        ({"contact_phone": "12812345678"}, "contact_phone"),
        ({"admin_password": "short"}, "admin_password"),
        ({"admin_username": "a b"}, "admin_username"),
        ({"name": ""}, "name"),
    ],
)
def test_api_sign_up_rejects_bad_fields_and_writes_nothing(client, db, change, field):
    before = counts(db)
    response = client.post(
        "/api/v1/enterprises", json={**GOOD, "credit_code": credit_code(), **change}
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert counts(db) == before


def test_duplicate_username_and_credit_code_are_clear_errors(client, db, make):
    existing = make.enterprise(username="taken")
    before = counts(db)
    response = client.post(
        "/api/v1/enterprises",
        json={**GOOD, "admin_username": "taken", "credit_code": existing.credit_code},
    )
    assert response.status_code == 422
    # A request that fails for another reason does not say whether the name exists.
    assert set(response.get_json()["errors"]) == {"credit_code"}
    for change in ({"contact_phone": "12812345678"}, {"admin_password": "short"}):
        other = client.post(
            "/api/v1/enterprises",
            json={**GOOD, "admin_username": "taken", "credit_code": credit_code(), **change},
        )
        assert "admin_username" not in other.get_json()["errors"]
    # Only when everything else is right: the name is taken.
    taken = client.post(
        "/api/v1/enterprises",
        json={**GOOD, "admin_username": "taken", "credit_code": credit_code()},
    )
    assert set(taken.get_json()["errors"]) == {"admin_username"}
    assert counts(db) == before


def test_an_unknown_username_costs_a_hash_of_the_configured_method(client, make, monkeypatch):
    """Timing tells no names: a miss is checked against a hash made the way real ones are."""
    import accounts.services as services

    checked = []
    real = services.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(services, "check_password_hash", spy)
    method = "scrypt:2048:8:1"  # cheap enough for a test, and not what tests otherwise use
    monkeypatch.setitem(client.application.config, "PASSWORD_HASH_METHOD", method)
    assert login(client, "nobody-at-all", "wrong-pass-1").status_code == 401
    assert checked == ["scrypt:2048:8:1"]


def test_sign_up_page_shows_field_errors_in_chinese_and_keeps_input(client, db):
    before = counts(db)
    response = post_form(client, "/signup", {**GOOD, "credit_code": "91350100M000100Y44"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "校验" in page  # the check-character message, translated
    assert "平湖市顺达物流有限公司" in page  # what the user typed stays in the form
    assert counts(db) == before


def test_sign_up_page_success_then_pending_enterprise_is_told_why_it_cannot_file(client):
    response = post_form(client, "/signup", {**GOOD, "credit_code": credit_code()})
    assert response.status_code == 302
    login(client, GOOD["admin_username"], GOOD["admin_password"])
    home = client.get("/").get_data(as_text=True)
    assert 'id="filing-blocked"' in home
    assert "等待审核" in home


def test_admin_approves_then_the_block_is_lifted(client, make):
    enterprise = make.enterprise(status="pending", username="pend")
    admin = make.user("admin")
    login(client, admin.username)
    response = post_form(
        client, f"/admin/enterprises/{enterprise.id}/status", {"status": "approved"}
    )
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": ""})
    other = client.application.test_client()
    login(other, "pend")
    assert 'id="filing-blocked"' not in other.get("/").get_data(as_text=True)


def test_admin_rejects_a_sign_up_saying_why_and_may_approve_it_later(client, make, db):
    """Not approving a sign-up asks for a reason; the enterprise reads it on its home page
    and by SMS, the audit log keeps it, and nothing changes without one."""
    from sms.models import SmsMessage

    enterprise = make.enterprise(status="pending", username="rej1")
    login(client, make.user("admin").username)
    page = client.get("/admin/enterprises?status=pending").get_data(as_text=True)
    row = page.split(f'id="enterprise-{enterprise.id}"')[1].split("</tr>")[0]
    assert "不予通过" in row
    assert ">暂停<" not in row  # suspending is for an approved enterprise
    url = f"/admin/enterprises/{enterprise.id}/status"

    from tests.support import csrf_token

    empty = {"status": "rejected", "reason": "  ", "csrf_token": csrf_token(client)}
    said = client.post(url, data=empty, follow_redirects=True).get_data(as_text=True)
    assert "请至少输入 2 个字符" in said.split('class="flashes"')[1]
    db.rollback()
    assert db.get(Enterprise, enterprise.id).status == "pending"
    before = counts(db)

    reason = "信用代码与营业执照不符"
    assert post_form(client, url, {"status": "rejected", "reason": reason}).status_code == 302
    db.rollback()
    kept = db.get(Enterprise, enterprise.id)
    assert (kept.status, kept.status_reason) == ("rejected", reason)
    assert counts(db)[2] == before[2] + 1  # one audit entry
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.data["reason"]) == ("enterprise.rejected", reason)
    sms = db.scalars(select(SmsMessage).where(SmsMessage.enterprise_id == enterprise.id)).all()
    assert [m.body for m in sms][-1].endswith(f"的注册申请未通过：{reason}")
    listed = client.get("/admin/enterprises?status=rejected").get_data(as_text=True)
    assert "未通过" in listed
    assert reason in listed

    other = client.application.test_client()
    login(other, "rej1")
    home = other.get("/").get_data(as_text=True)
    assert "注册申请未通过" in home.split('id="filing-blocked"')[1]
    assert reason in home.split('id="filing-blocked"')[1]
    assert post_form(client, url, {"status": "approved"}).status_code == 302
    db.rollback()
    assert (db.get(Enterprise, enterprise.id).status_reason, kept.status) == ("", "approved")
    assert 'id="filing-blocked"' not in other.get("/").get_data(as_text=True)


def test_the_api_rejects_a_sign_up_only_with_a_reason(client, make, db):
    from tests.support import api_token

    enterprise = make.enterprise(status="pending")
    admin = api_token(client, make.user("admin").username)
    url = f"/api/v1/enterprises/{enterprise.id}/reject"
    assert client.post(url, json={}, headers=admin).status_code == 422
    db.rollback()
    assert db.get(Enterprise, enterprise.id).status == "pending"
    done = client.post(url, json={"reason": "营业执照已过期"}, headers=admin)
    assert done.status_code == 200
    assert done.get_json()["status"] == "rejected"
    shown = client.get(f"/api/v1/enterprises/{enterprise.id}", headers=admin).get_json()
    assert shown["status_reason"] == "营业执照已过期"
    again = client.post(url, json={"reason": "营业执照已过期"}, headers=admin)
    assert again.status_code == 409  # rejected already


def test_suspended_enterprise_sees_the_suspension_reason(client, make):
    make.enterprise(status="suspended", username="susp")
    login(client, "susp")
    assert "暂停" in client.get("/").get_data(as_text=True)


def test_after_sign_up_the_login_page_carries_the_username(client):
    response = post_form(client, "/signup", {**GOOD, "credit_code": credit_code()})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'value="{GOOD["admin_username"]}"' in page


def test_names_have_sane_lengths_in_the_api_and_the_form(client, db):
    flood = "平湖市" + "超长" * 24 + "有限公司"  # 58 characters
    api = client.post(
        "/api/v1/enterprises", json={**GOOD, "name": flood, "credit_code": credit_code()}
    )
    assert api.status_code == 422
    assert "name" in api.get_json()["errors"]
    page = client.get("/signup").get_data(as_text=True)
    assert 'maxlength="50"' in page  # the phone's keyboard stops at the limit
    assert counts(db) == (0, 0, 0)


def test_long_names_are_cut_in_the_queue_with_the_whole_name_on_hover(client, make):
    long_name = "浙江省嘉兴市平湖市" + "某" * 30 + "物流有限公司"
    p = make.pass_(make.enterprise(name=long_name))
    login(client, make.user("reviewer").username)
    html = client.get("/review").get_data(as_text=True)
    assert f'<span class="clip" title="{long_name}">{long_name}</span>' in html
    assert p.number in html


def test_the_licence_details_given_at_sign_up_are_what_the_admin_vets(client, db, make):
    """The sign-up page takes the legal representative, address and business scope; the
    admin's list shows them opened for a pending enterprise, and says when they are
    missing (an API sign-up may leave them out)."""
    details = {
        "legal_representative": "李国强",
        "address": "浙江省嘉兴市平湖市当湖街道 8 号",
        "business_scope": "普通货物道路运输\n仓储服务",
    }
    code = credit_code()
    response = post_form(client, "/signup", {**GOOD, **details, "credit_code": code})
    assert response.status_code == 302
    db.rollback()
    kept = db.scalars(select(Enterprise).where(Enterprise.credit_code == code)).one()
    assert (kept.legal_representative, kept.address, kept.business_scope) == (
        details["legal_representative"],
        details["address"],
        details["business_scope"],
    )
    bare = client.post(
        "/api/v1/enterprises",
        json={**GOOD, "admin_username": "bare1", "credit_code": credit_code()},
    )
    assert bare.status_code == 201
    db.rollback()
    assert db.get(Enterprise, bare.get_json()["id"]).address == ""
    too_long = client.post(
        "/api/v1/enterprises",
        json={
            **GOOD,
            "admin_username": "long1",
            "credit_code": credit_code(),
            "address": "路" * 201,
        },
    )
    assert too_long.status_code == 422

    login(client, make.user("admin").username)
    page = client.get("/admin/enterprises?status=pending").get_data(as_text=True)
    row = page.split(f'id="enterprise-{kept.id}"')[1].split("</tr>")[0]
    assert '<details class="vetting" open>' in row
    assert "<dt>法定代表人</dt><dd>李国强</dd>" in row
    assert details["address"] in row
    assert "+8613912345678" in row
    missing = page.split(f'id="enterprise-{bare.get_json()["id"]}"')[1].split("</tr>")[0]
    assert "未填写" in missing
    assert "询问" in missing

    # An admin finds it by what the caller says: the code's beginning, contact, mobile.
    for typed in (code[:6].lower(), GOOD["contact_name"], "139-1234-5678", "顺达"):
        found = client.get("/admin/enterprises", query_string={"q": typed}).get_data(as_text=True)
        assert f'id="enterprise-{kept.id}"' in found, typed
    found = client.get("/admin/enterprises", query_string={"q": "13900000000"})
    assert f'id="enterprise-{kept.id}"' not in found.get_data(as_text=True)
