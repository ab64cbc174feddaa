"""An enterprise user never sees another enterprise's objects: 404, through API and pages."""

from tests.support import api_token, login


def test_enterprise_gets_404_for_another_enterprise_through_the_api(client, make):
    mine, other = make.enterprise(), make.enterprise()
    headers = api_token(client, make.enterprise_user(mine).username)
    assert client.get(f"/api/v1/enterprises/{mine.id}", headers=headers).status_code == 200
    response = client.get(f"/api/v1/enterprises/{other.id}", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["status"] == 404
    missing = client.get("/api/v1/enterprises/999999", headers=headers)
    # Indistinguishable from a missing one (each answer names its own request).
    assert {**missing.get_json(), "request_id": ""} == {**response.get_json(), "request_id": ""}


def test_enterprise_list_holds_only_its_own_row(client, make):
    mine = make.enterprise()
    make.enterprise(), make.enterprise(status="pending")
    headers = api_token(client, make.enterprise_user(mine).username)
    body = client.get("/api/v1/enterprises", headers=headers).get_json()
    assert body["total"] == 1
    assert [e["id"] for e in body["items"]] == [mine.id]


def test_enterprise_pages_show_only_its_own_enterprise(client, make):
    mine, other = make.enterprise(), make.enterprise()
    login(client, make.enterprise_user(mine).username)
    page = client.get("/").get_data(as_text=True)
    assert mine.name in page
    assert other.name not in page
    assert client.get("/admin/enterprises").status_code == 403


def test_officers_read_no_enterprise_contacts(client, make):
    """docs/architecture.md, Roles: officers have their checkpoints only; the scan answer names the
    destination, so the enterprise directory (phones, credit codes) is not theirs."""
    enterprise = make.enterprise()
    headers = api_token(client, make.officer(make.checkpoint("gate")).username)
    listed = client.get("/api/v1/enterprises", headers=headers)
    assert listed.status_code == 200
    assert listed.get_json()["items"] == []
    assert enterprise.contact_phone not in listed.get_data(as_text=True)
    assert client.get(f"/api/v1/enterprises/{enterprise.id}", headers=headers).status_code == 404
