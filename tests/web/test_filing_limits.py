"""One enterprise cannot exhaust the pass numbers or flood SMS: applications waiting are
capped, filing is rate-limited (both on the form and the API, never a 500), pass serials
warn long before their end and end in a clear 409, and a whitelisted enterprise's
automatic approvals and their SMS count against the same limits as everything else."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import func, select

from accounts.models import Enterprise
from passes import filing
from passes.domain import PassNumbersExhausted
from passes.models import Pass, PassSerial
from passes.views import NOT_AUTOMATIC
from sms.models import SmsMessage
from tests.support import api_token, application, login, now, post_form

AREA = "330482"
METRICS_TOKEN = "metrics-token-0123456789"


def shipper(client, make, *, whitelisted=False, trucks=1):
    enterprise = make.enterprise()
    if whitelisted:
        with make.session() as session:
            session.get(Enterprise, enterprise.id).whitelisted = True
            session.commit()
    owner = make.enterprise_user(enterprise)
    vehicles = [make.vehicle(owner) for _ in range(trucks)]
    return enterprise, owner, vehicles, make.driver(owner), api_token(client, owner.username)


def file(client, headers, vehicle, driver, **kw):
    body = {**application(vehicle.id, driver.id), "file_anyway": True, **kw}
    return client.post("/api/v1/passes", json=body, headers=headers)


def in_window(client, headers, vehicle, driver, hours_from_now):
    """A pass of an hour, `hours_from_now` ahead: windows of one truck that do not overlap."""
    start = (now() + timedelta(hours=hours_from_now)).replace(microsecond=0)
    return file(
        client,
        headers,
        vehicle,
        driver,
        valid_from=start.isoformat(),
        valid_until=(start + timedelta(hours=1)).isoformat(),
    )


def form_of(enterprise, vehicle, driver):
    start = now() + timedelta(hours=1)
    local = lambda t: t.astimezone().strftime("%Y-%m-%dT%H:%M")  # noqa: E731
    return {
        "vehicle_id": vehicle.id,
        "driver_id": driver.id,
        "destination_enterprise_id": enterprise.id,
        "origin": "平湖",
        "cargo": "大米",
        "category": "products",
        "valid_from": local(start),
        "valid_until": local(start + timedelta(days=2)),
        "file_anyway": "y",
    }


def said(app, message, **params):
    """The message as the app says it (in its default language, zh_CN)."""
    with app.test_request_context():
        return gettext(message, **params)


def passes(db):
    db.rollback()
    return db.scalar(select(func.count()).select_from(Pass))


def last_serial(db):
    db.rollback()
    return db.scalar(select(PassSerial.last).where(PassSerial.area_code == AREA))


def approval_sms(db, enterprise_id):
    db.rollback()
    return db.scalar(
        select(func.count()).where(
            SmsMessage.enterprise_id == enterprise_id,
            SmsMessage.dedupe_key.like("pass:%:approved"),
        )
    )


# --- waiting applications ----------------------------------------------------------------


def test_the_api_refuses_the_application_past_the_cap_and_writes_nothing(app, client, make, db):
    app.config["PENDING_APPLICATIONS_PER_ENTERPRISE"] = 3
    enterprise, owner, [truck], driver, headers = shipper(client, make)
    answers = [file(client, headers, truck, driver) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    refused = file(client, headers, truck, driver)
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["detail"] == said(app, filing.TOO_MANY_PENDING, limit=3)
    assert passes(db) == 3
    assert last_serial(db) == 3  # the refused filing took no number
    # A decision (here a cancellation) makes room again, with the next number.
    cancel = client.post(f"/api/v1/passes/{answers[0].get_json()['id']}/cancel", headers=headers)
    assert cancel.status_code == 200
    again = file(client, headers, truck, driver)
    assert again.status_code == 201
    assert again.get_json()["number"] == f"{AREA}000004"
    # The cap is the enterprise's own: another enterprise files as before.
    _, _, [other_truck], other_driver, other = shipper(client, make)
    assert file(client, other, other_truck, other_driver).status_code == 201


def test_the_form_refuses_the_application_past_the_cap_with_the_reason(app, client, make, db):
    app.config["PENDING_APPLICATIONS_PER_ENTERPRISE"] = 2
    enterprise, owner, [truck], driver, headers = shipper(client, make)
    for _ in range(2):
        assert file(client, headers, truck, driver).status_code == 201
    login(client, owner.username)
    page = post_form(client, "/passes/new", form_of(enterprise, truck, driver))
    assert page.status_code == 409
    html = page.get_data(as_text=True)
    assert str(escape(said(app, filing.TOO_MANY_PENDING, limit=2))) in html
    assert 'name="vehicle_id"' in html  # the form again, to keep what was typed
    assert passes(db) == 2
    assert last_serial(db) == 2


# --- filing rate -------------------------------------------------------------------------


def test_filing_past_the_hourly_limit_answers_429_with_retry_after(app, client, make, db):
    app.config["APPLICATIONS_PER_HOUR"] = 2
    enterprise, owner, [truck], driver, headers = shipper(client, make)
    first = file(client, headers, truck, driver)
    assert file(client, headers, truck, driver).status_code == 201
    refused = file(client, headers, truck, driver)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert 3000 < int(refused.headers["Retry-After"]) <= 3601
    detail = refused.get_json()["detail"]
    assert detail == said(app, filing.FILED_MOST_IN_AN_HOUR, limit=2, minutes=60)
    # Cancelling does not give the filing back: every filing counts.
    client.post(f"/api/v1/passes/{first.get_json()['id']}/cancel", headers=headers)
    assert file(client, headers, truck, driver).status_code == 429
    # The form says the same, with the same header.
    login(client, owner.username)
    page = post_form(client, "/passes/new", form_of(enterprise, truck, driver))
    assert page.status_code == 429
    assert 3000 < int(page.headers["Retry-After"]) <= 3601
    assert str(escape(detail)) in page.get_data(as_text=True)
    assert passes(db) == 2
    assert last_serial(db) == 2
    # An hour later one more fits.
    app.extensions["clock"] = lambda: now() + timedelta(minutes=61)
    assert file(client, headers, truck, driver).status_code == 201


def test_filing_past_the_daily_limit_answers_429_until_the_day_has_passed(app, client, make):
    app.config.update(APPLICATIONS_PER_HOUR=2, APPLICATIONS_PER_DAY=3)
    enterprise, owner, [truck], driver, headers = shipper(client, make)
    for _ in range(2):
        assert file(client, headers, truck, driver).status_code == 201
    app.extensions["clock"] = lambda: now() + timedelta(minutes=61)
    assert file(client, headers, truck, driver).status_code == 201
    refused = file(client, headers, truck, driver)
    assert refused.status_code == 429
    assert 22 * 3600 < int(refused.headers["Retry-After"]) <= 23 * 3600
    minutes = -(-int(refused.headers["Retry-After"]) // 60)
    assert refused.get_json()["detail"] == said(
        app, filing.FILED_MOST_IN_A_DAY, limit=3, minutes=minutes
    )


# --- pass numbers ------------------------------------------------------------------------


def set_last_serial(make, last):
    with make.session() as session:
        row = session.get(PassSerial, AREA)
        if row is None:
            session.add(PassSerial(area_code=AREA, last=last))
        else:
            row.last = last
        session.commit()


def serials_left_metric(app, client):
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    body = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    for line in body.get_data(as_text=True).splitlines():
        if line.startswith(f'trafficpass_pass_serials_left{{area_code="{AREA}"}} '):
            return float(line.split()[1])
    return None


def test_serials_warn_from_80_percent_and_the_metric_tells_what_is_left(app, client, make, caplog):
    enterprise, owner, [truck], driver, headers = shipper(client, make)
    set_last_serial(make, 799_998)
    with caplog.at_level(logging.WARNING, logger="passes.filing"):
        below = file(client, headers, truck, driver)
        assert below.get_json()["number"] == f"{AREA}799999"
        assert not [r for r in caplog.records if r.name == "passes.filing"]
        at_80 = file(client, headers, truck, driver)
    assert at_80.status_code == 201
    assert at_80.get_json()["number"] == f"{AREA}800000"
    [warning] = [r for r in caplog.records if r.name == "passes.filing"]
    assert warning.levelno == logging.WARNING
    assert "800000 of 999999" in warning.getMessage()
    assert "199999 left" in warning.getMessage()
    assert serials_left_metric(app, client) == 199_999


def test_the_last_serial_is_given_then_filing_is_a_clear_409_not_a_500(
    app, client, make, db, caplog
):
    enterprise, owner, [truck], driver, headers = shipper(client, make)
    set_last_serial(make, 999_998)
    last = file(client, headers, truck, driver)
    assert last.status_code == 201
    assert last.get_json()["number"] == f"{AREA}999999"
    assert serials_left_metric(app, client) == 0
    with caplog.at_level(logging.ERROR, logger="passes.filing"):
        refused = file(client, headers, truck, driver)
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    expected = PassNumbersExhausted(AREA)
    assert refused.get_json()["detail"] == said(app, expected.detail, **expected.params)
    assert any("exhausted" in r.getMessage() for r in caplog.records)
    login(client, owner.username)
    page = post_form(client, "/passes/new", form_of(enterprise, truck, driver))
    assert page.status_code == 409
    assert str(escape(said(app, expected.detail, **expected.params))) in page.get_data(as_text=True)
    assert passes(db) == 1
    assert last_serial(db) == 999_999  # never past the end, never given twice


# --- whitelisted enterprises -------------------------------------------------------------


def test_automatic_approvals_count_against_the_cap(app, client, make, db):
    app.config["PENDING_APPLICATIONS_PER_ENTERPRISE"] = 2
    enterprise, owner, trucks, driver, headers = shipper(client, make, whitelisted=True, trucks=3)
    first, second = (file(client, headers, t, driver).get_json() for t in trucks[:2])
    assert first["status"] == second["status"] == "approved"
    assert first["auto_approved"] is second["auto_approved"] is True
    refused = file(client, headers, trucks[2], driver)
    assert refused.status_code == 409
    assert refused.get_json()["detail"] == said(app, filing.TOO_MANY_PENDING, limit=2)
    assert passes(db) == 2
    assert approval_sms(db, enterprise.id) == 2


def test_filing_anyway_for_one_truck_gets_one_automatic_approval_not_unlimited(
    app, client, make, db
):
    enterprise, owner, [truck], driver, headers = shipper(client, make, whitelisted=True)
    answers = [file(client, headers, truck, driver).get_json() for _ in range(10)]
    assert [a["status"] for a in answers] == ["approved"] + ["submitted"] * 9
    assert [a["auto_approved"] for a in answers] == [True] + [False] * 9
    assert approval_sms(db, enterprise.id) == 1  # the others wait for a reviewer
    # The page says why it was not automatic.
    login(client, owner.username)
    answer = post_form(client, "/passes/new", form_of(enterprise, truck, driver))
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert str(escape(said(app, NOT_AUTOMATIC))) in page


def test_automatic_approval_sms_stay_within_the_sms_limits(app, client, make, db):
    # Per truck and hour: SMS_RESENDS_PER_HOUR automatic approvals, even without overlap.
    app.config.update(SMS_RESENDS_PER_HOUR=2, SMS_RESENDS_PER_DAY=3)
    enterprise, owner, trucks, driver, headers = shipper(client, make, whitelisted=True, trucks=2)
    one_truck = [in_window(client, headers, trucks[0], driver, 2 * i).get_json() for i in range(4)]
    assert [a["status"] for a in one_truck] == ["approved", "approved", "submitted", "submitted"]
    # Per enterprise and day: SMS_RESENDS_PER_DAY, shared with resends.
    other = [in_window(client, headers, trucks[1], driver, 2 * i).get_json() for i in range(2)]
    assert [a["status"] for a in other] == ["approved", "submitted"]
    assert approval_sms(db, enterprise.id) == 3
    resend = client.post(f"/api/v1/passes/{one_truck[0]['id']}/messages", headers=headers)
    assert resend.status_code == 429
    assert int(resend.headers["Retry-After"]) > 0
    # A reviewer may still approve what waits: a person decided, and the driver is told.
    reviewer = api_token(client, make.user("reviewer").username)
    approved = client.post(f"/api/v1/passes/{one_truck[2]['id']}/approve", headers=reviewer)
    assert approved.status_code == 200
    assert approval_sms(db, enterprise.id) == 4
