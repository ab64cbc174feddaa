"""The supervisors' dashboard figures on a constructed data set, and who may see them."""

import uuid
from datetime import timedelta

from sqlalchemy import update

from sms.models import SmsMessage
from tests.support import api_token, login, now


def test_dashboard_figures_count_what_happened(client, make, app):
    destination = make.enterprise()
    emergency = make.pass_(
        status="approved", category="emergency", destination_enterprise_id=destination.id
    )
    ordinary = make.pass_(status="approved", destination_enterprise_id=destination.id)
    make.pass_()  # one application waiting
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    for p in (emergency, ordinary):
        client.post(
            "/api/v1/scans",
            headers=officer,
            json={"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code},
        )
    client.post(
        "/api/v1/scans",
        headers=officer,
        json={  # ordinary leaves without arriving
            "scan_id": str(uuid.uuid4()),
            "checkpoint_id": gate.id,
            "code": ordinary.code,
        },
    )
    with app.extensions["sessions"]() as session:
        session.execute(
            # the pass's own SMS (the consignee's "truck entered" text carries the pass too)
            update(SmsMessage)
            .where(SmsMessage.dedupe_key == f"pass:{ordinary.id}:approved")
            .values(status="failed")
        )
        session.commit()
    supervisor = api_token(client, make.user("supervisor").username)
    figures = client.get("/api/v1/dashboard", headers=supervisor).get_json()
    assert figures["inside_now"] == 1
    assert figures["green_channel_inside"] == 1
    assert figures["today"] == {"entry": 2, "arrival": 0, "exit": 1}
    assert figures["open_anomalies"] == {"no_arrival": 1}
    assert figures["pending_applications"] == 1
    assert figures["oldest_pending_seconds"] >= 0
    assert figures["sms_failures"] == 1
    hourly = figures["scans_per_gate_hourly"]
    assert sum(hourly["series"][gate.code]) == 3
    assert len(hourly["hours"]) == 24
    assert sum(figures["daily_trips"]["counts"]) == 2
    assert len(figures["daily_trips"]["days"]) == 30


def test_old_scans_fall_out_of_the_last_24_hours(client, make, app):
    p = make.pass_(status="approved")
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    client.post(
        "/api/v1/scans",
        headers=officer,
        json={"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code},
    )
    app.extensions["clock"] = lambda: now() + timedelta(hours=25)
    supervisor = api_token(client, make.user("supervisor").username)
    figures = client.get("/api/v1/dashboard", headers=supervisor).get_json()
    assert figures["scans_per_gate_hourly"]["series"] == {}
    assert figures["today"]["entry"] == 0


def test_dashboard_is_for_oversight_roles(client, make):
    for role, expected in (
        ("admin", 200),
        ("reviewer", 200),
        ("supervisor", 200),
        ("officer", 403),
    ):
        other = client.application.test_client()
        login(other, make.user(role).username)
        assert other.get("/dashboard").status_code == expected
    owner = api_token(client, make.enterprise_user(make.enterprise()).username)
    assert client.get("/api/v1/dashboard", headers=owner).status_code == 403


def test_past_days_are_kept_and_a_voided_trip_still_comes_off(client, make, app):
    p = make.pass_(status="approved")
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    entry = str(uuid.uuid4())
    client.post(
        "/api/v1/scans",
        headers=officer,
        json={"scan_id": entry, "checkpoint_id": gate.id, "code": p.code},
    )
    app.extensions["clock"] = lambda: now() + timedelta(days=2)
    supervisor = api_token(client, make.user("supervisor").username)
    first = client.get("/api/v1/dashboard", headers=supervisor).get_json()
    assert first["daily_trips"]["counts"][-3:] == [1, 0, 0]
    cached = dict(app.extensions["dashboard_windows"]._data)
    assert any(key[0] == "trips" for key in cached)

    # The past day is answered from memory: a second request runs no trip count for it.
    second = client.get("/api/v1/dashboard", headers=supervisor).get_json()
    assert second["daily_trips"] == first["daily_trips"]

    # A supervisor annuls the entry two days later: the trip is void, the day's count drops.
    annulled = client.post(
        f"/api/v1/scans/{entry}/annul", headers=supervisor, json={"reason": "wrong_vehicle"}
    )
    assert annulled.status_code == 200, annulled.get_json()
    third = client.get("/api/v1/dashboard", headers=supervisor).get_json()
    assert sum(third["daily_trips"]["counts"]) == 0


def test_the_page_links_its_figures_and_names_reasons_as_labels(client, make):
    from tests.support import login

    p = make.pass_(status="approved")
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    client.post(  # a wrong plate typed by hand: refused
        "/api/v1/scans",
        headers=officer,
        json={
            "scan_id": str(uuid.uuid4()),
            "checkpoint_id": gate.id,
            "number": p.number,
            "plate": "浙A00000",
        },
    )
    login(client, make.user("supervisor").username)
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="entries-today" href="/trips?from=' in page
    assert 'id="applications-waiting" href="/passes?status=submitted"' in page
    denied = page.split('id="denied-today"')[1].split("</section>")[0]
    assert "。" not in denied  # a label beside its count, not a sentence and a colon
    assert '<b class="count">1</b>' in denied
    sms = page.split('data-figure="sms_failures"')[0].rsplit("<div", 1)[1]
    assert sms.startswith(' class="figure" ')  # nothing failed: not red
