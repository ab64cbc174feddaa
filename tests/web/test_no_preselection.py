"""Consequential choices are never preselected: the pass category (the green channel jumps
the review queue) and a new user's role (administrator). A form sent without them is a
clear error and creates nothing. Drivers' names are labelled as a person's name."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from accounts.models import User
from passes.models import Pass
from tests.support import PASSWORD, login, now, post_form


def options(html, select_id):
    block = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option([^>]*)>", block)


def test_no_category_is_preselected_and_one_must_be_chosen(client, make, db):
    enterprise = make.enterprise()
    owner = make.enterprise_user(enterprise)
    vehicle, driver = make.vehicle(owner), make.driver(owner)
    login(client, owner.username)
    found = options(client.get("/passes/new").get_data(as_text=True), "category")
    assert 'value=""' in found[0]
    assert not any("selected" in o for o in found[1:])
    start = now() + timedelta(hours=1)
    local = lambda t: t.astimezone().strftime("%Y-%m-%dT%H:%M")  # noqa: E731
    response = post_form(
        client,
        "/passes/new",
        {
            "vehicle_id": vehicle.id,
            "driver_id": driver.id,
            "destination_enterprise_id": enterprise.id,
            "origin": "平湖",
            "cargo": "大米",
            "category": "",
            "valid_from": local(start),
            "valid_until": local(start + timedelta(days=2)),
        },
    )
    assert response.status_code == 422
    assert "此项为必填项" in response.get_data(as_text=True) or "必填" in response.get_data(
        as_text=True
    )
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Pass)) == 0


def test_no_role_is_preselected_for_a_new_user(client, make, db):
    login(client, make.user("admin").username)
    found = options(client.get("/admin/users").get_data(as_text=True), "role")
    assert 'value=""' in found[0]
    assert not any("selected" in o for o in found[1:])
    before = db.scalar(select(func.count()).select_from(User))
    response = post_form(
        client, "/admin/users", {"username": "fresh1", "password": PASSWORD, "role": ""}
    )
    assert response.status_code == 422
    db.rollback()
    assert db.scalar(select(func.count()).select_from(User)) == before


def test_a_drivers_name_is_labelled_as_a_persons_name(client, make):
    owner = make.enterprise_user(make.enterprise())
    make.driver(owner)
    login(client, owner.username)
    html = client.get("/fleet/drivers").get_data(as_text=True)
    assert re.search(r'<label for="name">姓名</label>', html)
    assert "<th>姓名</th>" in html


def test_filing_the_same_pass_twice_is_refused_unless_asked(client, make, db):
    from tests.support import api_token, application

    enterprise = make.enterprise()
    owner = make.enterprise_user(enterprise)
    vehicle, driver = make.vehicle(owner), make.driver(owner)
    headers = api_token(client, owner.username)
    body = application(vehicle.id, driver.id)
    first = client.post("/api/v1/passes", json=body, headers=headers)
    assert first.status_code == 201
    again = client.post("/api/v1/passes", json=body, headers=headers)
    assert again.status_code == 409
    assert first.get_json()["number"] in again.get_json()["detail"]
    anyway = client.post("/api/v1/passes", json={**body, "file_anyway": True}, headers=headers)
    assert anyway.status_code == 201
    # On the page: the refusal names the pass and offers "file anyway".
    login(client, owner.username)
    start = now() + timedelta(hours=1)
    local = lambda t: t.astimezone().strftime("%Y-%m-%dT%H:%M")  # noqa: E731
    form = {
        "vehicle_id": vehicle.id,
        "driver_id": driver.id,
        "destination_enterprise_id": enterprise.id,
        "origin": "平湖",
        "cargo": "大米",
        "category": "products",
        "valid_from": local(start),
        "valid_until": local(start + timedelta(days=2)),
    }
    page = post_form(client, "/passes/new", form)
    assert page.status_code == 409
    html = page.get_data(as_text=True)
    assert first.get_json()["number"] in html
    assert 'name="file_anyway"' in html
    assert post_form(client, "/passes/new", {**form, "file_anyway": "y"}).status_code == 302
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Pass)) == 3


def test_whitelisting_asks_first(client, make):
    """Whitelisting means automatic approval: the button asks before it acts."""
    enterprise = make.enterprise()
    login(client, make.user("admin").username)
    html = client.get("/admin/enterprises").get_data(as_text=True)
    pattern = rf'<form[^>]*enterprises/{enterprise.id}/whitelist"[^>]*>'
    form = re.search(pattern, html).group(0)
    assert "data-confirm=" in form
    assert "自动" in form


def test_an_unresolved_anomaly_is_not_called_open_as_in_a_door(client, make, db):
    """'Open' meant four things and was translated once, as 打开 (open a door)."""
    import uuid

    p = make.pass_(status="approved")
    gate = make.checkpoint("gate")
    officer = api_token_for(client, make.officer(gate))
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
    client.post("/api/v1/scans", json={**body, "direction": "exit"}, headers=officer)
    login(client, make.user("supervisor").username)
    html = client.get("/anomalies").get_data(as_text=True)
    assert "未处理" in html
    assert "打开" not in html


def api_token_for(client, user):
    from tests.support import api_token

    return api_token(client, user.username)
