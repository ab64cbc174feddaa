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
