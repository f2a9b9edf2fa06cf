"""Clinics and users in PostgreSQL; `chairside admin`; the first practice
set up in the browser on an empty store; the demo practice on request."""

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
    ({"role": "boss"}, "role: must be one of"),
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
    assert again.returncode == 2 and again.stderr.strip() == "error: email: a user with the e-mail assistante@parc.fr exists already"
    bad_phone = admin("create-clinic", "Cabinet X", "--phone", "12")
    assert bad_phone.returncode == 2 and "phone" in bad_phone.stderr and "Traceback" not in bad_phone.stderr


async def test_a_user_and_the_practice_are_changed_with_their_values_checked(pool):
    clinic = await accounts.create_clinic(pool, "Cabinet Test", city="Lyon")
    user = await accounts.create_user(pool, clinic, email="a@example.fr", name="Dr A", role="dentist",
                                      password="a long enough password", temporary=True)
    assert user.must_change_password
    row = await accounts.update_user(pool, clinic, user.id, {"rpps": "10101234564", "phone": "06 12 34 56 78", "title": "Docteur"})
    assert (row["rpps"], row["phone"], row["title"]) == ("10101234564", "+33 6 12 34 56 78", "Docteur")
    with pytest.raises(accounts.AccountError, match="^rpps: "):
        await accounts.update_user(pool, clinic, user.id, {"rpps": "10101234565"})
    with pytest.raises(accounts.AccountError, match="^rpps: only a dentist"):
        await accounts.update_user(pool, clinic, user.id, {"role": "assistant"})  # a dentist's RPPS goes with the role
    row = await accounts.update_user(pool, clinic, user.id, {"role": "assistant", "rpps": ""})
    assert (row["role"], row["rpps"]) == ("assistant", None)
    assert (await accounts.update_user(pool, clinic, user.id, {"disabled": True}))["disabled_at"] is not None
    assert await accounts.authenticate(pool, "a@example.fr", "a long enough password") is None
    assert (await accounts.update_user(pool, clinic, user.id, {"disabled": False}))["disabled_at"] is None
    assert (await accounts.authenticate(pool, "a@example.fr", "a long enough password")).must_change_password
    assert await accounts.change_password(pool, user.id, "a long enough password", "another long password")
    assert not (await accounts.authenticate(pool, "a@example.fr", "another long password")).must_change_password
    other = await accounts.create_clinic(pool, "Autre cabinet")
    assert await accounts.update_user(pool, other, user.id, {"name": "X"}) is None  # another practice's user: none
    details = await accounts.update_clinic(pool, clinic, {"street": "3 rue B", "postcode": "69002", "phone": "04 78 00 00 01"})
    assert (details["street"], details["city"], details["phone"]) == ("3 rue B", "Lyon", "+33 4 78 00 00 01")
    with pytest.raises(accounts.AccountError, match="^phone: "):
        await accounts.update_clinic(pool, clinic, {"phone": "12"})
    with pytest.raises(accounts.AccountError, match="^name: "):
        await accounts.update_clinic(pool, clinic, {"name": " "})


def test_the_first_start_sets_up_the_practice_in_the_browser_once(tmp_path):
    """An empty store prints where to set up the practice (and a setup code for
    another machine), and creates no demo practice; POST /v1/setup creates
    the practice, its admin, dentist and rooms once; from another machine the
    code is needed; then the setup is closed and a restart prints nothing."""
    import httpx
    from conftest import PASSWORD, login

    server = start_server(tmp_path)
    try:
        log = server.log()
        assert "Empty store: set up your practice in a browser on this machine at http://127.0.0.1:" in log
        assert "Log in as" not in log and "password" not in log  # no demo practice, no printed password
        code = __import__("re").search(r"setup code ([A-Z2-7]{4}-[A-Z2-7]{4})", log)[1]
        http = server.http
        assert httpx.get(http + "/v1/setup").json() == {"needed": True, "code_required": False, "local_ca": False}
        remote = {"X-Forwarded-For": "192.0.2.7"}  # as a browser on another machine comes through a local proxy
        assert httpx.get(http + "/v1/setup", headers=remote).json() == {"needed": True, "code_required": True, "local_ca": False}
        setup = {"practice": {"name": "Cabinet du Lac", "street": "2 quai du Lac", "postcode": "74000", "city": "Annecy",
                              "phone": "04 50 00 00 01", "email": "contact@cabinet-du-lac.fr"},
                 "admin": {"name": "Marc Admin", "email": "admin@cabinet-du-lac.fr", "password": PASSWORD},
                 "dentist": {"name": "Dr Sophie Lac", "title": "Chirurgien-dentiste", "rpps": "10101234564",
                             "phone": "06 00 00 00 01", "email": "sophie@cabinet-du-lac.fr", "password": PASSWORD},
                 "rooms": ["Fauteuil 1", "Fauteuil 2"]}
        refused = httpx.post(http + "/v1/setup", headers=remote, json=setup)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "setup_code_required")
        refused = httpx.post(http + "/v1/setup", headers=remote, json={**setup, "code": "AAAA-AAAA"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "wrong_setup_code")
        bad = httpx.post(http + "/v1/setup", json={**setup, "dentist": {**setup["dentist"], "rpps": "10101234565"}})
        assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("dentist.rpps: ")
        bad = httpx.post(http + "/v1/setup", json={**setup, "admin": {**setup["admin"], "password": "short"}})
        assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("admin.password: ")
        bad = httpx.post(http + "/v1/setup", json={**setup, "practice": {**setup["practice"], "city": " "}})
        assert bad.status_code == 400 and bad.json()["error"]["message"] == "practice.city: required (printed on every document)"
        assert httpx.get(http + "/v1/setup").json()["needed"] is True  # nothing was left of the refused ones
        done = httpx.post(http + "/v1/setup", headers=remote, json={**setup, "code": code.lower()})
        assert done.status_code == 201, done.text
        assert [r["name"] for r in done.json()["rooms"]] == ["Fauteuil 1", "Fauteuil 2"]
        again = httpx.post(http + "/v1/setup", json=setup)
        assert (again.status_code, again.json()["error"]["code"]) == (409, "already_set_up")
        assert httpx.get(http + "/v1/setup", headers=remote).json() == {"needed": False, "code_required": False, "local_ca": False}
        token = login(http, "sophie@cabinet-du-lac.fr", PASSWORD)  # they chose their passwords: no forced change
        me = httpx.get(http + "/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert (me["rpps"], me["must_change_password"], me["clinic"]["name"]) == ("10101234564", False, "Cabinet du Lac")
    finally:
        stop_server(server)
    again = start_server(tmp_path)  # same data directory, its own log file
    stop_server(again)
    assert again.log_path != server.log_path and "Empty store" not in again.log()


def test_a_demo_practice_on_request_has_all_a_document_needs(embedded_postgres):
    import asyncio

    env = {**os.environ, "DATABASE_URL": asyncio.run(fresh_database(embedded_postgres))}
    done = subprocess.run([sys.executable, "-m", "chairside.cli", "admin", "create-demo"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    logins = dict(line.split()[1:3] for line in done.stdout.splitlines()[1:])
    assert set(logins) == {"dentiste@demo.chairside.local", "assistant@demo.chairside.local", "admin@demo.chairside.local"}

    async def check() -> None:
        database = await open_database(Settings(database_url=env["DATABASE_URL"]))
        try:
            user = await accounts.authenticate(database.pool, "dentiste@demo.chairside.local", logins["dentiste@demo.chairside.local"])
            assert user is not None and user.role == "dentist" and not user.must_change_password
            assert (await accounts.profile(database.pool, user.id))["rpps"] == accounts.DEMO_RPPS
            from chairside.store import patients
            assert [p["code"] for p in await patients.search(database.pool, user.clinic_id, "1984-03-07")] == ["DEMO-0001"]
            assert [p["code"] for p in await patients.search(database.pool, user.clinic_id, "07/03/1984")] == ["DEMO-0001"]
        finally:
            await database.close()

    asyncio.run(check())
    twice = subprocess.run([sys.executable, "-m", "chairside.cli", "admin", "create-demo"], capture_output=True, text=True,
                           cwd=ROOT, env=env, timeout=120)
    assert twice.returncode == 2 and "exists already" in twice.stderr and "Traceback" not in twice.stderr
