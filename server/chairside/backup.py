"""Backups that restore (issue 16): ``chairside backup FILE`` and
``chairside restore FILE``, and the server's scheduled backups.

A backup is PostgreSQL's own consistent dump of the whole store
(``pg_dump --format=custom``: one snapshot, compressed; the embedded server
or any server by URL), encrypted with a passphrase as it is written, never
on disk in clear:

- the key comes from the passphrase through scrypt (a random salt per file);
- the dump is cut in 1 MiB chunks, each sealed with AES-256-GCM; each chunk
  authenticates the file's header, its own number and whether it is the
  last, so a chunk altered, reordered, dropped or cut off, a header changed
  or a wrong passphrase all fail the restore before anything is written;
- ``FILE.sha256`` (``sha256sum`` format) lets anyone check a copy without the
  passphrase.

A restore goes into an **empty** store only (it never merges or
overwrites), then applies this version's migrations (a backup of an older
Chairside comes up to date) and checks what it restored: every document
version's PDF against its sha256, the audit chain, and that the accounts
and the token key are there.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from . import __version__
from .asr.models import sha256_of

log = logging.getLogger(__name__)

MAGIC = b"CHAIRSIDE-BACKUP\n"
CHUNK = 1 << 20
SCRYPT = {"n": 1 << 15, "r": 8, "p": 1}  # ~0.1 s and 32 MiB: a guessed passphrase costs as much
MIN_PASSPHRASE = 12


class BackupError(Exception):
    """A backup or restore that cannot be done: the message says why."""


def read_passphrase(path: str | Path) -> str:
    """A passphrase kept in a file (its line end is not part of it)."""
    return Path(path).read_text(encoding="utf-8").rstrip("\r\n")


# -- the encrypted file ------------------------------------------------------------------


def _key(passphrase: str, salt: bytes, params: dict) -> bytes:
    return Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"]).derive(passphrase.encode())


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">Q?", index, last)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def encrypt(source: BinaryIO, target: BinaryIO, passphrase: str, info: dict) -> None:
    """``source`` (read to its end) into ``target``, sealed with ``passphrase``."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must have {MIN_PASSPHRASE} characters or more")
    salt, prefix = os.urandom(16), os.urandom(8)
    header = json.dumps({
        "format": 1, **info, "cipher": "AES-256-GCM", "chunk": CHUNK, "nonce_prefix": base64.b64encode(prefix).decode(),
        "kdf": {"name": "scrypt", **SCRYPT, "salt": base64.b64encode(salt).decode()},
    }, sort_keys=True).encode()
    aead = AESGCM(_key(passphrase, salt, SCRYPT))
    target.write(MAGIC + struct.pack(">I", len(header)) + header)
    index, block = 0, source.read(CHUNK)
    while True:
        following = source.read(CHUNK) if block else b""
        last = not following
        sealed = aead.encrypt(_nonce(prefix, index), block, _aad(header, index, last))
        target.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        index, block = index + 1, following


def read_header(source: BinaryIO) -> tuple[bytes, dict]:
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError("not a Chairside backup")
    (size,) = struct.unpack(">I", _exactly(source, 4))
    if size > 1 << 16:
        raise BackupError("the backup's header is damaged")
    header = _exactly(source, size)
    try:
        info = json.loads(header)
    except ValueError:
        raise BackupError("the backup's header is damaged") from None
    if not isinstance(info, dict) or info.get("format") != 1:
        raise BackupError(f"backup format {info.get('format') if isinstance(info, dict) else None!r} is not one this version reads")
    try:  # read before anything is authenticated: bounded, so that a crafted file cannot make the restore huge
        kdf, chunk = info["kdf"], int(info["chunk"])
        base64.b64decode(kdf["salt"], validate=True), base64.b64decode(info["nonce_prefix"], validate=True)
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        ok = (kdf.get("name") == "scrypt" and 2 <= n and n & (n - 1) == 0 and 1 <= r and 128 * n * r <= 256 << 20  # memory
              and 1 <= p <= 16 and 1 <= chunk <= 16 << 20 and len(base64.b64decode(info["nonce_prefix"])) == 8)
    except (KeyError, TypeError, ValueError, AttributeError):
        ok = False
    if not ok:
        raise BackupError("the backup's header is damaged")
    return header, info


def decrypt(source: BinaryIO, passphrase: str) -> Iterator[bytes]:
    """The plain chunks, each checked; BackupError on a wrong passphrase or a damaged file."""
    header, info = read_header(source)
    kdf = info["kdf"]
    aead = AESGCM(_key(passphrase, base64.b64decode(kdf["salt"]), kdf))
    prefix, index = base64.b64decode(info["nonce_prefix"]), 0
    while True:
        raw = source.read(4)
        if len(raw) < 4:
            raise BackupError("the backup is cut short (its last part is missing)")
        (size,) = struct.unpack(">I", raw)
        if size > info["chunk"] + 16:
            raise BackupError(f"the backup is damaged (part {index + 1})")
        sealed = _exactly(source, size)
        for last in (False, True):
            try:
                block = aead.decrypt(_nonce(prefix, index), sealed, _aad(header, index, last))
                break
            except InvalidTag:
                continue
        else:
            raise BackupError("wrong passphrase, or the backup is damaged" if index == 0 else f"the backup is damaged (part {index + 1})")
        yield block
        if last:
            if source.read(1):
                raise BackupError("the backup has data after its end")
            return
        index += 1


def _exactly(source: BinaryIO, n: int) -> bytes:
    data = source.read(n)
    if len(data) != n:
        raise BackupError("the backup is cut short")
    return data


# -- PostgreSQL's tools ---------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the embedded PostgreSQL's (16), or one on the PATH when newer."""
    from pgserver._commands import POSTGRES_BIN_PATH

    candidates = [str(POSTGRES_BIN_PATH / name)] + ([found] if (found := shutil.which(name)) else [])
    def major(tool: str) -> int:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30).stdout
        return int(out.split()[-1].split(".")[0]) if out else 0
    return max(candidates, key=major)


def _libpq(url: str) -> tuple[str, dict]:
    """The URL without its password, and the environment that carries it
    (PGPASSWORD): a command line is visible to every local user."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url, dict(os.environ)
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") if len(netloc) == 2 else ""
    bare = urlunsplit(parts._replace(netloc=(f"{user}@" if user else "") + netloc[-1]))
    return bare, {**os.environ, "PGPASSWORD": unquote(parts.password)}


@dataclass
class Dumped:
    path: Path
    sha256: str
    size: int


def backup(url: str, path: Path, passphrase: str) -> Dumped:
    """A consistent dump of the database at ``url``, encrypted into ``path``
    (written under a temporary name, then renamed: never half a file), and
    ``path.sha256`` beside it."""
    path = Path(path)
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must have {MIN_PASSPHRASE} characters or more")
    partial = path.with_name(path.name + ".part")
    url, env = _libpq(url)
    with tempfile.TemporaryFile() as stderr:  # a file, not a pipe: pg_dump's warnings can never block it
        dump = subprocess.Popen([pg_tool("pg_dump"), "--format=custom", "--compress=6", "--no-owner", "--no-privileges",
                                 f"--dbname={url}"], stdout=subprocess.PIPE, stderr=stderr, env=env)
        try:
            with partial.open("wb") as target:
                encrypt(dump.stdout, target, passphrase, {
                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "chairside": __version__})
                target.flush()
                os.fsync(target.fileno())
            if dump.wait() != 0:
                stderr.seek(0)
                raise BackupError(f"pg_dump failed: {stderr.read().decode(errors='replace').strip()}")
        except BaseException:
            dump.kill()
            dump.wait()
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, path)
    digest = sha256_of(path)
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    return Dumped(path=path, sha256=digest, size=path.stat().st_size)


def restore(path: Path, url: str, passphrase: str) -> None:
    """Decrypt ``path`` into the (empty) database at ``url`` with pg_restore,
    in one transaction: all of it or nothing."""
    path = Path(path)
    check = path.with_name(path.name + ".sha256")
    if check.exists() and check.read_text().split()[0] != sha256_of(path):
        raise BackupError(f"{path} does not match {check.name}: the copy is damaged")
    with path.open("rb") as source:  # read it all once first: a wrong passphrase or damage writes nothing
        for _ in decrypt(source, passphrase):
            pass
    url, env = _libpq(url)
    with tempfile.TemporaryFile() as stderr:
        load = subprocess.Popen([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                                 f"--dbname={url}"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        try:
            with path.open("rb") as source:
                for block in decrypt(source, passphrase):
                    load.stdin.write(block)
            load.stdin.close()
        except BrokenPipeError:  # pg_restore stopped: its error says why
            pass
        except BaseException:  # nothing committed: one transaction, killed before its end
            load.kill()
            load.wait()
            raise
        if load.wait() != 0:
            stderr.seek(0)
            raise BackupError(f"pg_restore failed (nothing was restored): {stderr.read().decode(errors='replace').strip()}")


SCHEDULED = re.compile(r"chairside-\d{8}T\d{6}Z\.backup")


def rotate(directory: Path, keep: int) -> list[Path]:
    """Delete the oldest scheduled backups beyond ``keep`` (at least 1: the
    newest is never deleted; files named otherwise are not counted); the
    ones deleted."""
    backups = sorted(p for p in directory.glob("chairside-*.backup") if SCHEDULED.fullmatch(p.name))
    keep = max(1, keep)
    gone = backups[: max(0, len(backups) - keep)]
    for old in gone:
        old.unlink(missing_ok=True)
        old.with_name(old.name + ".sha256").unlink(missing_ok=True)
    return gone


# -- scheduled backups (the server) --------------------------------------------------------


def check_schedule(settings) -> str | None:
    """Why scheduled backups cannot run as configured (said at start-up), if they cannot."""
    if not settings.backup_dir:
        return None
    if not settings.backup_passphrase_file:
        return "backup_dir needs backup_passphrase_file (the passphrase the backups are encrypted with)"
    try:
        passphrase = read_passphrase(settings.backup_passphrase_file)
    except OSError as exc:
        return f"cannot read backup_passphrase_file: {exc}"
    if len(passphrase) < MIN_PASSPHRASE:
        return f"the backup passphrase must have {MIN_PASSPHRASE} characters or more"
    if settings.backup_keep < 1 or settings.backup_every_h <= 0:
        return "backup_keep must be 1 or more, and backup_every_h more than 0"
    try:
        Path(settings.backup_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create backup_dir: {exc}"
    return None


def scheduled(settings, url: str, now: dt.datetime | None = None) -> Dumped:
    """One scheduled backup into ``backup_dir``, then the rotation."""
    now = now or dt.datetime.now(dt.timezone.utc)
    directory = Path(settings.backup_dir)
    passphrase = read_passphrase(settings.backup_passphrase_file)
    done = backup(url, directory / f"chairside-{now:%Y%m%dT%H%M%SZ}.backup", passphrase)
    for old in rotate(directory, settings.backup_keep):
        log.info("backup: deleted %s (backup_keep %d)", old.name, settings.backup_keep)
    return done
