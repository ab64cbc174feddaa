"""Backups that restore into a working instance: the database (SQLite through its online
backup API, consistent while the app runs; PostgreSQL through pg_dump's custom format),
the instance's keys (pass signing, audit checkpoints), the session secret and the audit
checkpoints file, in one tar.gz with a manifest.

With a passphrase the whole archive is sealed (scrypt, AES-256-GCM in chunks,
operations/sealing.py): the database inside holds names, ID numbers and phones, and the
keys can sign passes. Without one the archive is in clear, written readable by its owner
only, and the command warns.

Over 300 lines on purpose: backup and restore are each other's inverse and are checked
together."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from operations import sealing

# 1: the keys sealed inside a clear archive; 2: the whole archive sealed.
FORMAT, FORMATS = 2, (1, 2)
# What of the instance folder travels with the database (the database file itself aside).
SECRETS = ("keys", "secret_key")
WITNESS, WITNESS_NAME = "audit", "checkpoints.jsonl"  # as the archive names the witness file
PARTIAL = ".trafficpass-partial-"  # the work folder beside the target, gone after each run


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str
    dialect: str
    revision: str | None
    keys_sealed: bool  # format 2: the archive around this manifest is sealed
    rows: dict[str, int]
    audit_tree: dict[str, Any] | None = None  # size and root_hash when the dump was made


def create(
    engine: Engine,
    instance: Path,
    target: Path,
    now: datetime,
    passphrase: str | None,
    witness: Path,
) -> Manifest:
    """Write the backup to `target`, atomically; returns its manifest."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f"{PARTIAL}*"):  # a run killed before it cleaned up
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=PARTIAL) as work:
        dump = Path(work) / "database"
        _dump(engine, dump)
        manifest = Manifest(
            FORMAT,
            now.isoformat(),
            engine.dialect.name,
            _revision(engine),
            passphrase is not None,
            _row_counts(engine),
            _audit_tree(engine),
        )
        archive = Path(work) / "backup"
        # Sealed as it is written: the clear archive never reaches the disk.
        with (
            _private(archive) as raw,
            _sealed(raw, passphrase) as out,
            tarfile.open(fileobj=out, mode="w|gz") as tar,
        ):
            _add_bytes(tar, "manifest.json", json.dumps(manifest.__dict__, indent=2).encode())
            tar.add(dump, arcname=f"database.{_suffix(engine.dialect.name)}")
            _add_bytes(tar, "instance.tar", _pack(instance, SECRETS))
            if witness.is_file():  # wherever AUDIT_WITNESS_FILE puts it
                tar.add(witness, arcname=f"{WITNESS}/{WITNESS_NAME}")
        os.replace(archive, target)
    return manifest


def restore(
    engine: Engine,
    instance: Path,
    source: Path,
    passphrase: str | None,
    witness: Path,
    *,
    force: bool,
) -> Manifest:
    """Put the backup's database and instance files in place. Refuses to overwrite a
    database that holds passes, or keys that differ, unless `force`."""
    with tempfile.TemporaryDirectory() as work:
        archive = _opened(source, Path(work), passphrase, force)
        try:
            return _restore(engine, instance, archive, passphrase, witness, Path(work), force)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile):
            raise BackupError(f"{source} is damaged or not a backup of this product") from None


def _restore(
    engine: Engine,
    instance: Path,
    archive: Path,
    passphrase: str | None,
    witness: Path,
    work: Path,
    force: bool,
) -> Manifest:
    with tarfile.open(archive, mode="r:gz") as tar:
        manifest = _manifest(_read(tar, "manifest.json"))
        if manifest.format not in FORMATS:
            raise BackupError(f"backup format {manifest.format} is not one of {FORMATS}")
        if manifest.dialect != engine.dialect.name:
            raise BackupError(
                f"the backup is of a {manifest.dialect} database; DATABASE_URL is "
                f"{engine.dialect.name}"
            )
        secrets = _secrets(tar, manifest, passphrase, force)
        theirs = _member(tar, f"{WITNESS}/{WITNESS_NAME}")
        aside = _check_witness(witness, theirs, manifest, force)
        if not force and _holds_data(engine):
            raise BackupError("the database already holds data; restore into an empty one")
        _check_keys(instance, secrets, force)
        dump = work / "database"
        member = tar.extractfile(f"database.{_suffix(manifest.dialect)}")
        if member is None:
            raise BackupError("the backup holds no database")
        with member, dump.open("wb") as out:
            shutil.copyfileobj(member, out)
        _load(engine, dump)
        _unpack(instance, secrets)
        if aside is not None:
            witness.rename(aside)
        _write_private(witness, _merged(witness, theirs))
    return manifest


def _manifest(raw: bytes) -> Manifest:
    try:
        fields = json.loads(raw)
        manifest = Manifest(
            **{k: v for k, v in fields.items() if k in Manifest.__dataclass_fields__}
        )
        if not isinstance(manifest.audit_tree, dict | None) or not isinstance(manifest.rows, dict):
            raise TypeError("audit_tree and rows are objects")
        return manifest
    except (ValueError, TypeError, AttributeError):
        raise BackupError("the manifest is damaged: not a backup of this product") from None


# --- the witness file --------------------------------------------------------------------
# The sequencer signs only trees that extend the witness file's latest checkpoint. A
# restore never shortens the file a machine holds, and refuses, before changing anything,
# a backup whose log falls short of (or contradicts) a checkpoint the machine signed.


def _checkpoints(content: bytes) -> dict[int, str]:
    """size -> root_hash of each checkpoint line (lines that are not one are skipped)."""
    found = {}
    for line in content.splitlines():
        try:
            raw = json.loads(line)
            found[int(raw["size"])] = str(raw["root_hash"])
        except (ValueError, KeyError, TypeError):
            continue
    return found


def _check_witness(
    witness: Path, theirs: bytes | None, manifest: Manifest, force: bool
) -> Path | None:
    """Where the machine's witness file goes aside (with `force`), or None to keep it."""
    if not witness.is_file():
        return None
    ours, backup = _checkpoints(witness.read_bytes()), _checkpoints(theirs or b"")
    tree = manifest.audit_tree or {}
    size = int(tree.get("size", max(backup, default=0)))
    problem = None
    if ours and max(ours) > size:
        problem = (
            f"the witness file {witness} holds a checkpoint of {max(ours)} entries; this "
            f"backup's audit log has {size}: restoring it loses signed history"
        )
    elif any(backup.get(n, root) != root for n, root in ours.items()) or (
        size in ours and tree.get("root_hash") not in (None, ours[size])
    ):
        problem = f"this backup's audit log contradicts a checkpoint in {witness}"
    if problem is None:
        return None
    if not force:
        raise BackupError(
            f"{problem}. The audit sequencer would refuse to sign it. Restore a newer "
            "backup, or, to accept the loss, restore with --force: the witness file is "
            "kept aside as evidence"
        )
    return witness.with_name(f"{witness.name}.before-restore-{os.getpid()}")


def _merged(witness: Path, theirs: bytes | None) -> bytes:
    """The machine's witness file with the backup's checkpoints it lacks after it."""
    ours = witness.read_bytes() if witness.is_file() else b""
    known = set(ours.splitlines())
    extra = [
        line
        for line in (theirs or b"").splitlines()
        if line not in known and _checkpoints(line)  # checkpoints only; the sequencer checks
    ]  # their signatures before it trusts one
    if ours and not ours.endswith(b"\n"):
        ours += b"\n"
    return ours + b"".join(line + b"\n" for line in extra)


def _member(tar: tarfile.TarFile, name: str) -> bytes | None:
    try:
        member = tar.extractfile(name)
    except KeyError:
        return None
    return member.read() if member is not None else None


@contextmanager
def _sealed(raw: BinaryIO, passphrase: str | None) -> Iterator[BinaryIO]:
    if passphrase is None:
        yield raw
        return
    with sealing.Sealer(raw, passphrase) as sealer:
        yield sealer  # type: ignore[misc]


def _opened(source: Path, work: Path, passphrase: str | None, force: bool) -> Path:
    """The archive in clear: `source` itself, or unsealed into `work`."""
    with source.open("rb") as raw:
        sealed = sealing.is_sealed_archive(raw.read(len(sealing.ARCHIVE_MAGIC)))
    if not sealed:
        if passphrase is not None and not force:
            # A passphrase means backups are sealed: an archive in clear was made without
            # one, or of the first format (its database in clear), or put together to slip
            # in a database or keys of someone's choosing.
            raise BackupError(
                "this backup is not sealed although a passphrase is set; restore with "
                "--force only if it was made without one, or is of the first format, and "
                "you know where it came from"
            )
        return source
    if passphrase is None:
        raise BackupError("this backup is sealed: give the passphrase")
    clear = work / "backup.tar.gz"
    unseal_to(source, clear, passphrase)
    return clear


def unseal_to(source: Path, target: Path, passphrase: str) -> None:
    """The clear archive inside a sealed backup, written to `target` (owner-only)."""
    with source.open("rb") as raw:
        if not sealing.is_sealed_archive(raw.read(len(sealing.ARCHIVE_MAGIC))):
            raise BackupError(f"{source} is not sealed: open it with tar")
    try:
        with source.open("rb") as raw, _private(target) as out:
            sealing.unseal_stream(raw, out, passphrase)
    except ValueError as exc:
        raise BackupError(str(exc)) from None


def _secrets(
    tar: tarfile.TarFile, manifest: Manifest, passphrase: str | None, force: bool
) -> bytes:
    if manifest.format == 1 and manifest.keys_sealed:
        if passphrase is None:
            raise BackupError("the keys in this backup are sealed: give the passphrase")
        try:
            return sealing.unseal(_read(tar, "instance.tar.sealed"), passphrase)
        except ValueError as exc:
            raise BackupError(str(exc)) from None
    return _read(tar, "instance.tar")


# --- the database ------------------------------------------------------------------------


def _suffix(dialect: str) -> str:
    return "sqlite3" if dialect == "sqlite" else "pgdump"


def _dump(engine: Engine, target: Path) -> None:
    if engine.dialect.name == "sqlite":
        # SQLite's online backup: a consistent snapshot while the app keeps writing.
        _sqlite_copy(_sqlite_path(engine), str(target))
        return
    url, password = _libpq(engine)
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", url], password)


def _load(engine: Engine, dump: Path) -> None:
    engine.dispose()
    if engine.dialect.name == "sqlite":
        _sqlite_copy(str(dump), _sqlite_path(engine))
        return
    url, password = _libpq(engine)
    restore = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction"]
    _run([*restore, f"--dbname={url}", str(dump)], password)


def _sqlite_copy(source_path: str, target_path: str) -> None:
    source = sqlite3.connect(source_path)
    try:
        target = sqlite3.connect(target_path)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _sqlite_path(engine: Engine) -> str:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return database


def _libpq(engine: Engine) -> tuple[str, str | None]:
    """The libpq URL without its password, and the password."""
    url = make_url(engine.url).set(drivername="postgresql")
    return url.set(password=None).render_as_string(hide_password=False), url.password


def _run(command: list[str], password: str | None) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is missing: apt-get install postgresql-client")
    # The password goes in the environment: a command line is visible to every local user.
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)  # noqa: S603
    if done.returncode != 0:
        # Its message names tables and options, not rows; the URL is not repeated.
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


def _row_counts(engine: Engine) -> dict[str, int]:
    counts = {}
    with engine.connect() as conn:
        for table in ("pass", "trip", "scan", "audit_entry", "sms_message", "driver"):
            if inspect(conn).has_table(table):
                counts[table] = conn.scalar(text(f'SELECT count(*) FROM "{table}"'))  # noqa: S608
    return counts


def _audit_tree(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("audit_tree"):
            return None
        row = conn.execute(text("SELECT size, root_hash FROM audit_tree WHERE id = 1")).first()
    return {"size": row.size, "root_hash": row.root_hash} if row else {"size": 0}


def _holds_data(engine: Engine) -> bool:
    """Any account, enterprise, pass or audit entry: more than a fresh database has."""
    with engine.connect() as conn:
        tables = ("user_account", "enterprise", "pass", "audit_entry")
        return any(
            inspect(conn).has_table(table) and conn.scalar(text(f'SELECT count(*) FROM "{table}"'))  # noqa: S608
            for table in tables
        )


# --- the instance's files ----------------------------------------------------------------


def _pack(instance: Path, names: tuple[str, ...]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in names:
            if (instance / name).exists():
                tar.add(instance / name, arcname=name)
    return buffer.getvalue()


def _members(secrets: bytes) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(secrets), mode="r") as tar:
        for member in tar.getmembers():
            if member.isfile() and _safe(member.name):
                yield member.name, tar.extractfile(member).read()  # type: ignore[union-attr]


def _safe(name: str) -> bool:
    parts = Path(name).parts
    return (
        bool(parts) and parts[0] in SECRETS and ".." not in parts and not Path(name).is_absolute()
    )


def _check_keys(instance: Path, secrets: bytes, force: bool) -> None:
    for name, content in _members(secrets):
        path = instance / name
        if not name.startswith("keys/"):
            continue  # a fresh instance's own session secret gives way to the backup's
        if path.exists() and path.read_bytes() != content and not force:
            raise BackupError(f"{path} differs from the backup's; move it away first")


def _unpack(instance: Path, secrets: bytes) -> None:
    for name, content in _members(secrets):
        _write_private(instance / name, content)


def _write_private(path: Path | None, content: bytes) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _private(path, replace=True) as out:
        out.write(content)


def _private(path: Path, *, replace: bool = False) -> io.BufferedWriter:
    """`path` opened for writing, readable by its owner only."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    return os.fdopen(os.open(path, flags, 0o600), "wb")


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(content), 0o600
    tar.addfile(info, io.BytesIO(content))


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        member = tar.extractfile(name)
    except KeyError:
        raise BackupError(f"{name} is missing: not a backup of this product") from None
    assert member is not None
    return member.read()
