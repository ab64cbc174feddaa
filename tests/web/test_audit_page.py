"""The audit page: supervisors and admins browse the log in words, keep its latest signed
checkpoint, and verify the whole log."""

import csv
import io
import json

from openpyxl import load_workbook
from sqlalchemy import select, text

from core import audit
from tests.support import login, now, post_form
from trust import audit_checkpoints
from trust.context import sequencer


def test_a_supervisor_browses_downloads_a_checkpoint_and_verifies(app, client, make):
    reviewer = make.user("reviewer", username="rev9")
    with app.extensions["sessions"]() as session:
        audit.record(
            session,
            actor_id=reviewer.id,
            action="pass.revoked",
            object_type="pass",
            object_id=41,
            now=now(),
        )
        session.commit()
    make.user("supervisor", username="sup9")
    login(client, "sup9")

    html = client.get("/audit").get_data(as_text=True)
    assert "rev9" in html
    assert "通行证 · 已撤销" in html
    assert ">pass.revoked<" not in html  # the code stays in the title, not the text
    assert 'id="download-checkpoint"' not in html  # nothing sealed yet: an empty state
    assert "等待" in html or "waiting" in html

    sequencer(app).tick()
    html = client.get("/audit").get_data(as_text=True)
    assert 'id="download-checkpoint"' in html
    download = client.get("/audit/checkpoint.json")
    assert "attachment" in download.headers["Content-Disposition"]
    saved = audit_checkpoints.Checkpoint.from_json(json.loads(download.get_data()))
    settings = app.extensions["audit_log"]
    assert settings.keys.check(saved, settings.keys.public_keys())

    verified = post_form(client, "/audit", {}).get_data(as_text=True)
    assert 'id="verification" class="notice ok"' in verified
    with app.extensions["engine"].begin() as conn:
        conn.execute(text("UPDATE audit_entry SET object_id = '42' WHERE object_id = '41'"))
    verified = post_form(client, "/audit", {}).get_data(as_text=True)
    assert 'class="notice error"' in verified


def test_filters_narrow_the_list_and_bad_dates_are_explained(app, client, make):
    make.user("admin", username="adm9")
    with app.extensions["sessions"]() as session:
        for action in ("pass.approve", "scan.deny"):
            audit.record(
                session,
                actor_id=None,
                action=action,
                object_type=action.split(".")[0],
                object_id=1,
                now=now(),
            )
        session.commit()
    login(client, "adm9")
    html = client.get("/audit?action=scan.deny").get_data(as_text=True)
    assert "扫码 · 拒绝" in html
    assert "通行证 · 已批准" not in html.split('id="audit-entries"')[1]
    html = client.get("/audit?from=not-a-date").get_data(as_text=True)
    assert "form-error" in html
    empty = client.get("/audit?action=user.activate&object_id=nothing").get_data(as_text=True)
    assert 'class="empty"' in empty


def test_the_filtered_log_exports_in_words_with_codes_last_and_the_export_is_audited(
    app, client, make
):
    reviewer = make.user("reviewer", username="rev8")
    with app.extensions["sessions"]() as session:
        for action, object_id in (("pass.revoked", 7), ("scan.deny", 8), ("pass.revoked", 9)):
            audit.record(
                session,
                actor_id=reviewer.id,
                action=action,
                object_type=action.split(".")[0],
                object_id=object_id,
                data={"reason": "测试"},
                now=now(),
            )
        session.commit()
    make.user("supervisor", username="sup8")
    login(client, "sup8")
    assert 'id="audit-csv"' in client.get("/audit?action=pass.revoked").get_data(as_text=True)

    answer = client.get("/audit/export.csv?action=pass.revoked")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:5] == ["条目", "日志序号", "时间", "操作人", "操作"]
    assert [r[-2] for r in rows[1:]] == ["9", "7"]  # newest first, only what was asked
    assert {r[4] for r in rows[1:]} == {"通行证 · 已撤销"}
    assert {r[3] for r in rows[1:]} == {"rev8（审核员）"}
    assert {(r[-4], r[-3]) for r in rows[1:]} == {("pass.revoked", "pass")}
    assert [r[6] for r in rows[1:]] == ["编号 9", "编号 7"]  # passes no longer kept
    assert rows[1][7] == "原因：测试"
    assert json.loads(rows[1][-1]) == {"reason": "测试"}

    with client.get("/audit/export.xlsx") as answer:
        sheet = load_workbook(io.BytesIO(answer.get_data())).active
    assert [c.value for c in sheet[1]] == rows[0]
    # The CSV export's own entry is there (the XLSX's too on PostgreSQL, whose reads see
    # what committed since the request began).
    exports_seen = [r[-1].value for r in sheet.iter_rows(min_row=2) if r[9].value == "export.audit"]
    assert '{"action": "pass.revoked"}' in exports_seen
    assert sheet.cell(2, 3).is_date

    with app.extensions["read_sessions"]() as session:
        exports = session.scalars(
            select(audit.AuditEntry).where(audit.AuditEntry.action == "export.audit")
        ).all()
    assert [(e.object_id, e.data) for e in exports] == [
        ("csv", {"action": "pass.revoked"}),
        ("xlsx", {}),
    ]
    assert client.get("/audit/export.pdf").status_code == 404
    assert client.get("/audit/export.csv?from=yesterday").status_code == 422
    # Words typed into a filter are not kept in the log, which is never purged.
    assert client.get("/audit/export.csv?actor=330482199001011234的司机").status_code == 200
    with app.extensions["read_sessions"]() as session:
        typed = session.scalars(
            select(audit.AuditEntry.data).where(audit.AuditEntry.action == "export.audit")
        ).all()
    assert {"actor": "***"} in typed


def test_each_entry_opens_its_object_where_the_reader_may_go(app, client, make):
    p = make.pass_(status="approved")
    admin = make.user("admin", username="adm7")
    make.user("supervisor", username="sup7")
    login(client, "sup7")
    html = client.get("/audit?object_type=pass").get_data(as_text=True)
    assert f'<a href="/passes/{p.id}">' in html
    assert client.get(f"/passes/{p.id}").status_code == 200  # the link opens
    users = client.get("/audit?object_type=user").get_data(as_text=True)
    assert 'href="/admin/users"' not in users  # not a supervisor's page
    login(client, admin.username)
    assert 'href="/admin/users"' in client.get("/audit?object_type=user").get_data(as_text=True)


def test_the_action_filter_offers_every_action_of_the_enum_in_words(client, make):
    """Deactivations were missing from the hand-kept list the filter was built from."""
    import re

    make.user("supervisor", username="sup-actions")
    login(client, "sup-actions")
    html = client.get("/audit").get_data(as_text=True)
    select_html = html[
        html.index('id="a-action"') : html.index("</select>", html.index('id="a-action"'))
    ]
    offered = re.findall(r'<option value="([^"]*)"', select_html)
    assert offered == ["", *sorted(a.value for a in audit.Action)]
    assert "用户 · 已停用" in select_html


def test_entries_speak_in_numbers_plates_and_names_and_the_filter_takes_them(app, client, make):
    """Entries name a pass by its number with the plate masked, a scan by its pass, gate
    and event, a user by username and role; details are fields in words; the filter takes
    a pass number or a plate and finds the pass's entries and its scans'."""
    import uuid

    from tests.support import api_token

    p = make.pass_(status="approved")
    other = make.pass_(status="approved")
    gate = make.checkpoint("gate")
    officer = make.officer(gate)
    token = api_token(client, officer.username)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
    assert client.post("/api/v1/scans", json=body, headers=token).get_json()["decision"] == "allow"
    refused = {**body, "scan_id": str(uuid.uuid4()), "deny_reason": "plate_mismatch"}
    answer = client.post("/api/v1/scans", json=refused, headers=token).get_json()
    assert answer["decision"] == "deny"
    with app.extensions["sessions"]() as session:
        audit.record(
            session,
            actor_id=None,
            action="user.assign_checkpoints",
            object_type="user",
            object_id=officer.id,
            data={"checkpoints": [gate.id]},
            now=now(),
        )
        session.commit()
    make.user("supervisor", username="sup6")
    login(client, "sup6")
    plate = p.vehicle.plate
    masked = plate[:3] + "*" * (len(plate) - 4) + plate[-1]

    html = client.get("/audit").get_data(as_text=True)
    table = html.split('id="audit-entries"')[1]
    assert f"通行证 {p.number}（{masked}）" in table
    assert plate not in table  # plates masked as on every list
    assert f"扫码 {p.number} · {gate.name} · 入境" not in table
    assert f"扫码 {p.number} · {gate.name} · 进入" in table
    assert f"{officer.username} <small" in table
    assert "卡口检查员" in table
    assert f"<dt>卡口</dt><dd>{gate.name}（{gate.code}）</dd>" in table  # ids as names
    assert f"用户 {officer.username}（卡口检查员）" in table
    assert "<dd>{" not in table
    assert "plate_mismatch" not in table  # a refused scan's reasons in words
    assert "<dt>reasons" not in table
    assert "<dt>event" not in table
    assert "车牌与通行证不符" in table
    assert f"扫码 {p.number} · {gate.name} · 拒绝" in table
    assert "<dt>checkpoints" not in table

    for typed in (p.number, plate, plate.lower(), masked, f"{plate[:2]} {plate[2:]}"):
        found = client.get("/audit", query_string={"object": typed}).get_data(as_text=True)
        rows = found.split('id="audit-entries"')[1]
        assert f"扫码 {p.number}" in rows, typed
        assert f"通行证 {p.number}" in rows, typed
        assert other.number not in rows, typed
    found = client.get("/audit", query_string={"object": officer.username}).get_data(as_text=True)
    assert f"用户 {officer.username}" in found.split('id="audit-entries"')[1]
    assert p.number not in found.split('id="audit-entries"')[1]
    begun = client.get("/audit", query_string={"object": plate[:5]}).get_data(as_text=True)
    assert f"通行证 {p.number}" in begun.split('id="audit-entries"')[1]  # a plate's beginning
    assert f"通行证 {other.number}" in begun.split('id="audit-entries"')[1]
    nothing = client.get("/audit", query_string={"object": "浙Z00000"}).get_data(as_text=True)
    assert 'class="empty"' in nothing

    answer = client.get("/audit/export.csv", query_string={"object": p.number})
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    scans = [r for r in rows[1:] if r[-4] == "scan.allow"]
    assert len(scans) == 1
    assert scans[0][6] == f"{p.number} · {gate.name} · 进入"
    assert plate not in answer.get_data(as_text=True)


def test_an_enterprises_status_change_reads_as_statuses_and_english_keeps_its_brackets(
    app, client, make
):
    enterprise = make.enterprise(status="pending")
    admin = make.user("admin", username="adm5")
    login(client, admin.username)
    post_form(client, f"/admin/enterprises/{enterprise.id}/status", {"status": "approved"})
    page = client.get("/audit?action=enterprise.approved").get_data(as_text=True)
    table = page.split('id="audit-entries"')[1]
    assert "<dt>变更前状态</dt><dd>待审核</dd>" in table
    assert "<dt>变更后状态</dt><dd>已通过</dd>" in table
    assert "起始日期" not in table
    client.get("/lang/en?next=/audit")
    english = client.get("/audit").get_data(as_text=True).split('id="audit-entries"')[1]
    assert "adm5 <small" in english
    assert f"User {admin.username} (Administrator)" in english
    assert "（" not in english
