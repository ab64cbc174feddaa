"""Backups restore into a fresh instance that verifies and serves; retention erases
personal data past its days, audited with counts, without breaking the audit log."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from accounts.models import LoginAttempt
from app import create_app
from checkpoints.models import Scan
from core.audit import AuditEntry
from fleet.models import Driver
from sms.models import SmsMessage
from tests.support import api_token, app_config, now


def scanned_pass(client, make):
    gate = make.checkpoint("gate")
    headers = api_token(client, make.officer(gate).username)
    p = make.pass_(status="approved")
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
    assert client.post("/api/v1/scans", json=body, headers=headers).status_code == 200
    return p


@pytest.fixture
def fresh_database(app, tmp_path):
    """An empty database of the same kind as the suite's."""
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        (tmp_path / "restored").mkdir(exist_ok=True)
        yield f"sqlite:///{tmp_path / 'restored' / 'restored.db'}"
        return
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_backup_restores_into_a_fresh_instance_that_verifies_and_serves(
    app, client, make, runner, tmp_path, fresh_database
):
    p = scanned_pass(client, make)
    assert runner.invoke(args=["audit", "integrate"]).exit_code == 0
    archive = tmp_path / "nightly.tar.gz"
    made = runner.invoke(args=["backup", "create", str(archive)])
    assert made.exit_code == 0, made.output
    assert "NOT encrypted" in made.output  # personal data and keys in clear: said loudly
    assert archive.stat().st_mode & 0o077 == 0

    instance = tmp_path / "restored"
    instance.mkdir(exist_ok=True)
    restored = create_app(app_config(fresh_database, instance))
    try:
        done = restored.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
        assert done.exit_code == 0, done.output
        cli = restored.test_cli_runner()
        assert cli.invoke(args=["db", "upgrade"]).exit_code == 0
        verified = cli.invoke(args=["audit", "verify"])
        assert verified.exit_code == 0, verified.output
        assert "audit log ok" in verified.output
        web = restored.test_client()
        assert web.get("/api/v1/ready").get_json()["checks"]["signing_key"] == "ok"
        token = p.code.rsplit("/", 1)[-1]
        page = web.get(f"/P/{token}")  # the pass's code verifies with the restored key
        assert page.status_code == 200
        assert "有效" in page.get_data(as_text=True)
        # The restored node signs with the same key: a new approval's code verifies too.
        restored_make = type(make)(restored)
        fresh = restored_make.pass_(status="approved")
        assert fresh.key_id == p.key_id
    finally:
        restored.extensions["engine"].dispose()


def test_sealed_keys_need_the_passphrase_and_a_full_database_needs_force(
    app, client, make, runner, tmp_path, monkeypatch
):
    scanned_pass(client, make)
    archive = tmp_path / "sealed.tar.gz"
    monkeypatch.setenv("BACKUP_PASSPHRASE", "correct horse battery staple")
    made = runner.invoke(args=["backup", "create", str(archive)])
    assert made.exit_code == 0, made.output
    assert "NOT encrypted" not in made.output
    monkeypatch.delenv("BACKUP_PASSPHRASE")
    missing = runner.invoke(args=["backup", "restore", str(archive)])
    assert missing.exit_code != 0
    assert "sealed" in missing.output
    monkeypatch.setenv("BACKUP_PASSPHRASE", "wrong")
    wrong = runner.invoke(args=["backup", "restore", str(archive)])
    assert "wrong passphrase" in wrong.output
    monkeypatch.setenv("BACKUP_PASSPHRASE", "correct horse battery staple")
    full = runner.invoke(args=["backup", "restore", str(archive)])
    assert full.exit_code != 0
    assert "already holds data" in full.output
    # An archive that says its keys are in clear while a passphrase is set is refused.
    monkeypatch.delenv("BACKUP_PASSPHRASE")
    clear = tmp_path / "clear.tar.gz"
    assert runner.invoke(args=["backup", "create", str(clear)]).exit_code == 0
    monkeypatch.setenv("BACKUP_PASSPHRASE", "correct horse battery staple")
    slipped = runner.invoke(args=["backup", "restore", "--force", str(clear)])
    assert slipped.exit_code == 0  # --force: the operator says it was made without one
    refused = runner.invoke(args=["backup", "restore", str(clear)])
    assert "not sealed although a passphrase is set" in refused.output


def test_with_a_passphrase_the_whole_archive_is_sealed_and_restores(
    app, client, make, runner, tmp_path, fresh_database, monkeypatch
):
    """The database inside a backup holds names, ID numbers and phones: with a passphrase
    none of it is readable, a cut or changed archive is refused, and it still restores."""
    import tarfile

    p = scanned_pass(client, make)
    archive = tmp_path / "sealed.tar.gz"
    monkeypatch.setenv("BACKUP_PASSPHRASE", "a long and random enough passphrase 7f3a")
    made = runner.invoke(args=["backup", "create", str(archive)])
    assert made.exit_code == 0, made.output
    data = archive.read_bytes()
    assert not data.startswith(b"\x1f\x8b")  # not a gzip anyone can open
    for secret in (p.driver.phone, p.driver.id_number, p.driver.name):
        assert secret.encode() not in data
    assert b"BEGIN" not in data
    assert b"manifest" not in data
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) - 100])
    changed = tmp_path / "changed.tar.gz"
    changed.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    instance = tmp_path / "restored"
    restored = create_app(app_config(fresh_database, instance))
    try:
        cli = restored.test_cli_runner()
        for bad, why in ((cut, "changed or cut short"), (changed, "changed")):
            refused = cli.invoke(args=["backup", "restore", str(bad)])
            assert refused.exit_code != 0
            assert why in refused.output, refused.output
        assert not (instance / "keys").exists()  # nothing written from a bad archive
        monkeypatch.delenv("BACKUP_PASSPHRASE")
        assert (
            "sealed: give the passphrase"
            in cli.invoke(args=["backup", "restore", str(archive)]).output
        )
        monkeypatch.setenv("BACKUP_PASSPHRASE", "a long and random enough passphrase 7f3a")
        opened = tmp_path / "opened.tar.gz"  # a restore by hand starts here
        assert cli.invoke(args=["backup", "unseal", str(archive), str(opened)]).exit_code == 0
        with tarfile.open(opened) as tar:
            assert {"manifest.json", "instance.tar"} <= set(tar.getnames())
        assert opened.stat().st_mode & 0o077 == 0
        done = cli.invoke(args=["backup", "restore", str(archive)])
        assert done.exit_code == 0, done.output
        assert cli.invoke(args=["db", "upgrade"]).exit_code == 0
        assert "audit log ok" in cli.invoke(args=["audit", "verify"]).output
        token = p.code.rsplit("/", 1)[-1]
        assert "有效" in restored.test_client().get(f"/P/{token}").get_data(as_text=True)
    finally:
        restored.extensions["engine"].dispose()


def test_a_first_format_backup_with_sealed_keys_still_restores(
    app, client, make, runner, tmp_path, fresh_database, monkeypatch
):
    """Archives written before the whole archive was sealed (keys sealed inside a clear
    tar.gz) restore, with --force: their database was never sealed, so anyone could have
    changed it; even a dummy sealed-keys member does not pass without it."""
    import io
    import json
    import tarfile

    from operations import sealing

    scanned_pass(client, make)
    clear = tmp_path / "clear.tar.gz"
    assert runner.invoke(args=["backup", "create", str(clear)]).exit_code == 0
    old = tmp_path / "format1.tar.gz"
    passphrase = "an older passphrase, long and random 9c2e"
    with tarfile.open(clear) as new, tarfile.open(old, "w:gz") as tar:
        for member in new.getmembers():
            content = new.extractfile(member).read()
            if member.name == "manifest.json":
                content = json.dumps({**json.loads(content), "format": 1, "keys_sealed": True})
                content = content.encode()
            elif member.name == "instance.tar":
                member.name, content = "instance.tar.sealed", sealing.seal(content, passphrase)
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content))
    restored = create_app(app_config(fresh_database, tmp_path / "restored"))
    try:
        cli = restored.test_cli_runner()
        monkeypatch.setenv("BACKUP_PASSPHRASE", passphrase)
        refused = cli.invoke(args=["backup", "restore", str(old)])
        assert "not sealed although a passphrase is set" in refused.output
        assert not (tmp_path / "restored" / "keys").exists()
        done = cli.invoke(args=["backup", "restore", "--force", str(old)])
        assert done.exit_code == 0, done.output
        assert (tmp_path / "restored" / "keys").is_dir()
    finally:
        restored.extensions["engine"].dispose()


def test_a_crafted_archive_writes_nothing_outside_the_instance_and_no_keys_of_its_own(
    app, runner, tmp_path, fresh_database
):
    import io
    import tarfile

    from app import create_app

    archive = tmp_path / "good.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    crafted = tmp_path / "crafted.tar.gz"
    with tarfile.open(archive) as good, tarfile.open(crafted, "w:gz") as bad:
        for member in good.getmembers():
            bad.addfile(member, good.extractfile(member) if member.isfile() else None)
        for name in ("audit/../../escaped.txt", "audit/../keys/kid-1.pem"):
            info = tarfile.TarInfo(name)
            info.size = 12
            bad.addfile(info, io.BytesIO(b"attacker key"))
    instance = tmp_path / "target" / "instance"
    instance.mkdir(parents=True)
    target = create_app(app_config(fresh_database, instance))
    try:
        done = target.test_cli_runner().invoke(args=["backup", "restore", str(crafted)])
        assert done.exit_code == 0, done.output
    finally:
        target.extensions["engine"].dispose()
    assert not (tmp_path / "target" / "escaped.txt").exists()
    assert not (instance / "escaped.txt").exists()
    assert all(p.read_bytes() != b"attacker key" for p in instance.rglob("*") if p.is_file())


def test_a_database_with_accounts_but_no_passes_is_not_overwritten(app, make, runner, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    make.user("admin")
    refused = runner.invoke(args=["backup", "restore", str(archive)])
    assert refused.exit_code != 0
    assert "already holds data" in refused.output


def test_a_file_that_is_not_a_backup_is_refused_clearly(runner, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar")
    result = runner.invoke(args=["backup", "restore", str(junk)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def personal(app, driver_id):
    with app.extensions["read_sessions"]() as session:
        d = session.get(Driver, driver_id)
        return d.name, d.id_number, d.phone, d.erased_at


def test_retention_erases_people_past_their_days_and_keeps_the_rest(app, client, make, runner):
    old = scanned_pass(client, make)  # its validity ended long before the purge
    live = make.pass_(status="approved")
    later = now() + timedelta(days=200)
    with app.extensions["sessions"]() as session:
        session.execute(
            text("UPDATE pass SET valid_until = :t WHERE id = :i"),
            {"t": later - timedelta(days=1), "i": live.id},
        )
        session.add(LoginAttempt(username="x", ip="10.0.0.1", attempted_at=now(), success=False))
        session.commit()
    old_driver, live_driver = old.driver_id, live.driver_id
    before = personal(app, old_driver)

    dry = runner.invoke(args=["retention", "purge", "--dry-run", "--now", later.isoformat()])
    assert dry.exit_code == 0, dry.output
    assert "would erase 1 drivers" in dry.output
    assert personal(app, old_driver) == before  # nothing changed

    done = runner.invoke(args=["retention", "purge", "--now", later.isoformat()])
    assert done.exit_code == 0, done.output
    name, id_number, phone, erased_at = personal(app, old_driver)
    assert erased_at is not None
    assert id_number == f"#{old_driver}"
    assert phone == ""
    assert name != before[0]
    assert name[0] == before[0][0]
    assert personal(app, live_driver)[3] is None  # a live pass keeps its driver
    with app.extensions["read_sessions"]() as session:
        texts = session.scalars(select(SmsMessage).where(SmsMessage.pass_id == old.id)).all()
        assert texts
        assert all((m.to, m.body) == ("", "") for m in texts if m.status != "pending")
        assert session.scalar(select(LoginAttempt).where(LoginAttempt.username == "x")) is None
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "retention.purge")
        ).all()
    assert entry.data["drivers"] == 1
    assert entry.data["days"] == app.config["RETENTION_DAYS"]
    for secret in (*before[:3],):
        assert secret not in str(entry.data)
    # The answers the scans keep name the driver no more.
    with app.extensions["read_sessions"]() as session:
        kept = session.scalars(select(Scan).where(Scan.pass_id == old.id)).all()
    assert [s.response["pass"]["driver_name"] for s in kept] == [name]
    # The log's tree never held the erased data: it still verifies.
    assert runner.invoke(args=["audit", "integrate"]).exit_code == 0
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_a_driver_filled_in_again_after_erasure_is_erased_again_and_old_queued_sms_too(
    app, make, runner
):
    from sms import outbox

    old = make.pass_(status="approved")
    later = now() + timedelta(days=400)
    assert runner.invoke(args=["retention", "purge", "--now", later.isoformat()]).exit_code == 0
    with app.extensions["sessions"]() as session:
        driver = session.get(Driver, old.driver_id)
        driver.archived, driver.phone, driver.id_number = False, "+8613911112222", "X"
        outbox.enqueue(session, dedupe_key="old", to="+8613800000009", body="旧短信", now=now())
        session.commit()
    again = runner.invoke(
        args=["retention", "purge", "--now", (later + timedelta(days=1)).isoformat()]
    )
    assert again.exit_code == 0, again.output
    assert personal(app, old.driver_id)[1:3] == (f"#{old.driver_id}", "")
    with app.extensions["read_sessions"]() as session:
        queued = session.scalars(select(SmsMessage).where(SmsMessage.dedupe_key == "old")).one()
    assert (queued.to, queued.body, queued.status) == ("", "", "failed")  # never sent empty


def test_words_typed_into_a_reason_stay_out_of_the_audit_log_and_retention_erases_them(
    app, make, runner
):
    """The audit log can never be purged: a reason for revocation or rejection stays on
    the pass (the entry says where), and retention erases it with the people's data."""
    from passes import services

    typed = "司机身份证330482199001011234，电话13900001111"
    revoked = make.pass_(status="approved")
    rejected = make.pass_()
    reviewer = make.user("reviewer")
    with app.extensions["sessions"]() as session:
        services.revoke_pass(session, revoked.id, reviewer, typed, now=now())
        services.reject_pass(session, rejected.id, reviewer, typed, now=now())
    with app.extensions["read_sessions"]() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(["pass.revoked", "pass.rejected"]))
        ).all()
        kept = session.scalars(
            text("SELECT decision_reason FROM pass WHERE id IN (:a, :b)"),
            {"a": revoked.id, "b": rejected.id},
        ).all()
    assert len(entries) == 2
    for entry in entries:
        assert entry.data == {"reason_kept": "pass.decision_reason"}
        assert "330482199001011234" not in str(entry.data)
    assert kept == [typed, typed]  # the words are where the people who need them look

    later = now() + timedelta(days=400)
    done = runner.invoke(args=["retention", "purge", "--now", later.isoformat()])
    assert done.exit_code == 0, done.output
    assert "2 notes" in done.output
    with app.extensions["read_sessions"]() as session:
        reasons = session.scalars(text("SELECT decision_reason FROM pass")).all()
    assert typed not in reasons
    assert "audit log ok" in runner.invoke(args=["audit", "verify"]).output


def test_retention_refuses_a_time_without_its_offset(runner):
    result = runner.invoke(args=["retention", "purge", "--now", "2027-01-01T00:00:00"])
    assert result.exit_code == 2
    assert "offset" in result.output


def test_a_damaged_archive_is_a_clear_error_and_no_clear_copy_is_left_behind(
    app, make, runner, tmp_path, monkeypatch
):
    """Damaged manifests and cut archives are refused in words, not tracebacks; a run
    killed midway leaves its work folder, which the next run removes, and a sealed run
    never writes the clear archive to disk at all."""
    import io
    import tarfile

    from operations import backup

    make.pass_(status="approved")
    good = tmp_path / "good.tar.gz"
    assert runner.invoke(args=["backup", "create", str(good)]).exit_code == 0
    damaged = {}
    for name, manifest in (("extra", b'{"format": 2, "surprise": 1}'), ("junk", b"not json")):
        damaged[name] = tmp_path / f"{name}.tar.gz"
        with tarfile.open(damaged[name], "w:gz") as tar:
            info = tarfile.TarInfo("manifest.json")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
    damaged["cut"] = tmp_path / "cut.tar.gz"
    damaged["cut"].write_bytes(good.read_bytes()[:300])
    for name, path in damaged.items():
        done = runner.invoke(args=["backup", "restore", "--force", str(path)])
        assert done.exit_code == 1, (name, done.output)
        assert "not a backup of this product" in done.output, (name, done.output)

    folder = tmp_path / "nightly"
    stale = folder / f"{backup.PARTIAL}killed"
    stale.mkdir(parents=True)
    (stale / "backup").write_bytes(b"what a killed run left")
    seen = []
    real = tarfile.TarFile.add

    def watching(self, name, *args, **kwargs):
        seen.extend(p.name for p in folder.rglob("*") if p.is_file())
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "add", watching)
    monkeypatch.setenv("BACKUP_PASSPHRASE", "a long and random enough passphrase 7f3a")
    assert runner.invoke(args=["backup", "create", str(folder / "x.tar.gz")]).exit_code == 0
    assert not stale.exists()
    assert "backup.tar.gz" not in seen  # only the database copy and the sealed output
    assert sorted(p.name for p in folder.iterdir()) == ["x.tar.gz"]
