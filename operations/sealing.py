"""Encryption of backups with a passphrase: scrypt derives the key, AES-256-GCM seals.

A whole archive is sealed in 64 KiB chunks (the STREAM construction: each chunk's nonce
carries its number and whether it is the last), so a database of any size is encrypted
without holding it in memory, and a chunk moved, dropped or cut off is refused like a
changed one. `seal`/`unseal` are the one-shot form the first backup format used for the
keys alone; restore still reads those archives."""

from __future__ import annotations

import io
import os
import shutil
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KEYS_MAGIC = b"TPSEAL1"  # the keys of a format-1 backup
ARCHIVE_MAGIC = b"TPSEAL2"  # a whole sealed archive
CHUNK = 64 * 1024
_TAG = 16


def _kdf(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**17, r=8, p=1).derive(passphrase.encode())


def is_sealed_archive(head: bytes) -> bool:
    return head.startswith(ARCHIVE_MAGIC)


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + number.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class Sealer(io.RawIOBase):
    """A file to write the clear archive into; what reaches `target` is sealed. A chunk is
    written once more follows it, so the last one, written at `close`, carries the flag."""

    def __init__(self, target: BinaryIO, passphrase: str):
        salt, self.prefix = os.urandom(16), os.urandom(7)
        self.aead, self.target = AESGCM(_kdf(passphrase, salt)), target
        self.pending, self.number = bytearray(), 0
        target.write(ARCHIVE_MAGIC + salt + self.prefix)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.pending += data
        while len(self.pending) > CHUNK:
            self._emit(bytes(self.pending[:CHUNK]), last=False)
            del self.pending[:CHUNK]
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self.pending), last=True)
        super().close()

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        nonce = _nonce(self.prefix, self.number, last)
        self.target.write(self.aead.encrypt(nonce, chunk, ARCHIVE_MAGIC))
        self.number += 1


def seal_stream(source: BinaryIO, target: BinaryIO, passphrase: str) -> None:
    with Sealer(target, passphrase) as sealer:
        shutil.copyfileobj(source, sealer, CHUNK)


def unseal_stream(source: BinaryIO, target: BinaryIO, passphrase: str) -> None:
    """Raises ValueError, saying which, on a wrong passphrase or a changed archive."""
    header = source.read(len(ARCHIVE_MAGIC) + 16 + 7)
    if not is_sealed_archive(header) or len(header) < len(ARCHIVE_MAGIC) + 23:
        raise ValueError("not a sealed backup")
    salt, prefix = header[7:23], header[23:30]
    aead = AESGCM(_kdf(passphrase, salt))
    sealed, number = source.read(CHUNK + _TAG), 0
    while True:
        following = source.read(CHUNK + _TAG)
        last = not following
        try:
            target.write(aead.decrypt(_nonce(prefix, number, last), sealed, ARCHIVE_MAGIC))
        except InvalidTag:
            why = "the backup was changed or cut short"
            raise ValueError(f"wrong passphrase, or {why}" if number == 0 else why) from None
        if last:
            return
        sealed, number = following, number + 1


def seal(content: bytes, passphrase: str) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    body = AESGCM(_kdf(passphrase, salt)).encrypt(nonce, content, KEYS_MAGIC)
    return KEYS_MAGIC + salt + nonce + body


def unseal(sealed: bytes, passphrase: str) -> bytes:
    if not sealed.startswith(KEYS_MAGIC):
        raise ValueError("the sealed keys are damaged")
    salt, nonce, body = sealed[7:23], sealed[23:35], sealed[35:]
    try:
        return AESGCM(_kdf(passphrase, salt)).decrypt(nonce, body, KEYS_MAGIC)
    except InvalidTag:  # a wrong passphrase or a changed file
        raise ValueError("wrong passphrase, or the sealed keys were changed") from None
