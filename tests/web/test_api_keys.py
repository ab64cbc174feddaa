"""Machine keys: an enterprise's system files passes within the key's scopes and its own
enterprise; a key is shown once, never signs in, is limited per minute, kept out of the
logs, and revoked at once in this process and in another."""

import logging
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from accounts.models import ApiKey, User
from passes.models import Pass
from tests.support import api_token, application, id_number, plate

ROOT = Path(__file__).resolve().parents[2]


def make_key(client, headers, scopes, name="运输管理系统"):
    response = client.post(
        "/api/v1/api-keys", json={"name": name, "scopes": scopes}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_a_key_files_within_its_scopes_and_its_enterprise(client, make, db):
    shipper, other = make.enterprise(), make.enterprise()
    clerk = api_token(client, make.enterprise_user(shipper).username)
    made = make_key(client, clerk, ["passes:write", "fleet:write", "read"])
    key = made["key"]
    assert key.startswith("tpk_")
    assert made["prefix"] == key[:8]
    listed = client.get("/api/v1/api-keys", headers=clerk).get_json()["items"]
    assert [k["prefix"] for k in listed] == [made["prefix"]]
    assert key not in str(listed)  # shown once
    assert db.scalar(select(ApiKey.key_hash)) != key  # only its hash is kept

    vehicle = client.post(
        "/api/v1/vehicles", json={"plate": plate(), "vehicle_type": "van"}, headers=bearer(key)
    )
    assert vehicle.status_code == 201, vehicle.get_json()
    driver = client.post(
        "/api/v1/drivers",
        json={"name": "王师傅", "id_number": id_number(), "phone": "13900000001"},
        headers=bearer(key),
    )
    assert driver.status_code == 201, driver.get_json()
    filed = client.post(
        "/api/v1/passes",
        json=application(vehicle.get_json()["id"], driver.get_json()["id"]),
        headers=bearer(key),
    )
    assert filed.status_code == 201, filed.get_json()
    db.rollback()
    p = db.get(Pass, filed.get_json()["id"])
    machine = db.get(User, p.created_by_id)
    assert (machine.machine, machine.enterprise_id) == (True, shipper.id)  # the key's own actor
    assert client.get(f"/api/v1/passes/{p.id}", headers=bearer(key)).status_code == 200

    theirs = make.pass_(enterprise=other)
    assert client.get(f"/api/v1/passes/{theirs.id}", headers=bearer(key)).status_code == 404
    # What no scope names is a person's: making keys, scanning.
    refused = client.post(
        "/api/v1/api-keys", json={"name": "x", "scopes": ["read"]}, headers=bearer(key)
    )
    assert refused.status_code == 403
    assert "passes:write" not in refused.get_json()["detail"]
    # The key's user never signs in and is not listed among the people.
    assert (
        client.post(
            "/api/v1/auth/token", json={"username": machine.username, "password": key}
        ).status_code
        == 422
    )
    admin = api_token(client, make.user("admin").username)
    users = client.get("/api/v1/users?per_page=200", headers=admin).get_json()["items"]
    assert machine.username not in {u["username"] for u in users}


def test_a_read_key_reads_but_writes_nothing(client, make, db):
    shipper = make.enterprise()
    clerk = api_token(client, make.enterprise_user(shipper).username)
    key = make_key(client, clerk, ["read"])["key"]
    assert client.get("/api/v1/passes", headers=bearer(key)).status_code == 200
    refused = client.post(
        "/api/v1/vehicles", json={"plate": plate(), "vehicle_type": "van"}, headers=bearer(key)
    )
    assert refused.status_code == 403
    assert "fleet:write" in refused.get_json()["detail"]
    db.rollback()
    assert db.scalar(select(ApiKey.last_used_at)) is not None


def test_bad_keys_are_refused_and_nothing_is_written(client, make, db):
    clerk = api_token(client, make.enterprise_user(make.enterprise()).username)
    admin = api_token(client, make.user("admin").username)
    officer = api_token(client, make.officer(make.checkpoint()).username)
    for headers, body, status in (
        (clerk, {"name": "", "scopes": ["read"]}, 422),
        (clerk, {"name": "ERP", "scopes": ["scans:write"]}, 422),
        (clerk, {"name": "ERP", "scopes": []}, 422),
        (clerk, {"name": "ERP", "scopes": "read"}, 422),
        (admin, {"name": "省平台", "scopes": ["passes:write"]}, 422),  # the jurisdiction reads
        (officer, {"name": "ERP", "scopes": ["read"]}, 403),
    ):
        response = client.post("/api/v1/api-keys", json=body, headers=headers)
        assert response.status_code == status, (body, response.get_json())
    db.rollback()
    assert db.scalars(select(ApiKey)).all() == []
    assert db.scalars(select(User).where(User.machine.is_(True))).all() == []
    assert client.get("/api/v1/passes", headers=bearer("tpk_" + "x" * 43)).status_code == 401


def test_a_key_is_limited_per_minute_and_kept_out_of_the_logs(app, client, make, caplog):
    app.config["API_KEY_PER_MINUTE"] = 3
    clerk = api_token(client, make.enterprise_user(make.enterprise()).username)
    key = make_key(client, clerk, ["read"])["key"]
    with caplog.at_level(logging.DEBUG):
        answers = [client.get("/api/v1/passes", headers=bearer(key)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].headers.get("Retry-After")
    assert all(key not in record.getMessage() for record in caplog.records)
    assert all(key[4:20] not in str(record.__dict__) for record in caplog.records)


SECOND_PROCESS = """
import sys
from app import create_app
from tests.support import app_config
app = create_app(app_config(sys.argv[1], sys.argv[2]))
answer = app.test_client().get("/api/v1/passes", headers={"Authorization": "Bearer " + sys.argv[3]})
print(answer.status_code)
"""


def test_a_revoked_key_stops_at_once_here_and_in_another_process(
    client, make, database_url, tmp_path
):
    clerk = api_token(client, make.enterprise_user(make.enterprise()).username)
    made = make_key(client, clerk, ["read"])

    def elsewhere():
        done = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, database_url, str(tmp_path), made["key"]],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return int(done.stdout.strip().splitlines()[-1])

    assert elsewhere() == 200
    assert client.get("/api/v1/passes", headers=bearer(made["key"])).status_code == 200
    revoked = client.delete(f"/api/v1/api-keys/{made['id']}", headers=clerk)
    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_at"]
    assert client.get("/api/v1/passes", headers=bearer(made["key"])).status_code == 401
    assert elsewhere() == 401
    # Nobody else's to revoke: another enterprise's clerk gets 404.
    stranger = api_token(client, make.enterprise_user(make.enterprise()).username)
    assert client.delete(f"/api/v1/api-keys/{made['id']}", headers=stranger).status_code == 404


def test_the_page_makes_a_key_shows_it_once_and_revokes_it_after_asking(client, make, db):
    from tests.support import login, post_form

    clerk = make.enterprise_user(make.enterprise())
    login(client, clerk.username)
    page = client.get("/integrations/keys").get_data(as_text=True)
    assert 'id="new-key"' in page
    assert "bookings:write" in page
    once = page.split('name="once" value="')[1].split('"')[0]
    form = {"name": "运输管理系统", "scopes": ["read", "passes:write"], "once": once}
    made = post_form(client, "/integrations/keys", form)
    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"
    shown = made.get_data(as_text=True)
    raw = shown.split('id="raw-key">')[1].split("<")[0]
    assert raw.startswith("tpk_")
    assert client.get("/api/v1/passes", headers=bearer(raw)).status_code == 200
    # The browser's reload posts the form again: no second key.
    assert post_form(client, "/integrations/keys", form).status_code == 302
    again = client.get("/integrations/keys").get_data(as_text=True)
    assert raw not in again  # shown once
    assert again.count('class="button danger"') == 1
    assert raw[:8] in again
    assert "data-confirm" in again  # revoking asks first

    once = again.split('name="once" value="')[1].split('"')[0]
    refused = post_form(client, "/integrations/keys", {"name": "", "scopes": [], "once": once})
    assert refused.status_code == 422
    assert 'value="read" checked' not in refused.get_data(as_text=True)  # kept as sent
    assert "Nothing was saved" in refused.get_data(as_text=True) or "未保存" in refused.get_data(
        as_text=True
    )
    db.rollback()
    [key] = db.scalars(select(ApiKey)).all()
    revoked = post_form(client, f"/integrations/keys/{key.id}/revoke")
    assert revoked.status_code == 302
    assert client.get("/api/v1/passes", headers=bearer(raw)).status_code == 401
    officer = make.officer(make.checkpoint())
    login(client, officer.username)
    assert client.get("/integrations/keys").status_code == 403
