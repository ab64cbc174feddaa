"""Vehicles and drivers through the API and pages: validation, uniqueness, masking,
edit and archive, and tenant isolation."""

import pytest
from sqlalchemy import func, select

from fleet.models import Driver, Vehicle
from tests.support import api_token, id_number, login, post_form


@pytest.fixture
def owner(client, make):
    user = make.enterprise_user(make.enterprise())
    return {"user": user, "headers": api_token(client, user.username)}


def test_vehicle_plate_is_normalised_and_unique_within_the_enterprise(client, owner, make):
    response = client.post(
        "/api/v1/vehicles",
        headers=owner["headers"],
        json={"plate": "浙f·12345", "vehicle_type": "tanker", "capacity_kg": 9000},
    )
    assert response.status_code == 201
    assert response.get_json()["plate"] == "浙F12345"
    again = client.post(
        "/api/v1/vehicles",
        headers=owner["headers"],
        json={"plate": "浙F 12345", "vehicle_type": "tanker"},
    )
    assert again.status_code == 422
    assert "plate" in again.get_json()["errors"]
    other = api_token(client, make.enterprise_user(make.enterprise()).username)
    elsewhere = client.post(
        "/api/v1/vehicles", headers=other, json={"plate": "浙F12345", "vehicle_type": "tanker"}
    )
    assert elsewhere.status_code == 201  # unique within an enterprise, not across


@pytest.mark.parametrize(
    "body",
    [
        {"plate": "浙F1234学", "vehicle_type": "van"},
        {"plate": "浙F12345", "vehicle_type": "spaceship"},
        {"plate": "浙F12345", "vehicle_type": "van", "capacity_kg": -5},
        {"plate": "<script>", "vehicle_type": "van"},
    ],
)
def test_bad_vehicles_are_refused_and_nothing_is_stored(client, owner, db, body):
    assert client.post("/api/v1/vehicles", headers=owner["headers"], json=body).status_code == 422
    assert db.scalar(select(func.count()).select_from(Vehicle)) == 0


def test_driver_id_number_is_checked_and_masked_in_the_api(client, owner):
    bad = client.post(
        "/api/v1/drivers",
        headers=owner["headers"],
        json={"name": "王五", "id_number": "330482199001010011", "phone": "13800000000"},
    )
    assert "id_number" in bad.get_json()["errors"]
    number = id_number(5)
    good = client.post(
        "/api/v1/drivers",
        headers=owner["headers"],
        json={"name": "王五", "id_number": number, "phone": "138 0000 0000"},
    )
    body = good.get_json()
    assert good.status_code == 201
    assert body["id_number_masked"] == number[:6] + "********" + number[-4:]
    assert number not in good.get_data(as_text=True)
    assert body["phone"] == "+8613800000000"
    listed = client.get("/api/v1/drivers", headers=owner["headers"]).get_data(as_text=True)
    assert number not in listed


def test_full_id_number_only_on_the_drivers_own_detail_page(client, owner, make):
    driver = make.driver(owner["user"])
    login(client, owner["user"].username)
    listed = client.get("/fleet/drivers").get_data(as_text=True)
    assert driver.id_number not in listed
    assert 'data-label="姓名"' in listed  # a person's name, not a thing's (名称)
    assert driver.id_number in client.get(f"/fleet/drivers/{driver.id}").get_data(as_text=True)
    other = client.application.test_client()
    login(other, make.user("supervisor").username)
    api = other.get(f"/api/v1/drivers/{driver.id}").get_data(as_text=True)
    assert driver.id_number not in api


def test_other_enterprise_gets_404_for_fleet_objects(client, owner, make):
    vehicle, driver = make.vehicle(owner["user"]), make.driver(owner["user"])
    intruder = make.enterprise_user(make.enterprise())
    headers = api_token(client, intruder.username)
    assert client.get(f"/api/v1/vehicles/{vehicle.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/drivers/{driver.id}", headers=headers).status_code == 404
    assert (
        client.put(
            f"/api/v1/vehicles/{vehicle.id}",
            headers=headers,
            json={"plate": "浙F99999", "vehicle_type": "van"},
        ).status_code
        == 404
    )
    login(client, intruder.username)
    assert client.get(f"/fleet/vehicles/{vehicle.id}").status_code == 404
    assert client.get(f"/fleet/drivers/{driver.id}").status_code == 404


def test_edit_and_archive(client, owner, make):
    vehicle = make.vehicle(owner["user"])
    headers = owner["headers"]
    edited = client.put(
        f"/api/v1/vehicles/{vehicle.id}",
        headers=headers,
        json={"plate": vehicle.plate, "vehicle_type": "van", "capacity_kg": 1500},
    )
    assert edited.get_json()["capacity_kg"] == 1500
    client.post(f"/api/v1/vehicles/{vehicle.id}/archive", headers=headers, json={"archived": True})
    assert client.get("/api/v1/vehicles", headers=headers).get_json()["total"] == 0
    archived = client.get("/api/v1/vehicles?archived=true", headers=headers).get_json()
    assert [v["id"] for v in archived["items"]] == [vehicle.id]


def test_plate_of_a_vehicle_with_passes_cannot_change(client, make):
    p = make.pass_()
    owner = make.enterprise_user(p.enterprise)
    headers = api_token(client, owner.username)
    response = client.put(
        f"/api/v1/vehicles/{p.vehicle_id}",
        headers=headers,
        json={"plate": "浙F99999", "vehicle_type": "van"},
    )
    assert response.status_code == 422


def test_vehicle_page_registers_and_shows_errors(client, owner, db):
    login(client, owner["user"].username)
    bad = post_form(client, "/fleet/vehicles", {"plate": "浙F1234警", "vehicle_type": "van"})
    assert bad.status_code == 422
    assert "警用号牌" in bad.get_data(as_text=True)
    good = post_form(
        client,
        "/fleet/vehicles",
        {"plate": "浙f54321", "vehicle_type": "van", "capacity_kg": "abc"},
    )
    assert good.status_code == 422  # capacity must be a number
    good = post_form(client, "/fleet/vehicles", {"plate": "浙f54321", "vehicle_type": "van"})
    assert good.status_code == 302
    assert "浙F54321" in client.get("/fleet/vehicles").get_data(as_text=True)


def test_archive_from_the_page(client, owner, make, db):
    driver = make.driver(owner["user"])
    login(client, owner["user"].username)
    post_form(client, f"/fleet/drivers/{driver.id}/archive", {"archived": "1"})
    db.rollback()
    assert db.get(Driver, driver.id).archived is True
