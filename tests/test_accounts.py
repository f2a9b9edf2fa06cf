"""Clinics and users in PostgreSQL; `chairside admin`; the demo practice of
a first start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, start_server, stop_server
from test_store import fresh_database

from chairside.config import Settings
from chairside.store import accounts
from chairside.store.db import open_database


@pytest.fixture
async def pool(embedded_postgres):
    database = await open_database(Settings(database_url=await fresh_database(embedded_postgres)))
    yield database.pool
    await database.close()


async def test_users_log_in_with_their_password_only(pool):
    clinic = await accounts.create_clinic(pool, "Cabinet Test", street="1 rue A", postcode="69001", city="Lyon", phone="04 78 00 00 09")
    user = await accounts.create_user(pool, clinic, email="Dr.Test@example.fr", name="Dr Test", role="dentist",
                                      password="correct horse battery", rpps="10101234564")
    stored = await pool.fetchval("SELECT password_hash FROM users WHERE id = $1", __import__("uuid").UUID(hex=user.id))
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert await accounts.authenticate(pool, "dr.test@example.fr", "correct horse battery") == user  # e-mail case-insensitive
    assert await accounts.authenticate(pool, "dr.test@example.fr", "wrong password!!") is None
    assert await accounts.authenticate(pool, "nobody@example.fr", "correct horse battery") is None


@pytest.mark.parametrize("change, message", [
    ({"role": "boss"}, "role must be one of"),
    ({"password": "short"}, "at least 12 characters"),
    ({"rpps": "10101234565"}, "check digit"),
    ({"email": "not-an-email"}, "e-mail"),
    ({"clinic": "00000000000000000000000000000000"}, "no clinic"),
])
async def test_bad_accounts_are_refused_with_the_reason(pool, change, message):
    clinic = await accounts.create_clinic(pool, "Cabinet Test")
    values = {"clinic": clinic, "email": "a@example.fr", "name": "Dr A", "role": "dentist", "password": "a long enough password", **change}
    with pytest.raises(accounts.AccountError, match=message):
        await accounts.create_user(pool, values.pop("clinic"), **values)


async def test_an_e_mail_is_one_user(pool):
    clinic = await accounts.create_clinic(pool, "Cabinet Test")
    await accounts.create_user(pool, clinic, email="a@example.fr", name="Dr A", role="dentist", password="a long enough password")
    with pytest.raises(accounts.AccountError, match="exists already"):
        await accounts.create_user(pool, clinic, email="A@example.fr", name="Dr B", role="assistant", password="a long enough password")


def test_admin_commands(embedded_postgres):
    import asyncio

    env = {**os.environ, "DATABASE_URL": asyncio.run(fresh_database(embedded_postgres))}

    def admin(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "chairside.cli", "admin", *args], capture_output=True, text=True,
                              cwd=ROOT, env=env, input=stdin, timeout=120)

    clinic = admin("create-clinic", "Cabinet du Parc", "--city", "Lyon", "--phone", "04 78 00 00 03")
    assert clinic.returncode == 0, clinic.stderr
    clinic_id = clinic.stdout.strip()
    user = admin("create-user", "--clinic", clinic_id, "--email", "assistante@parc.fr", "--name", "Julie", "--role", "assistant",
                 "--password-stdin", stdin="un mot de passe solide\n")
    assert user.returncode == 0 and len(user.stdout.strip()) == 32, user.stderr
    again = admin("create-user", "--clinic", clinic_id, "--email", "assistante@parc.fr", "--name", "Julie", "--role", "assistant",
                  "--password-stdin", stdin="un mot de passe solide\n")
    assert again.returncode == 2 and again.stderr.strip() == "error: a user with the e-mail assistante@parc.fr exists already"
    bad_phone = admin("create-clinic", "Cabinet X", "--phone", "12")
    assert bad_phone.returncode == 2 and "phone" in bad_phone.stderr and "Traceback" not in bad_phone.stderr


def test_a_first_start_creates_a_demo_practice_once(tmp_path):
    server = start_server(tmp_path)
    stop_server(server)
    assert "Empty store: created a demo practice. Log in as dentiste@demo.chairside.local with the password" in server.log()
    again = start_server(tmp_path)  # same data directory, its own log file
    stop_server(again)
    assert again.log_path != server.log_path and "Empty store" not in again.log()
