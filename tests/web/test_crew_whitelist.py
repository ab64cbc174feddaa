"""The crew whitelist (司乘人员白名单): only listed crews get passes where it is required,
and a crew taken off the list is refused entry at the gate while it may still leave."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.support import api_token, login, now, post_form


def scan(client, headers, checkpoint, code, **extra):
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": code, **extra}
    return client.post("/api/v1/scans", json=body, headers=headers).get_json()


def test_a_pass_is_approved_only_for_a_listed_crew_and_an_unlisted_one_cannot_enter(
    app, client, make
):
    app.config["CREW_WHITELIST_REQUIRED"] = True
    p = make.pass_()
    reviewer = api_token(client, make.user("reviewer").username)
    refused = client.post(f"/api/v1/passes/{p.id}/approve", json={}, headers=reviewer)
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "driver_not_whitelisted"
    until = (now() + timedelta(days=30)).date().isoformat()
    listed = client.post(
        f"/api/v1/drivers/{p.driver_id}/whitelist",
        json={"valid_until": until, "note": "核酸阴性, 身份核验"},
        headers=reviewer,
    )
    assert listed.status_code == 200, listed.get_json()
    assert listed.get_json()["whitelist_note"] == "核酸阴性, 身份核验"
    approved = client.post(f"/api/v1/passes/{p.id}/approve", json={}, headers=reviewer)
    assert approved.status_code == 200, approved.get_json()
    code = approved.get_json()["code"]

    assert (
        client.delete(f"/api/v1/drivers/{p.driver_id}/whitelist", headers=reviewer).status_code
        == 200
    )
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    entry = scan(client, officer, gate, code, direction="entry")
    assert (entry["decision"], entry["reasons"]) == ("deny", ["driver_not_whitelisted"])


def test_whitelisting_needs_a_reviewer_and_a_date_ahead(client, make):
    enterprise = make.enterprise()
    driver = make.driver(make.enterprise_user(enterprise))
    reviewer = api_token(client, make.user("reviewer").username)
    past = client.post(
        f"/api/v1/drivers/{driver.id}/whitelist",
        json={"valid_until": "2020-01-01"},
        headers=reviewer,
    )
    assert past.status_code == 422
    for far in ("2099-01-01", "9999-12-31"):  # an entry is checked again within a year
        too_far = client.post(
            f"/api/v1/drivers/{driver.id}/whitelist", json={"valid_until": far}, headers=reviewer
        )
        assert too_far.status_code == 422, too_far.get_json()
        assert "valid_until" in too_far.get_json()["errors"]
    soon = (now() + timedelta(days=30)).date().isoformat()
    bulk = client.post(
        "/api/v1/drivers/whitelist",
        json={"driver_ids": [driver.id, 999999], "valid_until": soon},
        headers=reviewer,
    )
    assert bulk.status_code == 404  # all or none
    huge = client.post(
        "/api/v1/drivers/whitelist",
        json={"driver_ids": [driver.id, 2**66], "valid_until": soon},
        headers=reviewer,
    )
    assert huge.status_code == 422  # no id is that large: told so, not a 500
    owner = api_token(client, make.enterprise_user(enterprise).username)
    assert (
        client.get(f"/api/v1/drivers/{driver.id}", headers=owner).get_json()["whitelist_until"]
        is None
    )


def test_reviewers_list_crews_on_a_page_and_enterprises_see_their_own_with_a_reminder(
    app, client, make
):
    from fleet.models import Driver

    enterprise = make.enterprise()
    clerk = make.enterprise_user(enterprise)
    ticked, pasted, other = (make.driver(clerk) for _ in range(3))
    reviewer = make.user("reviewer")
    login(client, reviewer.username)
    page = client.get("/crews")
    assert page.status_code == 200
    assert ticked.name in page.get_data(as_text=True)
    soon = (now() + timedelta(days=3)).date().isoformat()
    done = post_form(
        client,
        "/crews",
        {
            "driver_ids": [str(ticked.id)],
            "id_numbers": f"{pasted.id_number}\n",
            "valid_until": soon,
            "note": "身份核验",
            "action": "whitelist",
        },
    )
    assert done.status_code == 302
    unknown = post_form(
        client,
        "/crews",
        {
            "driver_ids": [str(other.id)],
            "id_numbers": "110101199003070000",
            "valid_until": soon,
            "note": "待核",
            "action": "whitelist",
        },
    )
    assert unknown.status_code == 422  # told why, and shown again as sent, to be mended
    shown = unknown.get_data(as_text=True)
    assert ">110101199003070000</textarea>" in shown
    assert "未作任何更改" in shown  # the ticked driver was not listed either
    assert f'value="{other.id}" checked' in shown
    assert f'value="{soon}"' in shown
    assert 'value="待核"' in shown
    with make.session() as session:
        listed = {d.id: d.whitelist_until for d in session.query(Driver).all()}
    assert listed[ticked.id] is not None
    assert listed[pasted.id] is not None
    assert listed[other.id] is None  # an unknown number changes nothing
    ending = client.get("/crews?shown=ending").get_data(as_text=True)
    assert f'id="crew-{ticked.id}"' in ending
    assert f'id="crew-{other.id}"' not in ending

    off = post_form(client, "/crews", {"action": "unlist", "driver_id": str(pasted.id)})
    assert off.status_code == 302
    post_form(client, "/logout")

    login(client, clerk.username)
    drivers_page = client.get("/fleet/drivers")
    assert drivers_page.status_code == 200, drivers_page.get_data(as_text=True)[-1500:]
    drivers = drivers_page.get_data(as_text=True)
    assert 'id="whitelist-ending"' in drivers  # one entry ends within the week
    row = drivers.split(f'id="driver-{pasted.id}"')[1].split("</tr>")[0]
    assert "whitelist" in row
    assert client.get("/crews").status_code == 403
