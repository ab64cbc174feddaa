"""The statistics page's per-day scan figures (counted live and kept alike, scoped like the
rest), its charts' data and the export with the columns of a province's report."""

import csv
import io
import json
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from accounts.models import User
from passes.models import Pass
from supervision.statistics_charts import EXPORT_HEADER
from tests.support import api_token, login, now
from tests.web.test_statistics import known_world
from trust import tokens


def scans_world(app, client, make):
    """known_world (nine scans let through: four entries, three exits, two arrivals) plus
    two refusals: a forged code (it names no pass) and a revoked pass of the shipper."""
    shipper, receiver = known_world(app, client, make)
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    refused = make.pass_(enterprise=shipper, status="revoked")

    def scan(code):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": code}
        answer = client.post("/api/v1/scans", json=body, headers=officer).get_json()
        assert answer.get("decision") == "deny", answer
        return answer["reasons"][0]

    token = tokens.token_from_text(refused.code)
    flipped = token[:60] + ("A" if token[60] != "A" else "B") + token[61:]
    assert scan(refused.code.replace(token, flipped)) == "bad_signature"
    assert scan(refused.code) == "revoked"
    # every pass filed just after local midnight, its wait kept: one local day whatever the hour
    zone = ZoneInfo(app.config["TIMEZONE"])
    midnight = datetime.combine(now().astimezone(zone).date(), time.min, zone)
    with make.session() as session:
        for p in session.scalars(select(Pass)):
            wait = p.reviewed_at - p.created_at if p.reviewed_at else timedelta(0)
            p.created_at = midnight + timedelta(seconds=30)
            p.reviewed_at = p.created_at + wait if p.reviewed_at else None
        session.commit()
    return shipper, receiver


def test_scans_entries_exits_and_refusals_by_day_live_and_kept(app, client, make, runner):
    from supervision import statistics
    from supervision.models import DailyFigure

    shipper, receiver = scans_world(app, client, make)
    supervisor, clerk = make.user("supervisor"), make.enterprise_user(shipper)
    tz = app.config["TIMEZONE"]

    def figures(user):
        with app.extensions["read_sessions"]() as session:
            return statistics.figures(session, user, {}, now=now(), tz=tz)

    everyone, own = figures(supervisor), figures(clerk)
    theirs = client.get("/api/v1/statistics", headers=receiver).get_json()
    assert (everyone["scans"], everyone["entries"], everyone["exits"]) == (11, 4, 3)
    assert everyone["denials"] == 2
    assert everyone["denials_by_reason"] == {"bad_signature": 1, "revoked": 1}
    # the pass-less refusal belongs to no enterprise: oversight sees it, the shipper not
    assert (own["scans"], own["entries"], own["exits"], own["denials"]) == (10, 4, 3, 1)
    assert own["denials_by_reason"] == {"revoked": 1}
    assert (theirs["scans"], theirs["denials"]) == (0, 0)  # bound for it is not its own
    [today] = [d for d in everyone["by_day"] if d["scans"]]
    assert (today["scans"], today["entries"], today["exits"], today["denials"]) == (11, 4, 3, 2)
    assert (today["trips"], today["trips_closed"], today["loops"]) == (4, 3, 2)
    assert (today["closed_loop_rate"], today["rejections"], today["anomalies"]) == (0.5, 1, 1)
    assert today["median_approval_minutes"] == 25  # of 0 (the revoked pass), 10, ... 50
    assert (today["applications"], today["approvals"]) == (6, 5)
    quiet = [d for d in everyone["by_day"] if d["day"] != today["day"]]
    assert all(d["scans"] == 0 and d["closed_loop_rate"] is None for d in quiet)
    keys = {"day", "applications", "approvals", "trips", "scans", "entries", "exits"}
    keys |= {"denials", "loops", "trips_closed", "median_approval_minutes", "bookings_kept"}
    assert keys <= set(today)
    assert {"bookings_off_hour", "bookings_missed"} <= set(today)

    assert runner.invoke(args=["statistics", "refresh"]).exit_code == 0
    for user, counted in ((supervisor, everyone), (clerk, own)):
        read = figures(user)
        assert read["as_of"] is not None
        assert {**read, "as_of": None} == counted
    kept = client.get("/api/v1/statistics", headers=receiver).get_json()
    assert {**kept, "as_of": None} == theirs
    with app.extensions["read_sessions"]() as session:
        kept = session.scalars(select(DailyFigure).where(DailyFigure.scans > 0)).all()
    assert sum(k.scans for k in kept if k.enterprise_id == 0) == 11
    assert sum(k.scans for k in kept if k.enterprise_id == shipper.id) == 10


def test_the_page_draws_its_charts_from_json_with_a_text_fallback(app, client, make):
    scans_world(app, client, make)
    login(client, make.user("supervisor").username)
    page = client.get("/statistics").get_data(as_text=True)
    assert "js/charts.js" in page
    assert "css/charts.css" in page
    assert "<script>" not in page  # nothing inline: the CSP forbids it
    for name in ("scans", "refusals", "loops", "review", "bookings"):
        chart = f"st-{name}-chart"
        assert f'<canvas id="{chart}" data-chart="{chart}-data" role="img" aria-label="' in page
        block = page.split(f'<script type="application/json" id="{chart}-data">')[1]
        spec = json.loads(block.split("</script>")[0])
        assert spec["type"] in ("bar", "line")
        assert spec["datasets"]
    refusals = page.split('id="st-refusals-chart-data">')[1].split("</script>")[0]
    spec = json.loads(refusals)
    assert spec["horizontal"]
    assert spec["datasets"][0]["data"] == [1, 1]
    assert spec["labels"][0] == "伪造或被篡改的码：签名不符"  # core.words.label's, in zh
    loops = page.split('id="st-loops-chart-data">')[1].split("</script>")[0]
    assert 50.0 in json.loads(loops)["datasets"][0]["data"]
    assert 'class="anomaly-counts chart-fallback"' in page  # the reasons as text too
    by_day = page.split('id="by-day"')[1].split("</table>")[0]
    assert "<td data-label=" in by_day
    assert ">11<" in by_day
    assert 'id="st-denials">2<' in page


def test_the_export_has_the_report_columns_a_row_a_day_and_the_totals(app, client, make, db):
    from openpyxl import load_workbook

    scans_world(app, client, make)
    supervisor = make.user("supervisor")
    db.execute(update(User).where(User.id == supervisor.id).values(locale="en"))
    db.commit()
    login(client, supervisor.username)
    today = now().astimezone(ZoneInfo(app.config["TIMEZONE"])).date().isoformat()
    args = f"from={today}&to={today}"
    response = client.get(f"/statistics.csv?{args}")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == EXPORT_HEADER  # in English, the msgids themselves
    assert len(rows) == 3  # the day, then the totals
    day, total = (dict(zip(EXPORT_HEADER, r, strict=True)) for r in rows[1:])
    assert day["Day"] == today
    assert total["Day"] == "Total"
    for row in (day, total):
        assert (row["Applications"], row["Approvals"], row["Rejections"]) == ("6", "5", "1")
        assert (row["Trips opened"], row["Trips closed"], row["Closed loops"]) == ("4", "3", "2")
        assert row["Closed-loop rate (percent)"] == "50.0"
        assert (row["Scans"], row["Entries"], row["Exits"], row["Refused scans"]) == (
            "11",
            "4",
            "3",
            "2",
        )
        assert row["Median minutes to approval"] == "25.0"
        assert row["Anomalies"] == "1"
    with client.get(f"/statistics.xlsx?{args}") as response:
        sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    assert header == EXPORT_HEADER
    totals = [c.value for c in sheet[3]]
    assert totals[0] == "Total"
    assert totals[1:4] == [6, 5, 1]
    assert totals[8:12] == [11, 4, 3, 2]
    assert totals[7] == 50.0
