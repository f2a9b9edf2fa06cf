"""Backups that restore (issue 16): the encrypted file refuses every kind
of damage, and a practice's store goes through backup and restore — on the
embedded PostgreSQL (a scheduled backup) and on Debian's (``chairside
backup``) — with its signed PDFs byte for byte, its audit trail intact and
its logins working."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from conftest import PASSWORD, ROOT, create_practice, login, start_server, stop_server
from test_store import _validate_a_prescription, fresh_database

from chairside import backup
from chairside.asr.models import sha256_of

PASSPHRASE = "a long practice passphrase"


def sealed(data: bytes, passphrase: str = PASSPHRASE) -> bytes:
    out = io.BytesIO()
    backup.encrypt(io.BytesIO(data), out, passphrase, {"created_at": "2026-11-30T00:00:00+00:00", "chairside": "test"})
    return out.getvalue()


def opened(data: bytes, passphrase: str = PASSPHRASE) -> bytes:
    return b"".join(backup.decrypt(io.BytesIO(data), passphrase))


def with_header(file: bytes, change) -> bytes:
    """The same file with its header rewritten (and its length with it)."""
    import json
    import struct

    start = len(backup.MAGIC)
    (size,) = struct.unpack(">I", file[start : start + 4])
    header = json.dumps(change(json.loads(file[start + 4 : start + 4 + size]))).encode()
    return backup.MAGIC + struct.pack(">I", len(header)) + header + file[start + 4 + size :]


def test_rotation_keeps_the_newest_and_only_counts_scheduled_backups(tmp_path):
    for name in ("chairside-20261128T020000Z.backup", "chairside-20261129T020000Z.backup", "chairside-20261130T020000Z.backup",
                 "chairside-before-upgrade.backup"):
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / (name + ".sha256")).write_text("x")
    gone = backup.rotate(tmp_path, 0)  # 0 keeps the newest all the same
    assert [p.name for p in gone] == ["chairside-20261128T020000Z.backup", "chairside-20261129T020000Z.backup"]
    assert sorted(p.name for p in tmp_path.glob("*.backup")) == ["chairside-20261130T020000Z.backup", "chairside-before-upgrade.backup"]
    assert not (tmp_path / "chairside-20261128T020000Z.backup.sha256").exists()


def test_the_encrypted_file_refuses_every_kind_of_damage(monkeypatch):
    monkeypatch.setattr(backup, "CHUNK", 1000)  # several parts
    data = os.urandom(3500)
    file = sealed(data)
    assert opened(file) == data and data not in file
    assert opened(sealed(b"")) == b""
    header_end = len(backup.MAGIC) + 4 + int.from_bytes(file[len(backup.MAGIC) : len(backup.MAGIC) + 4], "big")
    part = 4 + 1000 + 16
    cases = {
        "wrong passphrase": (file, "another long passphrase", "wrong passphrase"),
        "a byte changed in part 2": (file[: header_end + part + 10] + bytes([file[header_end + part + 10] ^ 1]) + file[header_end + part + 11 :],
                                     PASSPHRASE, "damaged (part 2)"),
        "the last part dropped": (file[: header_end + 3 * part], PASSPHRASE, "last part is missing"),
        "cut in the middle": (file[: header_end + part + 500], PASSPHRASE, "cut short"),
        "parts swapped": (file[:header_end] + file[header_end + part : header_end + 2 * part] + file[header_end : header_end + part]
                          + file[header_end + 2 * part :], PASSPHRASE, "wrong passphrase, or the backup is damaged"),
        "the header changed": (file.replace(b'"chairside": "test"', b'"chairside": "tesT"'), PASSPHRASE, "wrong passphrase"),
        "data after the end": (file + b"x", PASSPHRASE, "after its end"),
        "not a backup": (b"PGDMP" + file, PASSPHRASE, "not a Chairside backup"),
        # read before anything is authenticated, so bounded: no scrypt of 2**30 × 8 × 128 bytes on a crafted file
        "a crafted header": (with_header(file, lambda h: {**h, "kdf": {**h["kdf"], "n": 1 << 30}}), PASSPHRASE, "header is damaged"),
        "a header missing a field": (with_header(file, lambda h: {k: v for k, v in h.items() if k != "kdf"}), PASSPHRASE, "header is damaged"),
        "a header of the wrong shape": (with_header(file, lambda h: {**h, "kdf": "scrypt"}), PASSPHRASE, "header is damaged"),
        "an odd scrypt cost": (with_header(file, lambda h: {**h, "kdf": {**h["kdf"], "n": 1000}}), PASSPHRASE, "header is damaged"),
    }
    for name, (damaged, passphrase, message) in cases.items():
        with pytest.raises(backup.BackupError, match=re.escape(message)):
            opened(damaged, passphrase)
    with pytest.raises(backup.BackupError, match="12 characters"):
        sealed(data, "short")


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chairside.cli", *args], env={**env, "CHAIRSIDE_BACKUP_PASSPHRASE": PASSPHRASE},
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("where", ["embedded", "debian"])
def test_a_store_goes_through_backup_and_restore(tmp_path, request, where):
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir()
    target.mkdir()
    settings: dict = {}
    if where == "debian":
        cluster = request.getfixturevalue("debian_postgres").url
        settings["database_url"] = asyncio.run(fresh_database(cluster))
    else:  # scheduled backups, every 1.1 s here, two kept
        (tmp_path / "passphrase").write_text(PASSPHRASE + "\n")
        settings.update(backup_dir=str(tmp_path / "backups"), backup_every_h="0.0003", backup_keep="2",
                        backup_passphrase_file=str(tmp_path / "passphrase"))
    server = start_server(source, **settings)
    try:
        practice = create_practice(server)
        doc = asyncio.run(_validate_a_prescription(practice))
        original = httpx.get(server.http + doc["url"], headers=practice.headers(), timeout=10).content
        if where == "debian":
            file = tmp_path / "cabinet.backup"
            made = cli(server.env, "backup", str(file))
            assert made.returncode == 0, made.stderr
            assert f"sha256: {sha256_of(file)}" in made.stdout
        else:
            signed, deadline = time.time(), time.monotonic() + 60
            while time.monotonic() < deadline and not (
                    "(backup_keep 2)" in server.log()  # a third one was written: the oldest went
                    and any(f.stat().st_mtime > signed for f in (tmp_path / "backups").glob("*.backup"))):
                time.sleep(0.3)
            kept = sorted((tmp_path / "backups").glob("*.backup"))
            assert len(kept) == 2 and kept[-1].stat().st_mtime > signed, (kept, server.log()[-2000:])
            file = kept[-1]
    finally:
        stop_server(server)
    assert (file.parent / (file.name + ".sha256")).read_text().split()[0] == sha256_of(file)
    assert b"Amoxicilline" not in file.read_bytes() and b"Durand" not in file.read_bytes()  # encrypted
    # restored into an empty store: a new data directory, or a new database
    env = {**server.env, "CHAIRSIDE_DATA_DIR": str(target)}
    if where == "debian":
        env["DATABASE_URL"] = env["CHAIRSIDE_DATABASE_URL"] = asyncio.run(fresh_database(cluster))
    restored = cli(env, "restore", str(file))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "1 document version(s)" in restored.stdout and "the audit trail is intact" in restored.stdout, restored.stdout
    again = cli(env, "restore", str(file))  # never over a store that has data
    assert again.returncode == 2 and "not empty" in again.stderr
    server = start_server(target, **({"database_url": env["DATABASE_URL"]} if where == "debian" else {}))
    try:
        token = login(server.http, practice.emails["dentist"], PASSWORD)  # the same password logs in
        pdf = httpx.get(server.http + doc["url"], headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert pdf.status_code == 200 and pdf.content == original  # byte for byte
        audit = subprocess.run([sys.executable, "-m", "chairside.cli", "audit", "verify"], env=server.env, cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
        assert audit.returncode == 0 and audit.stdout.startswith("audit trail intact"), audit.stdout
    finally:
        stop_server(server)
