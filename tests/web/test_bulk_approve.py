"""Approving many passes at once: batches commit together, and a pass that cannot be
written costs only itself."""

from sqlalchemy import func, select

from core.audit import AuditEntry
from passes import context, services
from passes.models import Pass
from sms.models import SmsMessage
from tests.support import now


def test_batches_commit_together_and_one_bad_pass_costs_only_itself(app, make, monkeypatch):
    owner = make.enterprise()
    reviewer = make.user("reviewer")
    ids = [make.pass_(enterprise=owner).id for _ in range(7)]
    bad = ids[3]
    monkeypatch.setattr(services, "BULK_BATCH", 3)
    with app.extensions["read_sessions"]() as session:
        taken = session.scalar(select(Pass.number).where(Pass.id == ids[0]))
    issue = services._issue

    def issue_breaking_one(p, *args, **kwargs):
        issue(p, *args, **kwargs)
        if p.id == bad:  # a write the database refuses: another pass's number
            p.number = taken

    monkeypatch.setattr(services, "_issue", issue_breaking_one)
    with app.extensions["sessions"]() as session:
        with app.test_request_context():
            issuer = context.issuer()
        approved, skipped = services.bulk_approve(
            session, [*ids, ids[0], 999999], reviewer, now=now(), issuer=issuer
        )
    assert approved == [i for i in ids if i != bad]
    assert skipped == [bad, 999999]
    with app.extensions["read_sessions"]() as session:
        statuses = dict(session.execute(select(Pass.id, Pass.status).where(Pass.id.in_(ids))).all())
        assert statuses[bad] == "submitted"
        assert {statuses[i] for i in approved} == {"approved"}
        sms = session.scalar(
            select(func.count()).where(SmsMessage.dedupe_key.like("pass:%:approved"))
        )
        entries = session.scalar(select(func.count()).where(AuditEntry.action == "pass.approve"))
        assert sms == entries == len(approved)
        codes = session.scalars(select(Pass.code).where(Pass.id.in_(approved))).all()
        assert len(set(codes)) == len(approved)
