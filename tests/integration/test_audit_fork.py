"""The sequencer signs only a tree that extends the last checkpoint it signed, as kept
outside the database (the witness file, and its own memory); otherwise it stops, says so
in readiness and metrics and alerts. Proofs are computed from stored nodes in a bounded
number of rows; a restore never shortens the witness file a machine holds."""

import json

import pytest
from sqlalchemy import event, inspect, select, text, update

from core.audit import AuditCheckpoint, AuditEntry, AuditNode, AuditTree
from sms.models import SmsMessage
from supervision.models import AlertSettings, Notification
from tests.integration.test_audit import append, integrate, latest, verify
from tests.integration.test_backup_retention import fresh_database as _fresh_database
from tests.support import now
from tests.web.test_operations import TOKEN, figure, scrape
from trust import audit_proofs, auditlog, merkle
from trust.context import audit_log, sequencer


def rewrite_history(app, entry_seq=5):
    """The review's reproduction: an insider changes an entry, resets the tree's row to
    size 0 and deletes the checkpoints (and the stored nodes) so the sequencer rebuilds."""
    with app.extensions["engine"].begin() as conn:
        original = conn.scalar(select(AuditEntry.data).where(AuditEntry.seq == entry_seq))
        conn.execute(
            update(AuditEntry).where(AuditEntry.seq == entry_seq).values(data={"i": "forged"})
        )
        conn.execute(
            update(AuditTree).values(size=0, root_hash=merkle.EMPTY_ROOT.hex(), frontier=[])
        )
        conn.execute(AuditCheckpoint.__table__.delete())
        conn.execute(AuditNode.__table__.delete())
    return original


def witness_lines(app):
    return audit_log(app).witness.read_text().splitlines()


def test_a_rewritten_history_is_not_signed_and_every_node_hears_of_it(app, client, make):
    admin, supervisor = make.user("admin"), make.user("supervisor")
    with app.extensions["sessions"]() as session:
        session.add(
            AlertSettings(
                user_id=supervisor.id,
                kinds=[],
                sms=True,
                phone="13800138000",
                daily_summary=False,
                updated_at=now(),
            )
        )
        session.commit()
    append(app, 167)
    integrate(app)
    signed = latest(app)
    assert signed.size == 169  # (two entries for the two accounts)
    original = rewrite_history(app)

    running = sequencer(app)
    with pytest.raises(auditlog.ForkRefused, match="differ from the checkpoint signed"):
        running.tick()
    with app.extensions["read_sessions"]() as session:
        assert session.scalar(select(AuditCheckpoint.id)) is None  # nothing signed
        assert session.get(AuditTree, 1).size == 0  # nothing written
    assert len(witness_lines(app)) == 1  # the witness holds only the true checkpoint
    ready = client.get("/api/v1/ready")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["audit_log"] == "halted"
    app.config["METRICS_TOKEN"] = TOKEN
    assert figure(scrape(client).get_data(as_text=True), "trafficpass_audit_sequencer_halted") == 1
    with app.extensions["read_sessions"]() as session:
        told = session.scalars(
            select(Notification.user_id).where(Notification.kind == "audit_halted")
        ).all()
        sms = session.scalars(
            select(SmsMessage.to).where(SmsMessage.dedupe_key.like("alert:audit_halted:%"))
        ).all()
    assert set(told) >= {admin.id, supervisor.id}
    assert sms == ["13800138000"]
    with pytest.raises(auditlog.ForkRefused):  # it keeps refusing, and alerts once
        running.tick()
    with app.extensions["read_sessions"]() as session:
        assert session.scalar(select(text("count(*)")).select_from(Notification)) == len(told)

    # With the history put back (the tree's row and the entry restored) it signs again.
    with app.extensions["engine"].begin() as conn:
        conn.execute(update(AuditEntry).where(AuditEntry.seq == 5).values(data=original))
    append(app, 1)
    with app.extensions["engine"].begin() as conn:
        conn.execute(AuditNode.__table__.delete())
        conn.execute(
            update(AuditTree).values(size=0, root_hash=merkle.EMPTY_ROOT.hex(), frontier=[])
        )
    assert [d.checkpoint.size for d in running.tick()] == [170]
    assert client.get("/api/v1/ready").get_json()["checks"]["audit_log"] == "ok"
    assert verify(app).ok


def test_without_the_witness_file_the_process_remembers_what_it_signed(app):
    append(app, 20)
    running = sequencer(app)
    running.tick()
    audit_log(app).witness.unlink()  # someone with the server's files too
    rewrite_history(app)
    with pytest.raises(auditlog.ForkRefused):
        running.tick()


def test_a_smaller_tree_is_not_signed(app, runner):
    append(app, 30)
    integrate(app)
    with app.extensions["engine"].begin() as conn:  # the last ten entries dropped
        conn.execute(AuditEntry.__table__.delete().where(AuditEntry.seq > 20))
        conn.execute(
            update(AuditTree).values(size=0, root_hash=merkle.EMPTY_ROOT.hex(), frontier=[])
        )
        conn.execute(AuditNode.__table__.delete())
    done = runner.invoke(args=["audit", "integrate"])
    assert done.exit_code != 0
    assert "fewer than the 30 signed" in done.output


def test_a_witness_behind_the_tree_is_caught_up_by_a_consistency_proof(app, tmp_path):
    """Another node signed since this node's witness file was written: the tree extends
    it, shown by a proof from the stored nodes; a forged right edge is refused."""
    append(app, 100)
    integrate(app)
    behind = witness_lines(app)
    append(app, 150)
    integrate(app)
    witness = audit_log(app).witness
    witness.write_text("\n".join(behind) + "\n")  # as the other node left this one's file
    append(app, 3)
    assert [d.checkpoint.size for d in sequencer(app).tick()] == [253]
    witness.write_text("\n".join(behind) + "\n")
    with app.extensions["engine"].begin() as conn:
        nodes = conn.scalar(select(AuditTree.frontier))
        conn.execute(update(AuditTree).values(frontier=["00" * 32, *nodes[1:]]))
    append(app, 1)
    with pytest.raises(auditlog.ForkRefused, match="does not extend the 100"):
        sequencer(app).tick()


class Reads:
    """Rows the database hands back while active."""

    def __init__(self, engine):
        self.engine, self.rows, self.statements = engine, 0, 0

    def __enter__(self):
        event.listen(self.engine, "after_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "after_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, params, context, executemany):
        self.statements += 1


def test_proofs_read_a_bounded_number_of_rows_and_verify(app):
    append(app, 3000)
    integrate(app)
    settings = audit_log(app)
    checkpoint = latest(app)
    engine = app.extensions["engine"]
    with app.extensions["read_sessions"]() as session:
        entry = session.scalar(select(AuditEntry.id).where(AuditEntry.seq == 1234))
        rows_before = _rows(session)
        with Reads(engine) as reads:
            proof = audit_proofs.inclusion(session, entry, 3000)
        with Reads(engine) as more:
            consistency = audit_proofs.consistency(session, 1000, 3000)
        # the tree's size, the entry, its leaves, one query per stored level (4 and 8),
        # the entry itself (its leaf data)
        assert (reads.statements, more.statements) == (6, 4)
        leaves = [
            bytes.fromhex(h)
            for h in session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq))
        ]
    assert rows_before  # (the store holds about one node per 15 entries)
    assert proof["root_hash"] == checkpoint.root_hash == merkle.root(leaves).hex()
    assert proof["audit_path"] == [h.hex() for h in merkle.inclusion_proof(1233, leaves)]
    assert consistency["consistency"] == [h.hex() for h in merkle.consistency_proof(1000, leaves)]
    merkle.verify_inclusion(
        1233,
        3000,
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(checkpoint.root_hash),
    )
    assert settings.keys.check(checkpoint, settings.keys.public_keys())


def _rows(session):
    return session.scalar(select(text("count(*)")).select_from(AuditNode))


def test_proof_reads_stay_bounded_as_the_log_grows(app, monkeypatch):
    """The rows a proof reads grow with log n, not n: counted at two sizes."""
    counted = []
    real = audit_proofs._Subtrees.__init__

    def counting(self, session, wanted):
        real(self, session, wanted)
        counted.append(len(self.known))

    monkeypatch.setattr(audit_proofs._Subtrees, "__init__", counting)
    for size in (500, 4000):
        append(app, size - (500 if size == 4000 else 0))
        integrate(app)
        with app.extensions["read_sessions"]() as session:
            audit_proofs.inclusion(
                session,
                session.scalar(select(AuditEntry.id).where(AuditEntry.seq == size // 3)),
                size,
            )
    small, large = counted
    assert large < 200
    assert large < small * 2  # eight times the entries, not eight times the rows


def test_verify_catches_an_altered_stored_node(app):
    append(app, 40)
    integrate(app)
    with app.extensions["engine"].begin() as conn:
        conn.execute(
            update(AuditNode).where(AuditNode.level == 4, AuditNode.idx == 1).values(hash="ab" * 32)
        )
    result = verify(app)
    assert not result.ok
    assert "level 4, index 1 differs" in result.problem


def test_the_migration_stores_the_nodes_of_a_tree_integrated_before_it(tmp_path):
    from app import create_app
    from tests.support import app_config

    app = create_app(app_config(f"sqlite:///{tmp_path / 'old.db'}", tmp_path))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0017_scan_pass_recorded"]).exit_code == 0
    frontier = merkle.Frontier()
    with app.extensions["engine"].begin() as conn:
        for seq in range(1, 301):
            leaf = merkle.leaf_hash(f"entry {seq}".encode())
            frontier.append(leaf)
            conn.execute(
                text(
                    "INSERT INTO audit_entry (seq, at, action, object_type, data, leaf_hash) "
                    "VALUES (:seq, '2026-11-01 08:00:00', 'key.create', 't', '{}', :leaf)"
                ),
                {"seq": seq, "leaf": leaf.hex()},
            )
        conn.execute(
            text("UPDATE audit_tree SET size = 300, root_hash = :r, frontier = :f"),
            {"r": frontier.root().hex(), "f": json.dumps([n.hex() for n in frontier.nodes])},
        )
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    leaves = [merkle.leaf_hash(f"entry {seq}".encode()) for seq in range(1, 301)]
    with app.extensions["read_sessions"]() as session:
        assert _rows(session) == 300 // 16 + 300 // 256
        proof = audit_proofs.consistency(session, 37, 300)
    assert proof["consistency"] == [h.hex() for h in merkle.consistency_proof(37, leaves)]
    assert proof["second_root"] == frontier.root().hex()
    app.extensions["engine"].dispose()


fresh_database = _fresh_database  # the fixture, under its name here


def test_a_restore_does_not_shorten_the_witness_file_it_finds(
    app, client, make, runner, tmp_path, fresh_database
):
    """A backup whose log falls short of the checkpoints this machine signed is refused
    before anything changes; with --force the witness file is kept aside as evidence."""
    from app import create_app
    from tests.support import app_config

    append(app, 10)
    integrate(app)
    archive = tmp_path / "nightly.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    append(app, 5)
    integrate(app)  # the machine's witness file now holds size 15
    witness = audit_log(app).witness
    held = witness.read_text()
    restored = create_app(app_config(fresh_database, tmp_path))  # the same instance folder
    try:
        cli = restored.test_cli_runner()
        refused = cli.invoke(args=["backup", "restore", str(archive)])
        assert refused.exit_code != 0
        assert "holds a checkpoint of 15 entries" in refused.output
        assert "audit log has 10" in refused.output
        assert witness.read_text() == held
        with restored.extensions["engine"].connect() as conn:  # nothing loaded
            assert not inspect(conn).has_table("audit_entry")
        forced = cli.invoke(args=["backup", "restore", "--force", str(archive)])
        assert forced.exit_code == 0, forced.output
        assert "the restored log extends the witness file's latest checkpoint" in forced.output
        kept = list(witness.parent.glob("checkpoints.jsonl.before-restore-*"))
        assert [k.read_text() for k in kept] == [held]
        assert [json.loads(line)["size"] for line in witness_lines(restored)] == [10]
        append(restored, 2)
        assert [d.checkpoint.size for d in integrate(restored)] == [12]
    finally:
        restored.extensions["engine"].dispose()


def test_a_witness_line_without_a_good_signature_is_no_reference(app, client):
    """Lines a restore or anyone else added are checked: a forged big checkpoint does not
    stop the log for good, and a file of junk only fails closed."""
    append(app, 12)
    integrate(app)
    witness = audit_log(app).witness
    forged = {**latest(app).to_json(), "size": 10**12, "signature": "AAAA"}
    with witness.open("a") as out:
        out.write(json.dumps(forged) + "\n" + json.dumps({**forged, "origin": "elsewhere"}))
    append(app, 1)
    assert [d.checkpoint.size for d in integrate(app)] == [13]  # the forged line is no bar
    rewrite_history(app)
    with pytest.raises(auditlog.ForkRefused, match="differ from the checkpoint signed"):
        integrate(app)  # the good lines still count
    witness.write_text("junk\n" * 10_000)
    with pytest.raises(auditlog.ForkRefused, match="holds no checkpoint signed"):
        integrate(app)
    assert client.get("/api/v1/ready").get_json()["checks"]["audit_log"] == "halted"


def test_a_witness_file_that_cannot_be_written_halts_the_sequencer(app, monkeypatch):
    append(app, 20)
    running = sequencer(app)
    real_open = type(audit_log(app).witness).open

    def full_disk(self, mode="r", *args, **kwargs):
        if "a" in mode:
            raise OSError(28, "No space left on device")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(type(audit_log(app).witness), "open", full_disk)
    with pytest.raises(auditlog.ForkRefused, match="cannot be written"):
        running.tick()
    assert running.last.size == 20  # remembered though the file missed it
    append(app, 5)
    with pytest.raises(auditlog.ForkRefused, match="cannot be written"):
        running.tick()
    assert latest(app).size == 20  # nothing more signed while the file cannot hold it
    monkeypatch.undo()
    assert [d.checkpoint.size for d in running.tick()] == [25]
    assert [json.loads(line)["size"] for line in witness_lines(app)] == [20, 25]


def test_a_half_written_witness_line_does_not_swallow_the_next(app):
    append(app, 3)
    integrate(app)
    witness = audit_log(app).witness
    with witness.open("a") as out:
        out.write('{"origin": "trafficpass/330482/audit", "si')  # a crash mid-line
    append(app, 2)
    integrate(app)
    assert json.loads(witness_lines(app)[-1])["size"] == 5
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output  # the half line is passed over
    assert "2 signed checkpoints agree" in verified.output


def test_rows_the_sequencer_cannot_have_written_halt_it(app, client):
    append(app, 16)
    integrate(app)
    with app.extensions["engine"].begin() as conn:
        conn.execute(update(AuditNode).values(hash="not a hash"))
    with app.extensions["engine"].begin() as conn:  # and an entry numbered out of turn
        conn.execute(update(AuditEntry).where(AuditEntry.seq == 16).values(seq=None))
    append(app, 1)
    with app.extensions["engine"].begin() as conn:
        conn.execute(update(AuditTree).values(size=15))
    with pytest.raises(auditlog.ForkRefused):
        sequencer(app).tick()
    assert client.get("/api/v1/ready").get_json()["checks"]["audit_log"] == "halted"


def test_an_inclusion_proof_says_what_its_leaf_commits_to(app):
    """A client can recompute the leaf from the entry: an entry changed after it was
    sealed (its stored leaf hash kept) no longer hashes to the proven leaf."""
    append(app, 9)
    integrate(app)
    with app.extensions["read_sessions"]() as session:
        entry = session.scalar(select(AuditEntry.id).where(AuditEntry.seq == 5))
        proof = audit_proofs.inclusion(session, entry)
    assert merkle.leaf_hash(proof["leaf_data"].encode()).hex() == proof["leaf_hash"]
    with app.extensions["engine"].begin() as conn:
        conn.execute(update(AuditEntry).where(AuditEntry.id == entry).values(data={"i": "x"}))
    with app.extensions["read_sessions"]() as session:
        changed = audit_proofs.inclusion(session, entry)
    assert merkle.leaf_hash(changed["leaf_data"].encode()).hex() != changed["leaf_hash"]


def test_a_restore_whose_log_does_not_extend_the_witness_says_so(
    app, runner, tmp_path, fresh_database
):
    """The restore makes the sequencer's own check: a backup of another history of the
    same size (its manifest and witness telling nothing) is named before any signing."""
    from app import create_app
    from tests.support import app_config

    append(app, 10)
    integrate(app)
    archive = tmp_path / "other.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    restored = create_app(app_config(fresh_database, tmp_path / "elsewhere"))
    try:
        witness = audit_log(restored).witness
        witness.parent.mkdir(parents=True)
        settings = audit_log(restored)  # the same keys: copied from the instance
        (tmp_path / "elsewhere" / "keys").mkdir(parents=True, exist_ok=True)
        for key in (tmp_path / "keys").glob("audit-checkpoint*"):
            (tmp_path / "elsewhere" / "keys" / key.name).write_bytes(key.read_bytes())
        # This machine signed a size-5 tree of another history; the backup knows nothing
        # of it, so only the check against the tree itself can tell.
        other = settings.keys.sign(settings.origin, 5, "ab" * 32, latest(app).time)
        witness.write_text(json.dumps(other.to_json()) + "\n")
        done = restored.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
        assert done.exit_code == 1
        assert "does not extend the witness file" in done.output, done.output
    finally:
        restored.extensions["engine"].dispose()
