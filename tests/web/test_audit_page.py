"""The audit page: supervisors and admins browse the log in words, keep its latest signed
checkpoint, and verify the whole log."""

import json

from sqlalchemy import text

import audit
from tests.support import login, now, post_form
from trust import auditlog
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
    saved = auditlog.Checkpoint.from_json(json.loads(download.get_data()))
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
